import { getSystemMetadata, setSystemMetadata, takeSystemMetadata } from '../../../db/repos/instance-extras.js';
import { getInstanceMetadata } from '../../../db/repos/instances.js';
import type { InstanceRow } from '../../../db/schema.js';
import { UnsupportedOperationError } from '../../drivers/driver.js';
import { PowerState, TaskState, VmState } from '../../states.js';
import { refreshConsole } from '../console-publisher.js';
import type { AgentContext } from '../context.js';
import { instanceRef, instanceSpec } from '../instance-spec.js';
import { powerStateNow, runOperation } from './operation.js';

/** System metadata the API writes for a rescue: the image to boot and the rescue password (taken once). */
export const RESCUE_IMAGE_KEY = 'rescue_image_ref';
export const RESCUE_PASSWORD_KEY = 'rescue_admin_pass_pending';
/** Password for changePassword, handed to the agent and deleted as it is read. */
export const ADMIN_PASSWORD_KEY = 'admin_pass_pending';

/**
 * rescue (task 'rescuing'): boots the instance from the rescue image (the one asked for,
 * else its own image) with its disk attached, RESCUE. The password is read and deleted
 * before the driver runs, so it is never stored past this point. A failure (including a
 * driver without rescue) leaves the server as it was, with a fault.
 */
export async function rescueTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal } = ctx;
  const password = (await takeSystemMetadata(db, row.uuid, RESCUE_PASSWORD_KEY)) ?? null;
  const sys = await getSystemMetadata(db, row.uuid);
  const done = await runOperation(ctx, row, {
    action: 'rescue',
    event: 'compute_rescue_instance',
    taskStates: [TaskState.RESCUING],
    run: async () => {
      if (!driver.rescue) throw new UnsupportedOperationError('rescue', driver.type);
      const image = await ctx.images.get(sys[RESCUE_IMAGE_KEY] ?? row.image_ref, signal);
      await driver.rescue(instanceSpec(row, await getInstanceMetadata(db, row.uuid)), image, password, signal);
      return { vm_state: VmState.RESCUED, power_state: PowerState.RUNNING };
    },
    onFailure: async () => powerStateNow(ctx, row),
    cleanup: async () => setSystemMetadata(db, row.uuid, { [RESCUE_IMAGE_KEY]: null }),
  });
  if (done) await refreshConsole(ctx, instanceRef(done));
}

/** unrescue (task 'unrescuing'): back on the instance's own disk, ACTIVE. */
export async function unrescueTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal } = ctx;
  const done = await runOperation(ctx, row, {
    action: 'unrescue',
    event: 'compute_unrescue_instance',
    taskStates: [TaskState.UNRESCUING],
    run: async () => {
      if (!driver.unrescue) throw new UnsupportedOperationError('unrescue', driver.type);
      await driver.unrescue(instanceRef(row), signal);
      return { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING };
    },
    onFailure: async () => powerStateNow(ctx, row),
  });
  if (done) {
    await setSystemMetadata(db, row.uuid, { [RESCUE_IMAGE_KEY]: null });
    await refreshConsole(ctx, instanceRef(done));
  }
}

/** changePassword (task 'updating_password'): the guest's admin password through the driver; the server stays ACTIVE either way. */
export async function changePasswordTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { db, driver, signal } = ctx;
  const password = await takeSystemMetadata(db, row.uuid, ADMIN_PASSWORD_KEY);
  await runOperation(ctx, row, {
    action: 'changePassword',
    event: 'compute_set_admin_password',
    taskStates: [TaskState.UPDATING_PASSWORD],
    run: async () => {
      if (!driver.setAdminPassword) throw new UnsupportedOperationError('changePassword (set_admin_password)', driver.type);
      if (password === undefined) throw new UnsupportedOperationError('changePassword without a password', driver.type);
      await driver.setAdminPassword(instanceRef(row), password, signal);
      return {};
    },
  });
}

/** trigger_crash_dump (task 'trigger_crash_dump'): an NMI into the guest; the server's state does not change. */
export async function crashDumpTask(ctx: AgentContext, row: InstanceRow): Promise<void> {
  const { driver, signal } = ctx;
  await runOperation(ctx, row, {
    action: 'trigger_crash_dump',
    event: 'compute_trigger_crash_dump',
    taskStates: [TaskState.CRASH_DUMPING],
    run: async () => {
      if (!driver.triggerCrashDump) throw new UnsupportedOperationError('trigger_crash_dump', driver.type);
      await driver.triggerCrashDump(instanceRef(row), signal);
      return {};
    },
  });
}
