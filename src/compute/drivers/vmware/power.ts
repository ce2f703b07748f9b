import { setTimeout as sleep } from 'node:timers/promises';
import { isFault, type VirtualMachine } from '../../../vsphere/index.js';
import type { InstanceRef } from '../driver.js';
import { driverFailure, stepOpId, type VmwareContext } from './context.js';
import { withVm } from './vm-lookup.js';

/** Runs one power operation, translating vCenter faults into a DriverError naming the step and opID. */
async function op(ctx: VmwareContext, name: string, instance: InstanceRef, signal: AbortSignal, fn: (vm: VirtualMachine, opId: string) => Promise<void>): Promise<void> {
  const opId = stepOpId(instance.uuid, name);
  try {
    await withVm(ctx, instance, signal, (vm) => fn(vm, opId));
  } catch (err) {
    throw driverFailure(name, name, opId, err);
  }
}

/** Idempotent: an instance already in the wanted state is left alone (InvalidPowerState is success). */
function tolerate(states: readonly string[], current: string): boolean {
  return states.includes(current);
}

/**
 * Powers off: asks the guest to shut down when `timeoutSeconds` > 0 and VMware Tools run,
 * else (or if the guest does not stop in time) a hard power-off.
 */
export function powerOff(ctx: VmwareContext, instance: InstanceRef, timeoutSeconds: number, signal: AbortSignal): Promise<void> {
  return op(ctx, 'power-off', instance, signal, async (vm, opId) => {
    const p = await vm.properties(['runtime.powerState', 'guest.toolsRunningStatus'], { signal });
    if (tolerate(['poweredOff'], String(p['runtime.powerState']))) return;
    if (timeoutSeconds > 0 && p['guest.toolsRunningStatus'] === 'guestToolsRunning' && p['runtime.powerState'] === 'poweredOn') {
      await vm.shutdownGuest({ signal, opId });
      if (await waitPoweredOff(vm, timeoutSeconds, signal)) return;
    }
    try {
      await vm.powerOff({ signal, opId });
    } catch (err) {
      if (!isFault(err, 'InvalidPowerState')) throw err;
    }
  });
}

/** Waits (up to the timeout the API gave) for the guest to power itself off; checked once a second. */
async function waitPoweredOff(vm: VirtualMachine, timeoutSeconds: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if ((await vm.powerState({ signal })) === 'poweredOff') return true;
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())), undefined, { signal });
  }
  return false;
}

export function powerOn(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  return op(ctx, 'power-on', instance, signal, async (vm, opId) => {
    try {
      await vm.powerOn({ signal, opId });
    } catch (err) {
      if (!isFault(err, 'InvalidPowerState')) throw err;
      if ((await vm.powerState({ signal })) !== 'poweredOn') throw err;
    }
  });
}

/**
 * SOFT: a guest reboot when VMware Tools run, else a reset (as Nova does). HARD: a reset.
 * A powered-off instance is powered on.
 */
export function reboot(ctx: VmwareContext, instance: InstanceRef, kind: 'SOFT' | 'HARD', signal: AbortSignal): Promise<void> {
  return op(ctx, kind === 'SOFT' ? 'reboot' : 'hard-reboot', instance, signal, async (vm, opId) => {
    const p = await vm.properties(['runtime.powerState', 'guest.toolsRunningStatus'], { signal });
    if (p['runtime.powerState'] !== 'poweredOn') {
      await vm.powerOn({ signal, opId });
      return;
    }
    if (kind === 'SOFT' && p['guest.toolsRunningStatus'] === 'guestToolsRunning') {
      try {
        await vm.rebootGuest({ signal, opId });
        return;
      } catch (err) {
        // Tools stopped between the read and the call: fall back to a reset.
        if (!isFault(err, 'ToolsUnavailable') && !isFault(err, 'InvalidState')) throw err;
      }
    }
    await vm.reset({ signal, opId });
  });
}

export function suspend(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  return op(ctx, 'suspend', instance, signal, async (vm, opId) => {
    try {
      await vm.suspend({ signal, opId });
    } catch (err) {
      if (!isFault(err, 'InvalidPowerState') || (await vm.powerState({ signal })) !== 'suspended') throw err;
    }
  });
}

/** Resume from suspend is a power-on in vSphere. */
export function resume(ctx: VmwareContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  return powerOn(ctx, instance, signal);
}
