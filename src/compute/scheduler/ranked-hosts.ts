import type { HostState } from './host-state.js';

/**
 * The hosts ordered by one weigher's key, best first, kept sorted as hosts change. With a
 * single weigher (the default: RAMWeigher), normalisation does not change the order, so
 * the best host is the first one in this order that passes the filters: selection walks
 * from the top and usually stops after a few hosts instead of visiting all 10,000.
 * A change of one host (a claim, a refresh) moves it with two binary searches.
 */
export class RankedHosts {
  readonly #key: (h: HostState) => number;
  #order: HostState[] = [];
  readonly #keys = new Map<HostState, number>();

  constructor(key: (h: HostState) => number) {
    this.#key = key;
  }

  get order(): readonly HostState[] {
    return this.#order;
  }

  rebuild(hosts: readonly HostState[]): void {
    this.#keys.clear();
    for (const h of hosts) this.#keys.set(h, this.#key(h));
    // Array.prototype.sort is stable: equal keys keep the cache's order.
    this.#order = [...hosts].sort((a, b) => (this.#keys.get(b) as number) - (this.#keys.get(a) as number));
  }

  /** Moves a host whose key may have changed; false when it is not in the order (rebuild needed). */
  reposition(h: HostState): boolean {
    const old = this.#keys.get(h);
    if (old === undefined) return false;
    const order = this.#order;
    let i = this.#firstAtOrBelow(old);
    while (i < order.length && order[i] !== h) i++;
    if (i === order.length) return false;
    order.splice(i, 1);
    const key = this.#key(h);
    this.#keys.set(h, key);
    // After the hosts with an equal key: a host that just took a claim goes behind its peers.
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#keys.get(order[mid] as HostState) as number) >= key) lo = mid + 1;
      else hi = mid;
    }
    order.splice(lo, 0, h);
    return true;
  }

  /** Index of the first host whose key is ≤ key (the order is descending). */
  #firstAtOrBelow(key: number): number {
    const order = this.#order;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#keys.get(order[mid] as HostState) as number) > key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
