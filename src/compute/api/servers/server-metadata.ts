import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import { InvalidInputError, PolyvisorError, QuotaExceededError } from '../../../errors.js';
import { getInstanceMetadata } from '../../../db/repos/instances.js';
import { projectLimits } from '../quotas/effective.js';
import { deleteMetadataKey, writeMetadata } from '../../../db/repos/server-queries.js';
import type { InstanceRow } from '../../../db/schema.js';
import { VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, pathParam } from '../request.js';
import { strictObject } from '../validation.js';
import { assertUnlocked, invalidState, visibleServer } from './lookup.js';

/** Nova's metadata item: key 1-255 characters, string value up to 255. */
export const metadataSchema = {
  type: 'object',
  patternProperties: { '^.{1,255}$': { type: 'string', maxLength: 255 } },
  additionalProperties: false,
} as const;

const setSchema = strictObject({ metadata: metadataSchema }, ['metadata']);
const itemSchema = strictObject({ meta: { ...metadataSchema, minProperties: 1 } }, ['meta']);

/** Where Nova allows metadata changes (any task state). */
const WRITABLE_STATES: readonly string[] = [VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED, VmState.STOPPED];

/** Refuses more items than [quota] metadata_items (Nova: 403). */
export async function checkMetadataQuota(deps: ComputeDeps, projectId: string, count: number): Promise<void> {
  const limit = (await projectLimits(deps.db, deps, projectId)).metadata_items;
  if (limit >= 0 && count > limit) throw new QuotaExceededError(`Quota exceeded for metadata_items: maximum number of metadata items exceeds ${limit}`);
}

async function writable(req: FastifyRequest, deps: ComputeDeps, action: string): Promise<InstanceRow> {
  const row = await visibleServer(req, deps);
  requireWriter(callerOf(req), `os_compute_api:server-metadata:${action}`);
  assertUnlocked(req, row);
  if (!WRITABLE_STATES.includes(row.vm_state)) throw invalidState(action === 'delete' ? 'delete metadata' : 'update metadata', row, 'vm_state');
  return row;
}

/** `/servers/{id}/metadata` and `/servers/{id}/metadata/{key}`. */
export function serverMetadataRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/servers/:server_id/metadata', async (req) => {
    const row = await visibleServer(req, deps);
    return { metadata: await getInstanceMetadata(deps.db, row.uuid) };
  });

  const set = (replace: boolean) => async (req: FastifyRequest) => {
    const row = await writable(req, deps, replace ? 'update_all' : 'create');
    const items = (req.body as { metadata: Record<string, string> }).metadata;
    const merged = replace ? items : { ...(await getInstanceMetadata(deps.db, row.uuid)), ...items };
    await checkMetadataQuota(deps, row.project_id, Object.keys(merged).length);
    await writeMetadata(deps.db, row.uuid, items, replace);
    return { metadata: replace ? items : await getInstanceMetadata(deps.db, row.uuid) };
  };
  app.post('/servers/:server_id/metadata', { schema: { body: setSchema } }, set(false));
  app.put('/servers/:server_id/metadata', { schema: { body: setSchema } }, set(true));

  app.get('/servers/:server_id/metadata/:key', async (req) => {
    const row = await visibleServer(req, deps);
    const key = pathParam(req, 'key');
    const value = (await getInstanceMetadata(deps.db, row.uuid))[key];
    if (value === undefined) throw new PolyvisorError('not_found', 'Metadata item was not found');
    return { meta: { [key]: value } };
  });

  app.put('/servers/:server_id/metadata/:key', { schema: { body: itemSchema } }, async (req) => {
    const row = await writable(req, deps, 'update');
    const key = pathParam(req, 'key');
    const meta = (req.body as { meta: Record<string, string> }).meta;
    if (Object.keys(meta).length > 1) throw new InvalidInputError('Request body contains too many items');
    const value = meta[key];
    if (value === undefined) throw new InvalidInputError('Request body and URI mismatch');
    const current = await getInstanceMetadata(deps.db, row.uuid);
    await checkMetadataQuota(deps, row.project_id, Object.keys({ ...current, [key]: value }).length);
    await writeMetadata(deps.db, row.uuid, { [key]: value }, false);
    return { meta: { [key]: value } };
  });

  app.delete('/servers/:server_id/metadata/:key', async (req, reply) => {
    const row = await writable(req, deps, 'delete');
    const key = pathParam(req, 'key');
    if (!(await deleteMetadataKey(deps.db, row.uuid, key))) throw new PolyvisorError('not_found', 'Metadata item was not found');
    return reply.status(204).send();
  });
}
