import { releaseAllocation } from '../../../db/repos/compute-nodes.js';
import { removeConsole } from '../../../db/repos/consoles.js';
import { getSystemMetadata, setSystemMetadata } from '../../../db/repos/instance-extras.js';
import { addInstanceFault, getInstanceMetadata, updateInstance } from '../../../db/repos/instances.js';
import type { InstanceRow } from '../../../db/schema.js';
import { now } from '../../../db/time.js';
import { UnsupportedOperationError } from '../../drivers/driver.js';
import { PowerState, TaskState, VmState } from '../../states.js';
import { refreshConsole } from '../console-publisher.js';
import { GuardLost, guardedTransaction, type AgentContext } from '../context.js';
import { beginEvent } from '../events.js';
import { instanceRef, instanceSpec } from '../instance-spec.js';
import { faultDetails, faultMessage } from './failure.js';
import { powerStateNow, runOperation } from './operation.js';
import { uploadSnapshot } from './snapshot.js';

/** System metadata of a shelved instance, under Nova's key names. */
export const SHELVED_IMAGE_KEY = 'shelved_image_id';
export const SHELVED_AT_KEY = 'shelved_at';
export const SHELVED_HOST_KEY = 'shelved_host';
/** The zone the user asked for at create, kept while an unshelve to a forced host (2.91) runs. */
export const SAVED_ZONE_KEY = 'unshelve_saved_requested_zone';

const SHUTDOWN_TIMEOUT_SECONDS = 60;

/**
 * shelve (task 'shelving'): a clean power off, the snapshot into the '<name>-shelved' image
 * the API created, then SHELVED; with [DEFAULT] shelved_offload_time = 0 (Nova's default)
 * straight on to the offload. A failure leaves the server in its previous vm_state (the
 * power state as the hypervisor reports it) and deletes the half-made image.
 */
export async function shelveTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const sys = await getSystemMetadata(db, row.uuid);
  const imageId = sys[SHELVED_IMAGE_KEY];
  const offloadNow = ctx.config.DEFAULT.shelved_offload_time === 0;
  const done = await runOperation(ctx, row, {
    action: 'shelve',
    event: 'compute_shelve_instance',
    taskStates: [TaskState.SHELVING, TaskState.SHELVING_IMAGE_PENDING_UPLOAD, TaskState.SHELVING_IMAGE_UPLOADING],
    run: async (step) => {
      // A driver without snapshots refuses before the guest is shut down.
      if (imageId !== undefined && !driver.snapshot) throw new UnsupportedOperationError('snapshot', driver.type);
      await driver.powerOff(instanceRef(row), { timeoutSeconds: SHUTDOWN_TIMEOUT_SECONDS }, signal);
      // A volume-backed server has no image to make (Nova leaves shelved_image_id out); ours always have one.
      if (imageId !== undefined) {
        try {
          await uploadSnapshot(ctx, row, imageId, step, { pending: TaskState.SHELVING_IMAGE_PENDING_UPLOAD, uploading: TaskState.SHELVING_IMAGE_UPLOADING });
        } catch (err) {
          // The server stays as it was: a running one runs again (best effort; the fault says why shelve failed).
          if (row.vm_state === VmState.ACTIVE && !signal.aborted) await driver.powerOn(instanceRef(row), signal).catch(() => undefined);
          throw err;
        }
      }
      await setSystemMetadata(db, row.uuid, { [SHELVED_AT_KEY]: now(), [SHELVED_HOST_KEY]: host });
      return { vm_state: VmState.SHELVED, power_state: PowerState.SHUTDOWN, ...(offloadNow ? { task_state: TaskState.SHELVING_OFFLOADING } : {}) };
    },
    onFailure: async () => powerStateNow(ctx, row),
    cleanup: async () => {
      if (imageId !== undefined) await ctx.images.remove?.(imageId);
      await setSystemMetadata(db, row.uuid, { [SHELVED_IMAGE_KEY]: null });
    },
  });
  if (done?.task_state === TaskState.SHELVING_OFFLOADING) await offloadTask(ctx, done);
}

/**
 * shelveOffload (task 'shelving_offloading', vm SHELVED): the VM is destroyed on the
 * hypervisor, then in ONE transaction its allocation goes back to the node and the
 * instance leaves the host (SHELVED_OFFLOADED, host and node null). The action is the
 * one that asked: shelve (offload at once) or shelveOffload.
 */
export async function offloadTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const latest = await db
    .selectFrom('instance_actions')
    .select('action')
    .where('instance_uuid', '=', row.uuid)
    .where('action', 'in', ['shelve', 'shelveOffload'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const event = await beginEvent(db, row.uuid, latest?.action ?? 'shelveOffload', 'compute_shelve_offload_instance', host);
  try {
    await driver.destroy(instanceRef(row), signal);
  } catch (err) {
    if (signal.aborted) throw err;
    await event.finish('Error', faultDetails(err));
    const updated = await updateInstance(db, row.uuid, { taskState: TaskState.SHELVING_OFFLOADING, host }, { task_state: null });
    if (updated) await addInstanceFault(db, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
    return;
  }
  await event.finish('Success');
  let node: string | undefined;
  await guardedTransaction(db, async (trx) => {
    node = await releaseAllocation(trx, row.uuid);
    const updated = await updateInstance(
      trx,
      row.uuid,
      { taskState: TaskState.SHELVING_OFFLOADING, host },
      { vm_state: VmState.SHELVED_OFFLOADED, task_state: null, power_state: PowerState.NOSTATE, host: null, node: null, driver_info: '{}' },
    );
    if (!updated) throw new GuardLost();
    await removeConsole(trx, row.uuid);
  });
  ctx.logger.info({ instance: row.uuid }, 'instance offloaded');
  if (node !== undefined) await ctx.bus.notify('nodes', node);
}

/** unshelve of a SHELVED server still on this host (task 'unshelving'): power on, ACTIVE, the shelved image deleted. */
export async function unshelveOnHost(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const done = await runOperation(ctx, row, {
    action: 'unshelve',
    event: 'compute_unshelve_instance',
    taskStates: [TaskState.UNSHELVING],
    run: async () => {
      await ctx.driver.powerOn(instanceRef(row), ctx.signal);
      return { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING };
    },
    onFailure: async () => powerStateNow(ctx, row),
  });
  if (done) {
    await forgetShelvedImage(ctx, row);
    await refreshConsole(ctx, instanceRef(done));
  }
}

/**
 * unshelve of an offloaded server, placed on this host by the scheduler (vm
 * SHELVED_OFFLOADED, task 'spawning'): spawned from the shelved image, then ACTIVE and the
 * image deleted. A failure gives the node back and the server stays SHELVED_OFFLOADED with
 * a fault, as Nova's unshelve does.
 */
export async function unshelveSpawn(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const event = await beginEvent(db, row.uuid, 'unshelve', 'compute_unshelve_instance', host);
  const sys = await getSystemMetadata(db, row.uuid);
  let driverInfo: Readonly<Record<string, unknown>>;
  try {
    const image = await ctx.images.get(sys[SHELVED_IMAGE_KEY] ?? row.image_ref, signal);
    driverInfo = (await driver.spawn(instanceSpec(row, await getInstanceMetadata(db, row.uuid)), image, signal)).driverInfo;
  } catch (err) {
    if (signal.aborted) throw err;
    await event.finish('Error', faultDetails(err));
    let node: string | undefined;
    await guardedTransaction(db, async (trx) => {
      node = await releaseAllocation(trx, row.uuid);
      const updated = await updateInstance(
        trx,
        row.uuid,
        { taskState: TaskState.SPAWNING, host },
        { task_state: null, host: null, node: null, power_state: PowerState.NOSTATE, ...restoredZone(sys) },
      );
      if (!updated) throw new GuardLost();
      await addInstanceFault(trx, { instanceUuid: row.uuid, code: 500, message: faultMessage(err), details: faultDetails(err), host });
      await setSystemMetadata(trx, row.uuid, { [SAVED_ZONE_KEY]: null });
    });
    if (node !== undefined) await ctx.bus.notify('nodes', node);
    return;
  }
  await event.finish('Success');
  const done = await updateInstance(
    db,
    row.uuid,
    { taskState: TaskState.SPAWNING, host },
    { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING, task_state: null, driver_info: JSON.stringify(driverInfo), ...restoredZone(sys) },
  );
  if (!done) return;
  await forgetShelvedImage(ctx, row);
  await refreshConsole(ctx, instanceRef(done));
}

/** The zone asked for at create, back in place after an unshelve to a forced host. */
function restoredZone(sys: Record<string, string>): { requested_availability_zone?: string | null } {
  const saved = sys[SAVED_ZONE_KEY];
  if (saved === undefined) return {};
  return { requested_availability_zone: saved === '' ? null : saved };
}

/** The shelved snapshot has served its purpose once the server runs again: Nova deletes it. */
async function forgetShelvedImage(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const sys = await getSystemMetadata(ctx.db, row.uuid);
  const imageId = sys[SHELVED_IMAGE_KEY];
  await setSystemMetadata(ctx.db, row.uuid, { [SHELVED_IMAGE_KEY]: null, [SHELVED_AT_KEY]: null, [SHELVED_HOST_KEY]: null, [SAVED_ZONE_KEY]: null });
  if (imageId !== undefined) {
    await ctx.images.remove?.(imageId).catch((err: unknown) => ctx.logger.warn({ instance: row.uuid, image: imageId, err: faultMessage(err) }, 'could not delete the shelved image'));
  }
}
