import { claimOnNode, listSchedulerNodes, type SchedulerNodeRow } from '../../db/repos/compute-nodes.js';
import type { Db } from '../../db/database.js';
import { isServiceUp } from '../service-status.js';
import type { FlavorSnapshot } from '../states.js';
import type { FilterContext, HostFilter } from './filters/index.js';
import { noValidHostMessage, type FilterResult } from './host-selector.js';
import { HostState, serviceStateOf } from './host-state.js';
import { flavorResources, type RequestSpec } from './request-spec.js';

/**
 * The destination of a move (resize, cold or live migration, evacuation), chosen and
 * claimed at once, as Nova's conductor asks the scheduler with the instance's request spec:
 * a node of an up, enabled compute service, not on an excluded host, that passes the
 * configured scheduler filters for the instance (its zone, image properties, server group,
 * same_host / different_host hints: the same filters as a build), with room for the flavor
 * (the same atomic claim as a build). An admin's forced host (`force`) skips the filters and
 * the enabled check, as Nova's `force` skips the scheduler. Nodes are tried by free RAM, most
 * first (the default RAMWeigher). Run it inside the transaction that records the move, so
 * the claim and the move commit together.
 */
export interface MoveTargetRequest {
  /** The allocation's consumer on the destination: the instance uuid. */
  readonly consumer: string;
  readonly flavor: FlavorSnapshot;
  /** Hosts the move must not go to (the source, unless a resize may stay). */
  readonly excludeHosts: readonly string[];
  /** Nodes the move must not go to (the source node of a same-host resize). */
  readonly excludeNodes: readonly string[];
  /** Only this host (an admin's `host`). */
  readonly host?: string;
  /** An admin forced the host: disabled services are accepted. */
  readonly force?: boolean;
  /** Only nodes of this hypervisor type (live migration needs the same hypervisor). */
  readonly hypervisorType?: string;
  /** A node capability the destination must not deny (e.g. supports_migrate: its driver takes moves). */
  readonly capability?: string;
  readonly serviceDownTime: number;
  /** The instance's request spec and the configured filters (`[filter_scheduler] enabled_filters`). */
  readonly placement?: { readonly spec: RequestSpec; readonly filters: readonly HostFilter[]; readonly ctx: FilterContext };
}

export interface MoveTarget {
  readonly host: string;
  readonly node: string;
  readonly hostIp: string;
}

/** Claims a destination node; `noValidHost` (Nova's NoValidHost, with what removed the nodes) when none qualifies or none has room. */
export async function claimMoveTarget(trx: Db, req: MoveTargetRequest): Promise<MoveTarget | { readonly noValidHost: string }> {
  const t = Date.now();
  const rows = await listSchedulerNodes(trx);
  const results: FilterResult[] = [];
  let left = rows;
  for (const [name, test] of stages(req, t)) {
    const start = left.length;
    left = left.filter(test);
    results.push({ name, start, end: left.length });
  }
  const placement = req.force === true ? undefined : req.placement;
  if (placement && left.length > 0) {
    let states = left.map((n) => {
      const h = new HostState();
      h.update(n, serviceStateOf({ disabled: n.service_disabled, forced_down: n.service_forced_down, last_seen_at: n.service_last_seen_at }, req.serviceDownTime, t));
      return h;
    });
    for (const f of placement.filters) {
      const test = f.prepare(placement.spec, placement.ctx);
      const start = states.length;
      if (test) states = states.filter(test);
      results.push({ name: f.name, start, end: states.length });
    }
    const passed = new Set(states.map((h) => h.nodename));
    left = left.filter((n) => passed.has(n.hypervisor_hostname));
  }
  const amounts = flavorResources(req.flavor);
  const candidates = left.sort((a, b) => freeRam(b) - freeRam(a));
  for (const n of candidates) {
    if (await claimOnNode(trx, n.id, req.consumer, amounts)) return { host: n.host, node: n.hypervisor_hostname, hostIp: n.host_ip };
  }
  if (candidates.length > 0) results.push({ name: 'Resource claim', start: candidates.length, end: 0 });
  return { noValidHost: noValidHostMessage(results) };
}

/** The move's own rules, each named for the "No valid host" message. */
function stages(req: MoveTargetRequest, t: number): [string, (n: SchedulerNodeRow) => boolean][] {
  const out: [string, (n: SchedulerNodeRow) => boolean][] = [];
  if (req.host !== undefined) out.push([`Requested host ${req.host}`, (n) => n.host === req.host]);
  if (req.excludeHosts.length > 0 || req.excludeNodes.length > 0) {
    out.push(['Excluded source host', (n) => !req.excludeHosts.includes(n.host) && !req.excludeNodes.includes(n.hypervisor_hostname)]);
  }
  if (req.hypervisorType !== undefined) {
    const type = req.hypervisorType;
    out.push([`Source hypervisor type ${type}`, (n) => n.hypervisor_type === type]);
  }
  if (req.capability !== undefined) {
    const key = req.capability;
    out.push([`Driver capability ${key}`, (n) => !denies(n.capabilities, key)]);
  }
  out.push([
    req.force === true ? 'Compute service up' : 'Compute service up and enabled',
    (n) =>
      isServiceUp({ last_seen_at: n.service_last_seen_at, forced_down: n.service_forced_down }, req.serviceDownTime, t) && (req.force === true || n.service_disabled === 0),
  ]);
  return out;
}

function freeRam(n: SchedulerNodeRow): number {
  return (n.memory_mb - n.reserved_host_memory_mb) * n.ram_allocation_ratio - n.memory_mb_used;
}

function denies(json: string, key: string): boolean {
  try {
    const v: unknown = JSON.parse(json);
    const c = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    return typeof c === 'string' && c.toLowerCase() === 'false';
  } catch {
    return false;
  }
}
