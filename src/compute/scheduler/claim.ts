import type { Db } from '../../db/database.js';
import { claimOnNode, placeOnNode, releaseAllocation, type ResourceRequest } from '../../db/repos/compute-nodes.js';
import type { HostState } from './host-state.js';

export type ClaimOutcome = 'placed' | 'no-room' | 'gone';

/**
 * Places the instance on `host` inside the caller's transaction: the node's guarded
 * capacity UPDATE, the allocation row, and the instance's guarded update (still
 * building/scheduling, not placed, unchanged since it was read: its version) to
 * host/node/zone and 'spawning'. 'no-room': the node is full (the cache was stale) and
 * nothing was written; 'gone': the instance changed meanwhile (deleted, placed by another
 * scheduler) and the claim was given back in the same transaction. Locks are taken node
 * first, then instance, as everywhere else, so PostgreSQL never sees a lock cycle.
 */
export async function claimInTransaction(
  trx: Db,
  instance: { uuid: string; version: number },
  host: HostState,
  request: ResourceRequest,
  availabilityZone: string,
  rescheduled = false,
): Promise<ClaimOutcome> {
  // The agent releases an allocation in the same transaction that hands the instance back
  // for a reschedule; releasing again here is cheap insurance on that rare path only.
  if (rescheduled) await releaseAllocation(trx, instance.uuid);
  if (!(await claimOnNode(trx, host.id, instance.uuid, request))) return 'no-room';
  if (await placeOnNode(trx, instance, { host: host.host, node: host.nodename, zone: availabilityZone })) return 'placed';
  await releaseAllocation(trx, instance.uuid);
  return 'gone';
}

/** claimInTransaction in a transaction of its own. */
export async function claimPlacement(
  db: Db,
  instance: { uuid: string; version: number },
  host: HostState,
  request: ResourceRequest,
  availabilityZone: string,
  rescheduled = false,
): Promise<ClaimOutcome> {
  return db.transaction().execute((trx) => claimInTransaction(trx, instance, host, request, availabilityZone, rescheduled));
}
