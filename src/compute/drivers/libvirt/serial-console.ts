import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import type { Config } from '../../../config/options.js';
import { ConfigError } from '../../../errors.js';
import { DriverError } from '../driver.js';
import { domainName, tcpPortsOf } from './domain-xml.js';
import { isNoDomain, type Virsh } from './virsh.js';

/** [serial_console] as the libvirt driver uses it: where guests' serial ports listen. */
export interface SerialConsoleOptions {
  /** [serial_console] proxyclient_address: the address serial ports listen on, which the console proxy connects to. */
  readonly listen: string;
  /** [serial_console] port_range, inclusive. */
  readonly portRange: { readonly min: number; readonly max: number };
}

/**
 * `[serial_console] port_range` ("<min>:<max>", Nova's form) as numbers; anything else is a
 * ConfigError naming the option and what it expected.
 */
export function parsePortRange(text: string): { min: number; max: number } {
  const fail = (why: string): never => {
    throw new ConfigError(`[serial_console] port_range = "${text}" is invalid: ${why}`, { section: 'serial_console', option: 'port_range' });
  };
  const m = /^\s*(\d{1,5})\s*:\s*(\d{1,5})\s*$/.exec(text);
  if (m === null) return fail('expected "<min>:<max>", two TCP port numbers such as 10000:20000');
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (min < 1 || max > 65535) return fail('ports must be between 1 and 65535');
  if (min > max) return fail(`the first port (${min}) is above the last (${max})`);
  return { min, max };
}

/** The serial console options from the configuration, or undefined when [serial_console] enabled is false (file-only serial ports). */
export function serialConsoleOptionsFromConfig(config: Config): SerialConsoleOptions | undefined {
  const s = config.serial_console;
  if (!s.enabled) return undefined;
  if (s.proxyclient_address.trim() === '') {
    throw new ConfigError('[serial_console] proxyclient_address is empty: it must name the address guests\' serial consoles listen on (e.g. 127.0.0.1)', {
      section: 'serial_console', option: 'proxyclient_address',
    });
  }
  return { listen: s.proxyclient_address.trim(), portRange: parsePortRange(s.port_range) };
}

/** True when nothing listens on host:port now (a bind test, as QEMU will bind it). */
function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Hands out the TCP ports of guests' serial consoles from [serial_console] port_range.
 *
 * A port is taken when a domain defined on this libvirtd (ours or not, running or shut off)
 * names it in a TCP chardev, when a spawn of this process holds it before its domain is
 * defined, or when something else on the host listens on it (a bind test). The ports of
 * each domain are read from its XML (`virsh dumpxml`) the first time the domain is seen and
 * remembered while `virsh list --all` shows it, so an agent restart starts from what libvirt
 * reports, and a deleted domain's port is free again at the next spawn. Picks are serialised
 * in this process. The search starts at a random port of the range and wraps around: two
 * agents on one host (test set-ups) rarely pick the same port in the moment between the
 * bind test and QEMU binding it, as they would if both took the lowest free one.
 */
export class SerialPortAllocator {
  readonly #options: SerialConsoleOptions;
  /** Ports per domain name, as last read from its XML (or as picked for a spawn). */
  readonly #known = new Map<string, readonly number[]>();
  /** Domains whose spawn holds a port before `virsh define`: kept even when libvirt does not list them yet. */
  readonly #pending = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SerialConsoleOptions) {
    this.#options = options;
  }

  get options(): SerialConsoleOptions {
    return this.#options;
  }

  /**
   * A free port for the instance's serial console, held for it until `release` (call it once
   * the domain is defined, or the spawn failed). An exhausted range is a retryable DriverError
   * (another host has ports of its own).
   */
  acquire(virsh: Virsh, uuid: string, signal: AbortSignal): Promise<{ host: string; port: number; release: () => void }> {
    const run = this.#queue.then(() => this.#pick(virsh, uuid, signal));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #pick(virsh: Virsh, uuid: string, signal: AbortSignal): Promise<{ host: string; port: number; release: () => void }> {
    const name = domainName(uuid);
    await this.#refresh(virsh, name, signal);
    const taken = new Set<number>();
    for (const ports of this.#known.values()) for (const p of ports) taken.add(p);
    const { listen, portRange: { min, max } } = this.#options;
    let busy = 0;
    const span = max - min + 1;
    const start = randomInt(span);
    for (let i = 0; i < span; i++) {
      const port = min + ((start + i) % span);
      if (taken.has(port)) continue;
      signal.throwIfAborted();
      if (!(await canBind(listen, port))) {
        busy += 1;
        continue;
      }
      this.#known.set(name, [port]);
      this.#pending.add(name);
      return { host: listen, port, release: () => this.#pending.delete(name) };
    }
    const inRange = [...taken].filter((p) => p >= min && p <= max).length;
    throw new DriverError(
      'serial_ports_exhausted',
      `no free TCP port for the serial console of instance ${uuid}: [serial_console] port_range ${min}:${max} on ${listen} has ${max - min + 1} ports, ` +
        `${inRange} used by guests on this host and ${busy} by other programs; widen port_range or delete servers`,
      { retryable: true, details: { portRange: `${min}:${max}`, usedByGuests: inRange, usedByOthers: busy } },
    );
  }

  /** Brings the known ports up to date with the domains libvirt lists (one call, plus dumpxml for each new domain). */
  async #refresh(virsh: Virsh, spawning: string, signal: AbortSignal): Promise<void> {
    const names = new Set((await virsh.run(['list', '--all', '--name'], signal)).split('\n').map((n) => n.trim()).filter((n) => n !== ''));
    for (const name of [...this.#known.keys()]) {
      if (!names.has(name) && !this.#pending.has(name)) this.#known.delete(name);
    }
    // The instance being spawned had its earlier attempt's domain removed: its old port is no longer taken.
    if (!this.#pending.has(spawning)) this.#known.delete(spawning);
    for (const name of names) {
      if (this.#known.has(name) || name === spawning) continue;
      try {
        this.#known.set(name, tcpPortsOf(await virsh.run(['dumpxml', name], signal)));
      } catch (err) {
        // Undefined since the list: nothing of it to keep.
        if (!isNoDomain(err)) throw err;
      }
    }
  }
}
