import { PowerState } from '../../states.js';
import { InstanceNotFoundError, type InstanceRef, type InstanceState } from '../driver.js';
import type { LibvirtContext } from './context.js';
import { domainName } from './domain-xml.js';
import { powerStateOfWord } from './domain-state.js';
import { isNoDomain } from './virsh.js';

/**
 * One instance's power state from `virsh dominfo` (one call: its state, and whether a
 * managed-save image makes a shut-off domain a suspended one).
 */
export async function instanceState(ctx: LibvirtContext, instance: Pick<InstanceRef, 'uuid'>, signal: AbortSignal): Promise<InstanceState> {
  let out: string;
  try {
    out = await ctx.virsh.run(['dominfo', domainName(instance.uuid)], signal);
  } catch (err) {
    if (isNoDomain(err)) return { exists: false, powerState: PowerState.NOSTATE };
    throw err;
  }
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*?)\\s*$`, 'm').exec(out)?.[1] ?? '';
  const state = field('State');
  const saved = field('Managed save') === 'yes';
  return { exists: true, powerState: state === 'shut off' && saved ? PowerState.SUSPENDED : powerStateOfWord(state) };
}

/** Like {@link instanceState}, but an instance the hypervisor does not know is an InstanceNotFoundError. */
export async function existingState(ctx: LibvirtContext, instance: Pick<InstanceRef, 'uuid'>, signal: AbortSignal): Promise<PowerState> {
  const s = await instanceState(ctx, instance, signal);
  if (!s.exists) throw new InstanceNotFoundError(instance.uuid);
  return s.powerState;
}

/** The domain's persistent definition (`virsh dumpxml --inactive`), or undefined when libvirt does not know it. */
export async function inactiveXml(ctx: LibvirtContext, uuid: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    return await ctx.virsh.run(['dumpxml', '--inactive', domainName(uuid)], signal);
  } catch (err) {
    if (isNoDomain(err)) return undefined;
    throw err;
  }
}
