import { DriverError } from '../driver.js';

/**
 * VNC ports from vnc_port upward, unique across the vCenter. Nova scans every VM's
 * extraConfig under a global lock on each boot; we read them once (the same bulk
 * PropertyCollector call as the power sync) and then allocate from memory, so a boot
 * costs no round trip for its port.
 */
export class VncPortAllocator {
  readonly #used = new Set<number>();

  constructor(
    private readonly first: number,
    private readonly total: number,
  ) {}

  /** Records the ports VMs already use (from their RemoteDisplay.vnc.port). */
  markUsed(ports: Iterable<number>): void {
    for (const p of ports) this.#used.add(p);
  }

  allocate(): number {
    for (let p = this.first; p < this.first + this.total; p++) {
      if (!this.#used.has(p)) {
        this.#used.add(p);
        return p;
      }
    }
    throw new DriverError('vnc_ports_exhausted', `all ${this.total} VNC ports from ${this.first} are in use ([vmware] vnc_port, vnc_port_total)`, { retryable: true });
  }

  release(port: number): void {
    this.#used.delete(port);
  }

  get usedCount(): number {
    return this.#used.size;
  }
}
