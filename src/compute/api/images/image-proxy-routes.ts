import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import { deleteImage, findUsableImage, imageProperties, listImages, updateImage, type ImageFilter } from '../../../db/repos/images.js';
import type { ImageRow } from '../../../db/schema.js';
import { apiTime } from '../../../db/time.js';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, PolyvisorError, QuotaExceededError } from '../../../errors.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast, versionOf, versionString } from '../microversion.js';
import { projectLimits } from '../quotas/effective.js';
import { callerOf, param, parseLimit, pathParam, queryOf, type Linker as LinkerT, Linker } from '../request.js';
import { metadataSchema } from '../servers/server-metadata.js';
import { strictObject } from '../validation.js';

/**
 * The deprecated compute image proxy (`/v2.1/images`): Nova's view of the image service's
 * images, removed at 2.36 (404 from then on). Reads, delete and the metadata sub-resource
 * (the image's custom properties) go straight to the image tables Polyvisor's image service
 * keeps, with Glance's visibility and ownership rules.
 */
const STATUS: Readonly<Record<string, string>> = {
  queued: 'SAVING',
  saving: 'SAVING',
  uploading: 'SAVING',
  importing: 'SAVING',
  active: 'ACTIVE',
  killed: 'ERROR',
  deleted: 'DELETED',
  pending_delete: 'DELETED',
};
const PROGRESS: Readonly<Record<string, number>> = { queued: 25, saving: 50, active: 100 };

function gone(req: FastifyRequest): void {
  if (atLeast(req, 2, 36)) throw new PolyvisorError('not_found', `API version ${versionString(versionOf(req))} is not supported on this method.`);
}

function links(linker: LinkerT, id: string) {
  return [
    ...linker.links('images', id),
    { rel: 'alternate', type: 'application/vnd.openstack.image', href: `${linker.root.replace(/\/compute$/, '')}/image/images/${encodeURIComponent(id)}` },
  ];
}

function detail(row: ImageRow, linker: LinkerT): Record<string, unknown> {
  const meta = imageProperties(row);
  const out: Record<string, unknown> = {
    id: row.id,
    name: row.name,
    minRam: row.min_ram,
    minDisk: row.min_disk,
    metadata: meta,
    created: apiTime(row.created_at),
    updated: apiTime(row.updated_at),
    status: STATUS[row.status] ?? 'UNKNOWN',
    progress: PROGRESS[row.status] ?? 0,
    links: links(linker, row.id),
    'OS-EXT-IMG-SIZE:size': row.size,
  };
  const server = meta['instance_uuid'];
  if (server !== undefined) out['server'] = { id: server, links: linker.links('servers', server) };
  return out;
}

async function visible(req: FastifyRequest, deps: ComputeDeps): Promise<ImageRow> {
  const ctx = callerOf(req);
  const id = pathParam(req, 'image_id');
  const row = await findUsableImage(deps.db, id, ctx.projectId, ctx.isAdmin);
  if (!row) throw new NotFoundError('Image', id);
  return row;
}

/** Writes need the owning project (or an admin), as Glance's policy says. */
async function owned(req: FastifyRequest, deps: ComputeDeps): Promise<ImageRow> {
  const ctx = callerOf(req);
  const row = await visible(req, deps);
  requireWriter(ctx, 'os_compute_api:image-metadata');
  if (!ctx.isAdmin && row.owner !== ctx.projectId) throw new ForbiddenError(`You are not authorized to modify image ${row.id}.`);
  return row;
}

async function writeProperties(deps: ComputeDeps, row: ImageRow, props: Record<string, string>): Promise<Record<string, string>> {
  const limit = (await projectLimits(deps.db, deps, row.owner ?? '')).metadata_items;
  if (limit >= 0 && Object.keys(props).length > limit) throw new QuotaExceededError(`Quota exceeded for metadata_items: maximum number of metadata items exceeds ${limit}`);
  const updated = await updateImage(deps.db, row.id, [row.status], { properties: JSON.stringify(props) });
  if (!updated) throw new ConflictError(`Image ${row.id} changed while it was being updated; retry the request.`);
  return imageProperties(updated);
}

const setSchema = strictObject({ metadata: metadataSchema }, ['metadata']);
const itemSchema = strictObject({ meta: { ...metadataSchema, minProperties: 1 } }, ['meta']);

export function imageProxyRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const list = async (req: FastifyRequest, withDetail: boolean) => {
    gone(req);
    const ctx = callerOf(req);
    const q = queryOf(req);
    const filters: ImageFilter[] = [];
    const name = param(q, 'name');
    if (name !== undefined) filters.push({ column: 'name', op: 'eq', value: name });
    const status = param(q, 'status');
    if (status !== undefined) {
      const wanted = Object.entries(STATUS).filter(([, v]) => v === status.toUpperCase()).map(([k]) => k);
      filters.push({ column: 'status', op: 'in', value: wanted.length > 0 ? wanted : [status] });
    }
    const since = param(q, 'changes-since');
    if (since !== undefined) {
      if (Number.isNaN(Date.parse(since))) throw new InvalidInputError(`Invalid changes-since value: ${since}`);
      filters.push({ column: 'updated_at', op: 'gte', value: new Date(since).toISOString() });
    }
    const properties: Record<string, string> = {};
    const server = param(q, 'server');
    if (server !== undefined) properties['instance_uuid'] = server.replace(/^.*\//, '');
    const type = param(q, 'type');
    if (type !== undefined) properties['image_type'] = type;
    const limit = parseLimit(q, deps.config.api.max_limit);
    const markerId = param(q, 'marker');
    let marker: ImageRow | undefined;
    if (markerId !== undefined) {
      marker = await findUsableImage(deps.db, markerId, ctx.projectId, ctx.isAdmin);
      if (!marker) throw new InvalidInputError(`marker [${markerId}] not found`);
    }
    const { rows, more } = await listImages(deps.db, {
      viewer: { projectId: ctx.projectId, isAdmin: ctx.isAdmin },
      memberStatus: 'accepted',
      filters,
      tags: [],
      properties,
      osHidden: false,
      sort: [
        { key: 'created_at', dir: 'desc' },
        { key: 'id', dir: 'desc' },
      ],
      ...(marker ? { marker } : {}),
      limit,
    });
    const minRam = param(q, 'minRam');
    const minDisk = param(q, 'minDisk');
    const shown = rows.filter((r) => (minRam === undefined || r.min_ram >= Number(minRam)) && (minDisk === undefined || r.min_disk >= Number(minDisk)));
    const linker = new Linker(req, deps);
    const out: Record<string, unknown> = {
      images: shown.map((r) => (withDetail ? detail(r, linker) : { id: r.id, name: r.name, links: links(linker, r.id) })),
    };
    const last = rows[rows.length - 1];
    if (more && last) out['images_links'] = [{ rel: 'next', href: `${linker.root}/v2.1/images${withDetail ? '/detail' : ''}?limit=${limit}&marker=${last.id}` }];
    return out;
  };

  app.get('/images', async (req) => list(req, false));
  app.get('/images/detail', async (req) => list(req, true));

  app.get('/images/:image_id', async (req) => {
    gone(req);
    return { image: detail(await visible(req, deps), new Linker(req, deps)) };
  });

  app.delete('/images/:image_id', async (req, reply) => {
    gone(req);
    const row = await owned(req, deps);
    if (row.protected === 1) throw new ForbiddenError(`Image ${row.id} is protected and cannot be deleted.`);
    const deleted = await deleteImage(deps.db, row.id);
    if (!deleted) throw new NotFoundError('Image', row.id);
    if (deleted.location !== null && deps.removeImageData) {
      await deps.removeImageData(deleted.location).catch((err: unknown) => req.log.warn({ err, image: row.id }, 'could not remove image data'));
    }
    return reply.status(204).send();
  });

  app.get('/images/:image_id/metadata', async (req) => {
    gone(req);
    return { metadata: imageProperties(await visible(req, deps)) };
  });

  app.post('/images/:image_id/metadata', { schema: { body: setSchema } }, async (req) => {
    gone(req);
    const row = await owned(req, deps);
    const body = (req.body as { metadata: Record<string, string> }).metadata;
    return { metadata: await writeProperties(deps, row, { ...imageProperties(row), ...body }) };
  });

  app.put('/images/:image_id/metadata', { schema: { body: setSchema } }, async (req) => {
    gone(req);
    const row = await owned(req, deps);
    return { metadata: await writeProperties(deps, row, { ...(req.body as { metadata: Record<string, string> }).metadata }) };
  });

  app.get('/images/:image_id/metadata/:key', async (req) => {
    gone(req);
    const row = await visible(req, deps);
    const key = pathParam(req, 'key');
    const value = imageProperties(row)[key];
    if (value === undefined) throw new PolyvisorError('not_found', `Image ${row.id} has no metadata key ${key}.`);
    return { meta: { [key]: value } };
  });

  app.put('/images/:image_id/metadata/:key', { schema: { body: itemSchema } }, async (req) => {
    gone(req);
    const row = await owned(req, deps);
    const key = pathParam(req, 'key');
    const meta = (req.body as { meta: Record<string, string> }).meta;
    if (Object.keys(meta).length > 1) throw new InvalidInputError('Request body contains too many items');
    const value = meta[key];
    if (value === undefined) throw new InvalidInputError('Request body and URI mismatch');
    await writeProperties(deps, row, { ...imageProperties(row), [key]: value });
    return { meta: { [key]: value } };
  });

  app.delete('/images/:image_id/metadata/:key', async (req, reply) => {
    gone(req);
    const row = await owned(req, deps);
    const key = pathParam(req, 'key');
    const props = imageProperties(row);
    if (!(key in props)) throw new PolyvisorError('not_found', `Image ${row.id} has no metadata key ${key}.`);
    delete props[key];
    await writeProperties(deps, row, props);
    return reply.status(204).send();
  });
}
