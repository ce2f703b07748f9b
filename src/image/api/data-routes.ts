import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAuth } from '../../api/server.js';
import { imageProperties, updateImage, type ImageUpdate } from '../../db/repos/images.js';
import { ConflictError, ForbiddenError, InvalidInputError, PolyvisorError, TooLargeError, errorMessage } from '../../errors.js';
import type { ImageRow } from '../../db/schema.js';
import type { ByteRange, PutResult } from '../store/image-store.js';
import { UPLOAD_HEARTBEAT_MS } from './abandoned-uploads.js';
import type { ImageApiDeps, UploadFacts, UploadInspector } from './deps.js';
import { loadOwnedImage, loadVisibleImage } from './image-access.js';
import { mediaType } from './image-routes.js';

type IdParams = { Params: { id: string } };

/**
 * Image data: PUT /v2/images/{id}/file streams the request body into the store (never
 * buffered whole) while it is hashed and inspected; GET streams it back.
 * Status: queued → saving → active; a failed upload (too large, refused by an inspector,
 * client gone) goes back to queued and leaves no data behind; so does, a little later, one
 * whose API process died (abandoned-uploads.ts).
 */
export function registerDataRoutes(app: FastifyInstance, deps: ImageApiDeps): void {
  const { db, store } = deps;
  const cap = deps.config.image.image_size_cap;

  // The body stays a stream: the handler pipes it to the store. Only this plugin sees this parser.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.put<IdParams>('/v2/images/:id/file', { bodyLimit: cap }, async (req, reply) => {
    const ctx = requireAuth(req);
    const body = req.body;
    if (!(body instanceof Readable) || mediaType(req) !== 'application/octet-stream') {
      throw new PolyvisorError('unsupported_media_type', `Unsupported Content-Type "${mediaType(req) ?? ''}": image data is uploaded as application/octet-stream.`);
    }
    const row = await loadOwnedImage(db, ctx, req.params.id, 'upload_image');
    if (row.disk_format === null || row.container_format === null) {
      throw new InvalidInputError('Properties disk_format, container_format must be set prior to saving data.');
    }
    if (row.status !== 'queued') throw new ConflictError(`Image status transition from ${row.status} to saving is not allowed.`);
    await receiveData(req, deps, row, 'saving', 'active');
    return reply.code(204).send();
  });

  // Interoperable import, step 1 (Glance's stage): the data is stored and inspected as an upload
  // is, and the image waits in 'uploading' for POST /v2/images/{id}/import (import-routes.ts).
  app.put<IdParams>('/v2/images/:id/stage', { bodyLimit: cap }, async (req, reply) => {
    const ctx = requireAuth(req);
    if (!(req.body instanceof Readable) || mediaType(req) !== 'application/octet-stream') {
      throw new PolyvisorError('unsupported_media_type', `Unsupported Content-Type "${mediaType(req) ?? ''}": image data is staged as application/octet-stream.`);
    }
    const row = await loadOwnedImage(db, ctx, req.params.id, 'stage_image');
    if (row.status !== 'queued') throw new ConflictError(`Image status transition from ${row.status} to uploading is not allowed.`);
    await receiveData(req, deps, row, 'uploading', 'uploading');
    return reply.code(204).send();
  });

  app.get<IdParams>('/v2/images/:id/file', async (req, reply) => {
    const ctx = requireAuth(req);
    const { row } = await loadVisibleImage(db, ctx, req.params.id);
    if (row.status === 'deactivated' && !ctx.isAdmin) {
      throw new ForbiddenError('The requested image has been deactivated. Image data download is forbidden.');
    }
    // Staged data (status uploading) is not the image's data until it is imported.
    if (row.location === null || row.size === null || row.status === 'uploading') return reply.code(204).send();
    const range = parseRange(req.headers.range, row.size);
    const stream = await store.open(row.location, range);
    reply.header('content-type', 'application/octet-stream');
    if (range) {
      reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${row.size}`)
        .header('content-length', range.end - range.start + 1);
    } else {
      reply.header('content-length', row.size);
      if (row.checksum !== null) reply.header('content-md5', row.checksum);
    }
    return reply.send(stream);
  });
}

/**
 * Streams the request body into the store (inspected, capped) with the image claimed in
 * status `during`; on success records the data and facts with status `after`. A failure puts
 * the image back to queued with no data.
 */
async function receiveData(req: FastifyRequest, deps: ImageApiDeps, row: ImageRow, during: 'saving' | 'uploading', after: 'active' | 'uploading'): Promise<void> {
  const { db, store } = deps;
  const cap = deps.config.image.image_size_cap;
  const body = req.body as Readable;
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > cap) throw tooLarge(cap);

  const claimed = await updateImage(db, row.id, ['queued'], { status: during });
  if (!claimed) throw new ConflictError(`Image ${row.id} is no longer queued: another upload or a delete got there first.`);
  const inspectors = deps.inspectorsFor?.(claimed) ?? [];
  // Proof of life for the abandoned-upload sweeper (abandoned-uploads.ts).
  const heartbeat = setInterval(() => {
    updateImage(db, row.id, [during], {}).catch((e: unknown) => req.log.warn({ err: e }, 'could not record upload progress'));
  }, UPLOAD_HEARTBEAT_MS);
  let result: PutResult;
  try {
    result = await store.put(body, { observers: inspectors, maxSize: cap });
  } catch (err) {
    await updateImage(db, row.id, [during], { status: 'queued' }).catch((e: unknown) => req.log.error({ err: e }, 'could not requeue image'));
    throw uploadFailure(err, req);
  } finally {
    clearInterval(heartbeat);
  }
  const done = await updateImage(db, row.id, [during], dataFacts(claimed, result, inspectors, after));
  if (!done) {
    await store.delete(result.location);
    throw new ConflictError(`Image ${row.id} was deleted while its data was uploading; the data was discarded.`);
  }
  req.log.info({ image: row.id, size: result.size, status: after }, 'image data uploaded');
  if (after === 'active') deps.afterUpload?.(done);
}

/** The columns that record stored data and what its inspectors learnt. */
export function dataFacts(image: ImageRow, result: PutResult, inspectors: readonly UploadInspector[], status: string): ImageUpdate {
  const facts = collectFacts(inspectors);
  return {
    status,
    size: result.size,
    checksum: result.md5,
    os_hash_algo: 'sha512',
    os_hash_value: result.sha512,
    location: result.location,
    virtual_size: facts.virtualSize ?? null,
    ...(facts.properties ? { properties: JSON.stringify({ ...imageProperties(image), ...facts.properties }) } : {}),
  };
}

export function tooLarge(cap: number): TooLargeError {
  return new TooLargeError(`Image exceeds the size limit: at most ${cap} bytes may be uploaded ([image] image_size_cap).`);
}

/** Our own errors pass through; a stream that broke because the client went away says so. */
function uploadFailure(err: unknown, req: FastifyRequest): unknown {
  if (err instanceof PolyvisorError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (req.raw.destroyed || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new InvalidInputError(`The upload was interrupted before all data arrived (${errorMessage(err)}); the image stays queued.`);
  }
  return err;
}

function collectFacts(inspectors: readonly UploadInspector[]): UploadFacts {
  let virtualSize: number | undefined;
  let properties: Record<string, string> | undefined;
  for (const i of inspectors) {
    const f = i.facts?.();
    if (f?.virtualSize !== undefined) virtualSize = f.virtualSize;
    if (f?.properties) properties = { ...properties, ...f.properties };
  }
  return { ...(virtualSize === undefined ? {} : { virtualSize }), ...(properties === undefined ? {} : { properties }) };
}

/**
 * One `bytes=` range (first-last, first-, or -suffix). Anything else, or a range outside the
 * data, is ignored and the whole image is sent, as RFC 9110 allows.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || size === 0) return undefined;
  const [first, last] = [m[1] ?? '', m[2] ?? ''];
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const n = Math.min(Number(last), size);
    return n === 0 ? undefined : { start: size - n, end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return start > end || start >= size ? undefined : { start, end };
}
