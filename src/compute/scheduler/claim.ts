import type { Db } from '../../db/database.js';
import { claimOnNode, releaseAllocation, type ResourceRequest } from '../../db/repos/compute-nodes.js';
import { updateInstance } from '../../db/repos/instances.js';
import { TaskState, VmState } from '../states.js';
import type { HostState } from './host-state.js';

export type ClaimOutcome = 'placed' | 'no-room' | 'gone';

class Rollback extends Error {
  constructor(readonly outcome: ClaimOutcome) {
    super(outcome);
  }
}

/**
 * Places the instance on `host` in ONE transaction: the node's guarded capacity UPDATE,
 * the allocation row, and the instance's guarded update (still building/scheduling, not
 * placed, unchanged since it was read: its version) to host/node/zone and 'spawning'.
 * 'no-room': the node is full (the cache was stale); 'gone': the instance changed
 * meanwhile (deleted, or placed by another scheduler). Either way nothing was written.
 * Locks are taken node first, then instance, everywhere, so PostgreSQL never deadlocks.
 */
export async function claimPlacement(
  db: Db,
  instance: { uuid: string; version: number },
  host: HostState,
  request: ResourceRequest,
  availabilityZone: string,
): Promise<ClaimOutcome> {
  try {
    await db.transaction().execute(async (trx) => {
      // A leftover allocation (a reschedule whose release was lost) would double count.
      await releaseAllocation(trx, instance.uuid);
      if (!(await claimOnNode(trx, host.id, instance.uuid, request))) throw new Rollback('no-room');
      const placed = await updateInstance(
        trx,
        instance.uuid,
        { vmState: VmState.BUILDING, taskState: TaskState.SCHEDULING, host: null, version: instance.version },
        {
          host: host.host,
          node: host.nodename,
          availability_zone: availabilityZone,
          task_state: TaskState.SPAWNING,
          lease_owner: null,
          lease_expires_at: null,
        },
      );
      if (!placed) throw new Rollback('gone');
    });
    return 'placed';
  } catch (err) {
    if (err instanceof Rollback) return err.outcome;
    throw err;
  }
}
