import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { FlavorSnapshot } from '../../states.js';

/** Our namespace in a domain's <metadata>: who owns the instance (shown by `virsh dumpxml`). */
export const METADATA_NS = 'https://polyvisor.dev/xmlns/libvirt/instance/1';

/** Domains we manage are named after the instance uuid, so one `virsh list` maps them back. */
export const DOMAIN_PREFIX = 'instance-';

export function domainName(uuid: string): string {
  return `${DOMAIN_PREFIX}${uuid}`;
}

/** The instance uuid of one of our domain names, or undefined for a domain that is not ours. */
export function uuidOfDomain(name: string): string | undefined {
  const m = /^instance-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i.exec(name);
  return m?.[1];
}

export interface DomainSpec {
  readonly uuid: string;
  readonly displayName: string;
  readonly projectId: string;
  readonly userId: string;
  readonly flavor: FlavorSnapshot;
  readonly virtType: 'kvm' | 'qemu';
  readonly cpuMode: string | null;
  readonly disk: { readonly path: string; readonly format: 'qcow2' | 'raw' };
  /** The flavor's ephemeral and swap disks (qcow2 overlays), attached as virtio `dev` after the root disk. */
  readonly extraDisks?: readonly { readonly path: string; readonly dev: string }[];
  /** A Linux bridge to join, or null for QEMU user networking. */
  readonly bridge: string | null;
  readonly withNic: boolean;
  /** VNC listen address, or null when [vnc] enabled is false. */
  readonly vncListen: string | null;
  /** The serial console's log file. */
  readonly consoleLog: string;
  /**
   * [serial_console] enabled: serial port 0 listens as a raw TCP server here (host, port from
   * port_range), still logging everything the guest writes to `consoleLog`. Absent or null:
   * serial port 0 only writes to the file.
   */
  readonly serialTcp?: { readonly host: string; readonly port: number } | null;
  /**
   * The compute host that defined the domain and its instances_path, kept in our metadata:
   * a move's destination finds the source's kept folder from them, and a confirm tells the
   * source's own definition from one a destination made on the same libvirtd.
   */
  readonly host?: string;
  readonly instancesPath?: string;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true });

/**
 * The libvirt domain definition of an instance, built as a tree and serialised by
 * fast-xml-parser (so names and titles are escaped, never spliced into text).
 * Serial port 0 writes to a file (the console log), or with a serial console listens on TCP
 * and logs to that same file; VNC takes a free port (autoport).
 */
export function domainXml(s: DomainSpec): string {
  const cpu = s.cpuMode !== null && s.cpuMode !== 'none' ? { '@_mode': s.cpuMode } : s.virtType === 'kvm' ? { '@_mode': 'host-passthrough' } : undefined;
  const fileDisk = (path: string, format: string, dev: string): Record<string, unknown> => ({
    '@_type': 'file', '@_device': 'disk',
    driver: { '@_name': 'qemu', '@_type': format, '@_cache': 'none', '@_io': 'native', '@_discard': 'unmap' },
    source: { '@_file': path },
    target: { '@_dev': dev, '@_bus': 'virtio' },
  });
  const devices: Record<string, unknown> = {
    disk: [fileDisk(s.disk.path, s.disk.format, 'vda'), ...(s.extraDisks ?? []).map((d) => fileDisk(d.path, 'qcow2', d.dev))],
    ...serialDevices(s),
    input: { '@_type': 'tablet', '@_bus': 'usb' },
    memballoon: { '@_model': 'virtio' },
  };
  if (s.withNic) {
    devices['interface'] = s.bridge !== null
      ? { '@_type': 'bridge', source: { '@_bridge': s.bridge }, model: { '@_type': 'virtio' } }
      : { '@_type': 'user', model: { '@_type': 'virtio' } };
  }
  if (s.vncListen !== null) {
    devices['graphics'] = { '@_type': 'vnc', '@_port': '-1', '@_autoport': 'yes', '@_listen': s.vncListen, listen: { '@_type': 'address', '@_address': s.vncListen } };
    devices['video'] = { model: { '@_type': 'virtio' } };
  }
  const domain: Record<string, unknown> = {
    '@_type': s.virtType,
    name: domainName(s.uuid),
    uuid: s.uuid,
    title: s.displayName,
    metadata: {
      'polyvisor:instance': {
        '@_xmlns:polyvisor': METADATA_NS,
        'polyvisor:project': { '@_uuid': s.projectId },
        'polyvisor:user': { '@_uuid': s.userId },
        'polyvisor:flavor': { '@_id': s.flavor.id, '@_name': s.flavor.name },
        ...(s.host === undefined ? {} : { 'polyvisor:host': { '@_name': s.host } }),
        ...(s.instancesPath === undefined ? {} : { 'polyvisor:instances': { '@_path': s.instancesPath } }),
      },
    },
    memory: { '@_unit': 'MiB', '#text': String(s.flavor.memory_mb) },
    vcpu: { '@_placement': 'static', '#text': String(s.flavor.vcpus) },
    os: { type: { '@_arch': 'x86_64', '@_machine': 'pc', '#text': 'hvm' }, boot: { '@_dev': 'hd' } },
    features: { acpi: '', apic: '' },
    ...(cpu === undefined ? {} : { cpu }),
    clock: { '@_offset': 'utc' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices,
  };
  return builder.build({ domain });
}

/**
 * Serial port 0 and the console that shows it. A TCP server chardev (raw, no telnet) keeps
 * the console log through libvirt's <log>: QEMU appends what the guest writes whether or not
 * a client is connected, so the console log (os-getConsoleOutput) reads the same file either way.
 */
function serialDevices(s: DomainSpec): { serial: Record<string, unknown>; console: Record<string, unknown> } {
  if (s.serialTcp === undefined || s.serialTcp === null) {
    return {
      serial: { '@_type': 'file', source: { '@_path': s.consoleLog, '@_append': 'on' }, target: { '@_port': '0' } },
      console: { '@_type': 'file', source: { '@_path': s.consoleLog, '@_append': 'on' }, target: { '@_type': 'serial', '@_port': '0' } },
    };
  }
  const tcp = {
    '@_type': 'tcp',
    source: { '@_mode': 'bind', '@_host': s.serialTcp.host, '@_service': String(s.serialTcp.port) },
    protocol: { '@_type': 'raw' },
    log: { '@_file': s.consoleLog, '@_append': 'on' },
  };
  return { serial: { ...tcp, target: { '@_port': '0' } }, console: { ...tcp, target: { '@_type': 'serial', '@_port': '0' } } };
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' });

type XmlNode = Record<string, unknown>;

function nodes(value: unknown): XmlNode[] {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  return list.filter((v): v is XmlNode => typeof v === 'object' && v !== null);
}

function devicesOf(xml: string): XmlNode {
  const doc = parser.parse(xml) as { domain?: { devices?: unknown } };
  return nodes(doc.domain?.devices)[0] ?? {};
}

/** A TCP chardev's listening endpoint (`<source mode='bind' host= service=>`), or undefined. */
function tcpBind(dev: XmlNode): { host: string; port: number } | undefined {
  if (dev['@_type'] !== 'tcp') return undefined;
  for (const src of nodes(dev['source'])) {
    if (src['@_mode'] !== 'bind') continue;
    const port = Number(src['@_service']);
    const host = src['@_host'];
    if (Number.isInteger(port) && port > 0 && port <= 65535) return { host: typeof host === 'string' && host !== '' ? host : '0.0.0.0', port };
  }
  return undefined;
}

/** Where serial port 0 listens as a TCP server, from a domain's XML (undefined: it is no TCP chardev). */
export function serialTcpOf(xml: string): { host: string; port: number } | undefined {
  const devices = devicesOf(xml);
  for (const dev of nodes(devices['serial'])) {
    const target = nodes(dev['target'])[0];
    const port = target?.['@_port'];
    if (port !== undefined && port !== '0' && port !== 0) continue;
    return tcpBind(dev);
  }
  return undefined;
}

/** Every TCP port a domain's chardevs (serial, console, channel, parallel) listen on: taken for as long as the domain is defined. */
export function tcpPortsOf(xml: string): number[] {
  const devices = devicesOf(xml);
  const ports = new Set<number>();
  for (const kind of ['serial', 'console', 'channel', 'parallel']) {
    for (const dev of nodes(devices[kind])) {
      const bind = tcpBind(dev);
      if (bind !== undefined) ports.add(bind.port);
    }
  }
  return [...ports];
}

/** The VNC port of a running domain from its live XML (-1 or absent when it has none yet). */
export function vncPortOf(xml: string): number | undefined {
  const doc = parser.parse(xml) as { domain?: { devices?: { graphics?: unknown } } };
  const g = doc.domain?.devices?.graphics;
  const list = Array.isArray(g) ? (g as unknown[]) : [g];
  for (const item of list) {
    if (typeof item === 'object' && item !== null && (item as Record<string, unknown>)['@_type'] === 'vnc') {
      const port = Number((item as Record<string, unknown>)['@_port']);
      if (Number.isInteger(port) && port > 0) return port;
    }
  }
  return undefined;
}

export interface DomainOwner {
  /** The host named in our metadata (absent in domains defined before moves existed). */
  readonly host?: string;
  /** The instances_path named in our metadata, else the one the root disk (vda) lies under. */
  readonly instancesPath?: string;
  /** The root disk's file. */
  readonly rootDisk?: string;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Who defined a domain and where its files are, from its XML (`virsh dumpxml --inactive`). */
export function domainOwner(xml: string): DomainOwner {
  const domain = record(record(parser.parse(xml))?.['domain']);
  const meta = record(record(domain?.['metadata'])?.['polyvisor:instance']);
  const host = record(meta?.['polyvisor:host'])?.['@_name'];
  const path = record(meta?.['polyvisor:instances'])?.['@_path'];
  const disks = record(domain?.['devices'])?.['disk'];
  let rootDisk: string | undefined;
  for (const d of Array.isArray(disks) ? (disks as unknown[]) : [disks]) {
    const disk = record(d);
    if (record(disk?.['target'])?.['@_dev'] !== 'vda') continue;
    const file = record(disk?.['source'])?.['@_file'];
    if (typeof file === 'string') rootDisk = file;
  }
  // <instances_path>/<uuid>/disk
  const derived = rootDisk === undefined ? undefined : rootDisk.split('/').slice(0, -2).join('/') || undefined;
  return {
    ...(typeof host === 'string' ? { host } : {}),
    ...(typeof path === 'string' ? { instancesPath: path } : derived === undefined ? {} : { instancesPath: derived }),
    ...(rootDisk === undefined ? {} : { rootDisk }),
  };
}
