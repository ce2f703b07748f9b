import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireWriter } from '../../api/policy.js';
import { requireAuth } from '../../api/server.js';
import { deleteImage, imageIdTaken, imageTags, insertImage, listImages, replaceImageTags, updateImage } from '../../db/repos/images.js';
import type { ImageRow } from '../../db/schema.js';
import { now } from '../../db/time.js';
import { ConflictError, ForbiddenError, InvalidInputError, PolyvisorError, isPolyvisorError } from '../../errors.js';
import { parseCreateRequest } from './create-request.js';
import type { ImageApiDeps } from './deps.js';
import { loadOwnedImage, loadVisibleImage } from './image-access.js';
import { checkDraft, draftFromRow, type ImageDraft } from './image-draft.js';
import { IMPORT_METHODS, STORE_ID } from './import-offer.js';
import { imageHref, imageView } from './image-view.js';
import { PATCH_V20, PATCH_V21, applyPatch, parsePatch } from './json-patch.js';
import { pageLinks, parseListQuery, type RawQuery } from './list-query.js';

/** Glance api_limit_max. */
const GLANCE_MAX_LIMIT = 1000;

type IdParams = { Params: { id: string } };

/** Images: create, list, show, update (JSON patch), delete. */
export function registerImageRoutes(app: FastifyInstance, deps: ImageApiDeps): void {
  const { db } = deps;

  // JSON patch documents are JSON; they keep the global (small) body limit.
  app.addContentTypeParser([PATCH_V21, PATCH_V20], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string) as unknown);
    } catch (err) {
      done(new InvalidInputError(`Malformed JSON patch document: ${(err as Error).message}`), undefined);
    }
  });

  app.post('/v2/images', async (req, reply) => {
    const ctx = requireAuth(req);
    requireWriter(ctx, 'add_image');
    const { id: requested, draft } = parseCreateRequest(ctx, req.body);
    checkDraft(ctx, draft, undefined);
    const id = requested ?? randomUUID();
    if (requested !== undefined && (await imageIdTaken(db, id))) throw new ConflictError(`Image with identifier ${id} already exists!`);
    const t = now();
    let row: ImageRow;
    try {
      row = await insertImage(
        db,
        {
          id,
          status: 'queued',
          ...coreColumns(draft),
          size: null,
          virtual_size: null,
          checksum: null,
          os_hash_algo: null,
          os_hash_value: null,
          location: null,
          created_at: t,
          updated_at: t,
          deleted: 0,
        },
        draft.core.tags,
      );
    } catch (err) {
      // Two creates with the same id: the primary key decides, the loser gets the 409.
      if (requested !== undefined && (await imageIdTaken(db, id))) throw new ConflictError(`Image with identifier ${id} already exists!`);
      throw err;
    }
    // As Glance: the import methods and stores on offer, which clients (openstacksdk's
    // `image create --import`) read from here rather than from /v2/info.
    reply
      .code(201)
      .header('location', `${deps.publicUrl()}/image${imageHref(id)}`)
      .header('openstack-image-import-methods', IMPORT_METHODS.join(','))
      .header('openstack-image-store-ids', STORE_ID);
    return imageView(row, draft.core.tags);
  });

  app.get<{ Querystring: RawQuery }>('/v2/images', async (req) => {
    const ctx = requireAuth(req);
    // The router ignores trailing slashes, but GET /v2/images/ is Glance's "show image with
    // an empty id" (404), not the list: a client that built the URL from a null id must see that.
    if ((req.url.split('?')[0] ?? '').endsWith('/')) throw new PolyvisorError('not_found', 'No image found with ID (empty).');
    const { query, markerId } = parseListQuery(ctx, req.query, Math.min(deps.config.api.max_limit, GLANCE_MAX_LIMIT));
    let marker: ImageRow | undefined;
    if (markerId !== undefined) {
      try {
        marker = (await loadVisibleImage(db, ctx, markerId)).row;
      } catch (err) {
        if (isPolyvisorError(err, 'not_found')) throw new InvalidInputError(`Invalid marker. Image ${markerId} could not be found.`);
        throw err;
      }
    }
    const { rows, more } = await listImages(db, marker ? { ...query, marker } : query);
    const tags = await imageTags(
      db,
      rows.map((r) => r.id),
    );
    const links = pageLinks(req.url, rows, more);
    return {
      images: rows.map((r) => imageView(r, tags.get(r.id) ?? [])),
      first: links.first,
      schema: '/v2/schemas/images',
      ...(links.next === undefined ? {} : { next: links.next }),
    };
  });

  app.get<IdParams>('/v2/images/:id', async (req) => {
    const ctx = requireAuth(req);
    const { row } = await loadVisibleImage(db, ctx, req.params.id);
    return imageView(row, (await imageTags(db, [row.id])).get(row.id) ?? []);
  });

  app.patch<IdParams>('/v2/images/:id', async (req) => {
    const ctx = requireAuth(req);
    const type = mediaType(req);
    if (type !== PATCH_V21 && type !== PATCH_V20) {
      throw new PolyvisorError('unsupported_media_type', `Unsupported Content-Type "${type ?? ''}": image updates are JSON patch documents of type ${PATCH_V21}.`);
    }
    const version = type === PATCH_V20 ? '2.0' : '2.1';
    const row = await loadOwnedImage(db, ctx, req.params.id, 'modify_image');
    const ops = parsePatch(req.body, version);
    const tags = (await imageTags(db, [row.id])).get(row.id) ?? [];
    const before = draftFromRow(row, tags);
    const after = applyPatch(before, ops, version, row.status);
    checkDraft(ctx, after, before);
    const updated = await db.transaction().execute(async (tx) => {
      // Guarded on the status we read: a concurrent upload or delete makes this a 409, not a lost update.
      const r = await updateImage(tx, row.id, [row.status], coreColumns(after));
      if (r && !sameTags(tags, after.core.tags)) await replaceImageTags(tx, row.id, after.core.tags);
      return r;
    });
    if (!updated) throw new ConflictError(`Image ${row.id} changed while it was being updated; retry the request.`);
    return imageView(updated, after.core.tags);
  });

  app.delete<IdParams>('/v2/images/:id', async (req, reply) => {
    const ctx = requireAuth(req);
    const row = await loadOwnedImage(db, ctx, req.params.id, 'delete_image');
    if (row.protected === 1) throw new ForbiddenError(`Image ${row.id} is protected and cannot be deleted.`);
    const deleted = await deleteImage(db, row.id);
    if (!deleted) throw new ConflictError(`Image ${row.id} changed while it was being deleted; retry the request.`);
    if (deleted.location !== null) {
      // The row is gone already; a file we fail to remove is logged, not a failed delete.
      await deps.store.delete(deleted.location).catch((err: unknown) => req.log.warn({ err, image: row.id }, 'could not remove image data'));
    }
    return reply.code(204).send();
  });
}

function coreColumns(draft: ImageDraft) {
  const c = draft.core;
  return {
    name: c.name,
    visibility: c.visibility,
    protected: c.protected ? (1 as const) : (0 as const),
    os_hidden: c.os_hidden ? (1 as const) : (0 as const),
    container_format: c.container_format,
    disk_format: c.disk_format,
    min_disk: c.min_disk,
    min_ram: c.min_ram,
    owner: c.owner,
    properties: JSON.stringify(draft.properties),
  };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/** The Content-Type without parameters, lower-cased. */
export function mediaType(req: FastifyRequest): string | undefined {
  return req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}
