import { latestFaultsOf, metadataOf, type ServerViewRow } from '../../../db/repos/server-queries.js';
import type { ComputeDeps } from '../deps.js';
import type { Linker } from '../request.js';
import type { ServerViewContext } from './server-view.js';

/** Loads what the detail view of these rows needs in two batched queries. */
export async function lookup(deps: ComputeDeps, linker: Linker, isAdmin: boolean, rows: readonly Pick<ServerViewRow, 'uuid' | 'vm_state'>[]): Promise<ServerViewContext> {
  const uuids = rows.map((r) => r.uuid);
  const failed = rows.filter((r) => r.vm_state === 'error' || r.vm_state === 'deleted').map((r) => r.uuid);
  const [metadata, faults] = await Promise.all([metadataOf(deps.db, uuids), failed.length > 0 ? latestFaultsOf(deps.db, failed) : new Map()]);
  return { linker, isAdmin, instanceNameTemplate: deps.config.DEFAULT.instance_name_template, metadata, faults };
}
