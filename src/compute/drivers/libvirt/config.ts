import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../config/options.js';
import { serialConsoleOptionsFromConfig, type SerialConsoleOptions } from './serial-console.js';

/**
 * Everything the libvirt driver reads from nova.conf, parsed once at construction (never
 * from a global at import time). Built by {@link libvirtOptionsFromConfig}; tests build it directly.
 */
export interface LibvirtDriverOptions {
  /** [libvirt] virt_type: 'kvm' (hardware acceleration, needs /dev/kvm) or 'qemu' (TCG). */
  readonly virtType: 'kvm' | 'qemu';
  /** [libvirt] connection_uri (default qemu:///system). */
  readonly connectionUri: string;
  /** [DEFAULT] instances_path: one folder per instance, and the image cache in `<instances_path>/<cacheSubdirectory>`. */
  readonly instancesPath: string;
  /** [image_cache] subdirectory_name ('_base'). */
  readonly cacheSubdirectory: string;
  /** [DEFAULT] flat_network_bridge: NICs join this Linux bridge when it exists, else QEMU user networking. */
  readonly bridge: string;
  /** [vnc] enabled / server_listen / server_proxyclient_address. */
  readonly vncEnabled: boolean;
  readonly vncListen: string;
  readonly vncProxyclientAddress: string;
  /** [libvirt] wait_soft_reboot_seconds: how long a soft reboot waits for the guest to power off before it turns hard. */
  readonly waitSoftRebootSeconds: number;
  /** [libvirt] cpu_mode (null: host-model under kvm, the emulator's default under qemu). */
  readonly cpuMode: string | null;
  /** [DEFAULT] host (the node name) and my_ip (the node's host_ip). */
  readonly host: string;
  readonly myIp: string;
  /** [image_cache] remove_unused_base_images / remove_unused_original_minimum_age_seconds. */
  readonly removeUnusedBaseImages: boolean;
  readonly removeUnusedMinimumAgeSeconds: number;
  /** The virsh binary (tests may point elsewhere). */
  readonly virshPath?: string;
  /** [serial_console] enabled / proxyclient_address / port_range: serial port 0 listens on TCP; absent: it writes only to console.log. */
  readonly serialConsole?: SerialConsoleOptions;
  /** Benchmarks: told of every libvirt call (virsh command and its wall time). */
  readonly observeCalls?: (command: string, ms: number) => void;
}

/**
 * The driver's options from the configuration. The deprecated [DEFAULT] libvirt_type is
 * honoured when [libvirt] virt_type is left at its default (old nova.conf files); a value
 * other than kvm/qemu there (the seed's `libvirt_type=vmwareapi` on a VMware node) is ignored.
 */
export function libvirtOptionsFromConfig(config: Config): LibvirtDriverOptions {
  const d = config.DEFAULT;
  const l = config.libvirt;
  const legacy = d.libvirt_type;
  const serialConsole = serialConsoleOptionsFromConfig(config);
  const virtType = l.virt_type === 'kvm' && (legacy === 'qemu' || legacy === 'kvm') ? legacy : l.virt_type === 'qemu' ? 'qemu' : 'kvm';
  return {
    virtType,
    connectionUri: l.connection_uri === '' ? 'qemu:///system' : l.connection_uri,
    instancesPath: d.instances_path,
    cacheSubdirectory: config.image_cache.subdirectory_name,
    bridge: d.flat_network_bridge,
    vncEnabled: config.vnc.enabled,
    vncListen: config.vnc.server_listen,
    vncProxyclientAddress: config.vnc.server_proxyclient_address,
    cpuMode: l.cpu_mode,
    waitSoftRebootSeconds: l.wait_soft_reboot_seconds,
    host: d.host,
    myIp: d.my_ip,
    removeUnusedBaseImages: config.image_cache.remove_unused_base_images,
    removeUnusedMinimumAgeSeconds: config.image_cache.remove_unused_original_minimum_age_seconds,
    ...(serialConsole === undefined ? {} : { serialConsole }),
  };
}

/** True when `name` is a Linux bridge on this host (sysfs has a bridge/ folder for it). */
export function isLinuxBridge(name: string): boolean {
  return name !== '' && !name.includes('/') && existsSync(join('/sys/class/net', name, 'bridge'));
}
