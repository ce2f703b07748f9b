import { latestFaultsOf, metadataOf, userDataOf, type ServerViewRow } from '../../../db/repos/server-queries.js';
import type { ComputeDeps } from '../deps.js';
import { compareVersions, type ApiVersion } from '../microversion.js';
import type { Linker } from '../request.js';
import type { ServerViewContext } from './server-view.js';

/** Loads what the detail view of these rows needs in a few batched queries (user_data only when shown: admin, 2.3+). */
export async function lookup(
  deps: ComputeDeps,
  linker: Linker,
  isAdmin: boolean,
  rows: readonly Pick<ServerViewRow, 'uuid' | 'vm_state'>[],
  version: ApiVersion,
): Promise<ServerViewContext> {
  const uuids = rows.map((r) => r.uuid);
  const failed = rows.filter((r) => r.vm_state === 'error' || r.vm_state === 'deleted').map((r) => r.uuid);
  const showUserData = isAdmin && compareVersions(version, { major: 2, minor: 3 }) >= 0 && uuids.length > 0;
  const [metadata, faults, userData] = await Promise.all([
    metadataOf(deps.db, uuids),
    failed.length > 0 ? latestFaultsOf(deps.db, failed) : new Map(),
    showUserData ? userDataOf(deps.db, uuids) : new Map<string, string | null>(),
  ]);
  return { linker, isAdmin, instanceNameTemplate: deps.config.DEFAULT.instance_name_template, metadata, faults, version, userData };
}
