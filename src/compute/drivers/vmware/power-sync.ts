import { inventoryTraversal, toProperties, type ObjectProperties } from '../../../vsphere/index.js';
import { PowerState } from '../../states.js';
import type { InstanceState } from '../driver.js';
import type { VmwareContext } from './context.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function powerStateOf(vsphere: unknown): PowerState {
  switch (vsphere) {
    case 'poweredOn':
      return PowerState.RUNNING;
    case 'poweredOff':
      return PowerState.SHUTDOWN;
    case 'suspended':
      return PowerState.SUSPENDED;
    default:
      return PowerState.NOSTATE;
  }
}

/** Every VM below the root folder with `paths`, in one RetrievePropertiesEx (paged only if the server pages). */
export async function retrieveVms(ctx: Pick<VmwareContext, 'client' | 'options'>, paths: readonly string[], signal: AbortSignal): Promise<ObjectProperties[]> {
  const contents = await ctx.client.pc.retrieve(
    [{ propSet: [{ type: 'VirtualMachine', pathSet: paths }], objectSet: [{ obj: ctx.client.content.rootFolder, skip: true, selectSet: inventoryTraversal({ vms: true }) }] }],
    { signal, maxObjects: ctx.options.maximumObjects },
  );
  return contents.map((c) => toProperties(c));
}

/** Ours: named by an instance uuid that is also its instanceUuid (spawn sets both). */
export function isOurs(o: ObjectProperties): boolean {
  const name = o.props['name'];
  return typeof name === 'string' && UUID.test(name) && o.props['config.instanceUuid'] === name;
}

/** Power states of all our VMs, keyed by instance uuid: ONE PropertyCollector call for the whole vCenter. */
export async function listInstanceStates(ctx: VmwareContext, signal: AbortSignal): Promise<Map<string, InstanceState>> {
  const vms = await retrieveVms(ctx, ['name', 'config.instanceUuid', 'runtime.powerState'], signal);
  const out = new Map<string, InstanceState>();
  for (const o of vms) {
    if (!isOurs(o)) continue;
    out.set(String(o.props['name']), { exists: true, powerState: powerStateOf(o.props['runtime.powerState']) });
  }
  return out;
}

/**
 * Read once at start-up, in one call: the VNC ports every VM of the vCenter uses
 * (RemoteDisplay.vnc.port), and the instance uuids of our VMs that exist already (a spawn
 * of one of those is a build resumed after a restart).
 */
export async function startupScan(ctx: Pick<VmwareContext, 'client' | 'options'>, signal: AbortSignal): Promise<{ ports: number[]; ours: Set<string> }> {
  const vms = await retrieveVms(ctx, ['name', 'config.instanceUuid', 'config.extraConfig'], signal);
  const ports: number[] = [];
  const ours = new Set<string>();
  for (const o of vms) {
    if (isOurs(o)) ours.add(String(o.props['name']));
    const extra = o.props['config.extraConfig'];
    if (!Array.isArray(extra)) continue;
    for (const e of extra as { key?: unknown; value?: unknown }[]) {
      if (e.key === 'RemoteDisplay.vnc.port') {
        const n = Number(e.value);
        if (Number.isInteger(n)) ports.push(n);
      }
    }
  }
  return { ports, ours };
}
