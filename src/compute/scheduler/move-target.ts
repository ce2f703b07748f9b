import { claimOnNode, listSchedulerNodes, type SchedulerNodeRow } from '../../db/repos/compute-nodes.js';
import type { Db } from '../../db/database.js';
import { isServiceUp } from '../service-status.js';
import type { FlavorSnapshot } from '../states.js';

/**
 * The destination of a move (resize, cold or live migration, evacuation), chosen and
 * claimed at once, as Nova's conductor asks the scheduler with the instance's request spec:
 * a node of an up, enabled compute service (a forced host skips the enabled check, as
 * Nova's `force` does), not on an excluded host, with room for the flavor (the same atomic
 * claim as a build). Nodes are tried by free RAM, most first (the default RAMWeigher).
 * Run it inside the transaction that records the move, so the claim and the move commit together.
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
}

export interface MoveTarget {
  readonly host: string;
  readonly node: string;
  readonly hostIp: string;
}

export function resourceRequest(flavor: FlavorSnapshot) {
  return { vcpus: flavor.vcpus, memoryMb: flavor.memory_mb, diskGb: flavor.root_gb + flavor.ephemeral_gb + Math.ceil(flavor.swap / 1024) };
}

/** Claims a destination node; undefined when no node qualifies or none has room (Nova's NoValidHost). */
export async function claimMoveTarget(trx: Db, req: MoveTargetRequest): Promise<MoveTarget | undefined> {
  const t = Date.now();
  const candidates = (await listSchedulerNodes(trx))
    .filter((n) => eligible(n, req, t))
    .sort((a, b) => freeRam(b) - freeRam(a));
  const amounts = resourceRequest(req.flavor);
  for (const n of candidates) {
    if (await claimOnNode(trx, n.id, req.consumer, amounts)) return { host: n.host, node: n.hypervisor_hostname, hostIp: n.host_ip };
  }
  return undefined;
}

function eligible(n: SchedulerNodeRow, req: MoveTargetRequest, t: number): boolean {
  if (req.host !== undefined && n.host !== req.host) return false;
  if (req.excludeHosts.includes(n.host) || req.excludeNodes.includes(n.hypervisor_hostname)) return false;
  if (req.hypervisorType !== undefined && n.hypervisor_type !== req.hypervisorType) return false;
  if (req.capability !== undefined && denies(n.capabilities, req.capability)) return false;
  if (!isServiceUp({ last_seen_at: n.service_last_seen_at, forced_down: n.service_forced_down }, req.serviceDownTime, t)) return false;
  return req.force === true || n.service_disabled === 0;
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
