import type { ServiceRow } from '../../../db/schema.js';
import { listServices } from '../../../db/repos/compute-admin.js';
import { isServiceUp } from '../../service-status.js';
import { latestFaultsOf, metadataOf, userDataOf, type ServerViewRow } from '../../../db/repos/server-queries.js';
import { tagsOf } from '../../../db/repos/instance-extras.js';
import { groupsOfInstance } from '../../../db/repos/server-groups.js';
import type { ComputeDeps } from '../deps.js';
import { compareVersions, type ApiVersion } from '../microversion.js';
import type { Linker } from '../request.js';
import type { ServerViewContext } from './server-view.js';

/** Nova's host_status (2.16): DOWN when forced down, MAINTENANCE when disabled, UP with a recent heartbeat, else UNKNOWN. */
function hostStatusOf(s: ServiceRow, serviceDownTime: number): string {
  if (s.forced_down === 1) return 'DOWN';
  if (s.disabled === 1) return 'MAINTENANCE';
  return isServiceUp(s, serviceDownTime) ? 'UP' : 'UNKNOWN';
}

async function hostStatuses(deps: ComputeDeps): Promise<Map<string, string>> {
  const services = await listServices(deps.db, { binary: 'nova-compute' });
  return new Map(services.map((s) => [s.host, hostStatusOf(s, deps.config.DEFAULT.service_down_time)]));
}

/** Loads what the detail view of these rows needs in a few batched queries (user_data and host status only when shown: admin, 2.3+ and 2.16+). */
export async function lookup(
  deps: ComputeDeps,
  linker: Linker,
  isAdmin: boolean,
  rows: readonly Pick<ServerViewRow, 'uuid' | 'vm_state'>[],
  version: ApiVersion,
  options: { withServerGroups?: boolean } = {},
): Promise<ServerViewContext> {
  const uuids = rows.map((r) => r.uuid);
  const failed = rows.filter((r) => r.vm_state === 'error' || r.vm_state === 'deleted').map((r) => r.uuid);
  const showUserData = isAdmin && compareVersions(version, { major: 2, minor: 3 }) >= 0 && uuids.length > 0;
  const showHostStatus = isAdmin && compareVersions(version, { major: 2, minor: 16 }) >= 0 && uuids.length > 0;
  const showTags = compareVersions(version, { major: 2, minor: 26 }) >= 0 && uuids.length > 0;
  const [metadata, faults, userData, hostStatus, tags] = await Promise.all([
    metadataOf(deps.db, uuids),
    failed.length > 0 ? latestFaultsOf(deps.db, failed) : new Map(),
    showUserData ? userDataOf(deps.db, uuids) : new Map<string, string | null>(),
    showHostStatus ? hostStatuses(deps) : new Map<string, string>(),
    showTags ? tagsOf(deps.db, uuids) : new Map<string, string[]>(),
  ]);
  const view: ServerViewContext = { linker, isAdmin, instanceNameTemplate: deps.config.DEFAULT.instance_name_template, metadata, faults, version, userData, hostStatus, tags };
  if (options.withServerGroups === true && compareVersions(version, { major: 2, minor: 71 }) >= 0) {
    const groups = new Map<string, string[]>();
    for (const u of uuids) groups.set(u, await groupsOfInstance(deps.db, u));
    return { ...view, serverGroups: groups };
  }
  return view;
}
