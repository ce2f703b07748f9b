import { ConflictError } from '../../../errors.js';
import type { InstanceRow } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';

/** Actions a hypervisor may lack, and the node capability (written by its compute agent) that says so. */
const CAPABILITY_OF: Readonly<Record<string, string>> = {
  pause: 'supports_pause',
  unpause: 'supports_pause',
  resize: 'supports_migrate',
  migrate: 'supports_migrate',
  'os-migrateLive': 'supports_live_migration',
};

/**
 * Refuses, with a 409 before anything changes, an action the server's hypervisor cannot do
 * (pause on vSphere). The API knows no drivers: the compute agent stores the driver's
 * capabilities on the node (compute_nodes.capabilities, e.g. "supports_pause": "False"); a
 * node that does not say is assumed capable, and the agent reports the failure instead.
 */
export async function assertHypervisorSupports(deps: ComputeDeps, row: InstanceRow, action: string): Promise<void> {
  const capability = CAPABILITY_OF[action];
  if (capability === undefined || row.node === null) return;
  const node = await deps.db
    .selectFrom('compute_nodes')
    .select(['capabilities', 'hypervisor_type'])
    .where('hypervisor_hostname', '=', row.node)
    .where('deleted', '=', 0)
    .executeTakeFirst();
  if (node === undefined || capabilityOf(node.capabilities, capability) !== 'false') return;
  throw new ConflictError(`Cannot '${action}' instance ${row.uuid}: ${action} is not supported by this hypervisor (${node.hypervisor_type}).`);
}

function capabilityOf(json: string, key: string): string | undefined {
  try {
    const v: unknown = JSON.parse(json);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const c: unknown = (v as Record<string, unknown>)[key];
    return typeof c === 'string' ? c.toLowerCase() : typeof c === 'boolean' ? String(c) : undefined;
  } catch {
    return undefined;
  }
}
