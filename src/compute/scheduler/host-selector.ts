import type { FilterContext, HostFilter } from './filters/index.js';
import type { HostState } from './host-state.js';
import { RankedHosts } from './ranked-hosts.js';
import type { RequestSpec } from './request-spec.js';
import type { HostWeigher } from './weighers/index.js';

/** The hosts to choose from; `generation` changes whenever hosts are added or removed. */
export interface HostSource {
  readonly hosts: readonly HostState[];
  readonly generation: number;
}

/** How many nodes one filter let through, for the "No valid host" reason. */
export interface FilterResult {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Filters then weighs the cached hosts for one request and returns the best few. Only the
 * filters that apply to the request run. With one weigher (the default) the hosts are kept
 * in weight order (RankedHosts) and the walk stops at the k-th host that passes; with
 * several, every host is filtered and weighed with Nova's normalisation, using scratch
 * buffers kept between calls. When nothing passes, `explain` replays the filters one by one
 * to say which removed how many nodes.
 */
export class HostSelector {
  readonly #filters: readonly HostFilter[];
  readonly #weighers: readonly HostWeigher[];
  readonly #ctx: FilterContext;
  #passed: HostState[] = [];
  #total = new Float64Array(0);
  #raw = new Float64Array(0);
  /** Set when there is at most one weigher: the hosts in its order. */
  readonly #ranked: RankedHosts | undefined;
  #rankedGeneration = -1;

  constructor(filters: readonly HostFilter[], weighers: readonly HostWeigher[], ctx: FilterContext) {
    this.#filters = filters;
    this.#weighers = weighers;
    this.#ctx = ctx;
    const only = weighers[0];
    if (weighers.length <= 1) this.#ranked = new RankedHosts(only ? (h) => only.multiplier * only.raw(h) : () => 0);
  }

  /** Tells the selector that a host's usage changed (after a claim or a refresh). */
  changed(h: HostState): void {
    if (this.#ranked && !this.#ranked.reposition(h)) this.#rankedGeneration = -1;
  }

  /** Up to `k` hosts that pass every filter, best weight first (ties: cache order). */
  select(source: HostSource, spec: RequestSpec, k: number): HostState[] {
    const preds: ((h: HostState) => boolean)[] = [];
    for (const f of this.#filters) {
      const p = f.prepare(spec, this.#ctx);
      if (p) preds.push(p);
    }
    if (this.#ranked) return this.#walkRanked(this.#ranked, source, spec, preds, k);
    const hosts = source.hosts;
    const retry = spec.retryNodes;
    const checkRetry = retry.size > 0;
    const passed = this.#passed;
    let n = 0;
    outer: for (let i = 0; i < hosts.length; i++) {
      const h = hosts[i] as HostState;
      if (checkRetry && retry.has(h.nodename)) continue;
      for (let j = 0; j < preds.length; j++) if (!(preds[j] as (h: HostState) => boolean)(h)) continue outer;
      passed[n++] = h;
    }
    if (n === 0) return [];
    const total = this.#weigh(passed, n);
    const best = topK(passed, total, n, k);
    passed.length = 0; // drop references; the array keeps its capacity
    return best;
  }

  #walkRanked(ranked: RankedHosts, source: HostSource, spec: RequestSpec, preds: readonly ((h: HostState) => boolean)[], k: number): HostState[] {
    if (this.#rankedGeneration !== source.generation) {
      ranked.rebuild(source.hosts);
      this.#rankedGeneration = source.generation;
    }
    const retry = spec.retryNodes;
    const checkRetry = retry.size > 0;
    const order = ranked.order;
    const best: HostState[] = [];
    outer: for (let i = 0; i < order.length && best.length < k; i++) {
      const h = order[i] as HostState;
      if (checkRetry && retry.has(h.nodename)) continue;
      for (let j = 0; j < preds.length; j++) if (!(preds[j] as (h: HostState) => boolean)(h)) continue outer;
      best.push(h);
    }
    return best;
  }

  /** Replays the filters one at a time over the hosts (the slow path, for failures only). */
  explain(hosts: readonly HostState[], spec: RequestSpec): FilterResult[] {
    const results: FilterResult[] = [];
    let left = hosts.filter((h) => !spec.retryNodes.has(h.nodename));
    if (spec.retryNodes.size > 0) results.push({ name: 'RetryFilter', start: hosts.length, end: left.length });
    for (const f of this.#filters) {
      const p = f.prepare(spec, this.#ctx);
      const start = left.length;
      if (p) left = left.filter(p);
      results.push({ name: f.name, start, end: left.length });
    }
    return results;
  }

  #weigh(hosts: readonly HostState[], n: number): Float64Array {
    if (this.#total.length < n) {
      this.#total = new Float64Array(Math.max(n, this.#total.length * 2));
      this.#raw = new Float64Array(this.#total.length);
    }
    const total = this.#total;
    const raw = this.#raw;
    total.fill(0, 0, n);
    for (const w of this.#weighers) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = w.raw(hosts[i] as HostState);
        raw[i] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      // nova.weights.normalize: all equal → every host weighs 0 for this weigher.
      if (max === min) continue;
      const scale = w.multiplier / (max - min);
      for (let i = 0; i < n; i++) total[i] = (total[i] as number) + ((raw[i] as number) - min) * scale;
    }
    return total;
  }
}

function topK(hosts: readonly HostState[], weight: Float64Array, n: number, k: number): HostState[] {
  const best: HostState[] = [];
  const bestW: number[] = [];
  for (let i = 0; i < n; i++) {
    const w = weight[i] as number;
    if (best.length === k && w <= (bestW[k - 1] as number)) continue;
    let pos = best.length;
    while (pos > 0 && w > (bestW[pos - 1] as number)) pos--;
    best.splice(pos, 0, hosts[i] as HostState);
    bestW.splice(pos, 0, w);
    if (best.length > k) {
      best.pop();
      bestW.pop();
    }
  }
  return best;
}

/** The fault message for a request no node can take (kept under the fault column's 255 characters). */
export function noValidHostMessage(results: readonly FilterResult[]): string {
  const removed = results.filter((r) => r.end < r.start).map((r) => `${r.name} removed ${r.start - r.end} of ${r.start}`);
  const base = 'No valid host was found. There are not enough hosts available.';
  if (results.length > 0 && (results[0]?.start ?? 0) === 0) return `${base} No compute nodes are registered.`;
  return removed.length === 0 ? base : `${base} ${removed.join('; ')}.`;
}
