import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { requireAuth } from '../../api/server.js';
import { getImage, imageProperties, updateImage } from '../../db/repos/images.js';
import type { ImageRow } from '../../db/schema.js';
import { ConflictError, ForbiddenError, InvalidInputError, errorMessage } from '../../errors.js';
import { UPLOAD_HEARTBEAT_MS } from './abandoned-uploads.js';
import { dataFacts, tooLarge } from './data-routes.js';
import type { ImageApiDeps } from './deps.js';
import { loadOwnedImage } from './image-access.js';
import { IMPORT_METHODS, STORE_ID } from './import-offer.js';

type IdParams = { Params: { id: string } };

/**
 * Glance's interoperable image import, with one store named 'file' (the local image store):
 * GET /v2/info/import, GET /v2/info/stores, POST /v2/images/{id}/import (the stage step is
 * PUT /v2/images/{id}/stage in data-routes.ts).
 *
 * Methods: glance-direct (staged data becomes the image's), web-download (the data is fetched
 * from an http(s) URL whose host and port the operator allows: [image]
 * web_download_allowed_hosts / web_download_allowed_ports; nothing is allowed by default) and
 * copy-image (copies an active image to stores it is not in yet; with one store there is never
 * anything to copy, and the import finishes at once with no store left and none failed).
 *
 * As Glance does, an import answers 202 and runs in the background: the image is 'importing'
 * with os_glance_import_task and os_glance_importing_to_stores set; on success it is active with
 * os_glance_importing_to_stores and os_glance_failed_import empty; on failure it goes back to
 * the status it had (queued for web-download, data discarded) with os_glance_failed_import
 * naming the store. The tasks API (Image 2.12) is not offered, so the task id names no task.
 * web-download follows no redirects (a redirect is a failed import): each hop would otherwise
 * have to pass the host filter again.
 */

const running = new Set<Promise<void>>();

/** Resolves once every import started so far has finished (for tests). */
export async function importsSettled(): Promise<void> {
  while (running.size > 0) await Promise.allSettled([...running]);
}

export function registerImportRoutes(app: FastifyInstance, deps: ImageApiDeps): void {
  const { db } = deps;

  app.get('/v2/info/import', async (req) => {
    requireAuth(req);
    return { 'import-methods': { description: 'Import methods available.', type: 'array', value: [...IMPORT_METHODS] } };
  });

  app.get('/v2/info/stores', async (req) => {
    requireAuth(req);
    return { stores: [{ id: STORE_ID, description: 'Local file store of this Polyvisor.', default: true }] };
  });

  app.post<IdParams & { Body: unknown }>('/v2/images/:id/import', async (req, reply) => {
    const ctx = requireAuth(req);
    const request = parseImportBody(req.body);
    const row = await loadOwnedImage(db, ctx, req.params.id, 'import_image');
    if (request.method === 'copy-image' && !ctx.isAdmin) throw new ForbiddenError('Policy does not allow copy-image: only an admin may copy an image to other stores.');
    if (row.container_format === null) throw new ConflictError("'container_format' needs to be set before import");
    if (row.disk_format === null) throw new ConflictError("'disk_format' needs to be set before import");

    const taskId = randomUUID();
    let from: string;
    if (request.method === 'glance-direct') {
      if (row.status !== 'uploading') throw new ConflictError("Image needs to be staged before 'glance-direct' method can be used");
      from = 'uploading';
    } else if (request.method === 'web-download') {
      if (row.status !== 'queued') throw new ConflictError("Image needs to be in 'queued' state to use 'web-download' method");
      if (!uriAllowed(request.uri ?? '', deps)) throw new InvalidInputError(`URI for web-download does not pass filtering: ${request.uri ?? ''}`);
      from = 'queued';
    } else {
      if (row.status !== 'active') throw new ConflictError("Image needs to be in 'active' state to use 'copy-image' method");
      // The image is in every store there is: nothing to copy.
      await setImportProperties(deps, row.id, ['active'], {}, { os_glance_importing_to_stores: '', os_glance_failed_import: '' });
      req.log.info({ image: row.id }, 'copy-image: the image is already in every store');
      return reply.code(202).send();
    }
    const claimed = await setImportProperties(deps, row.id, [from], { status: 'importing' }, {
      os_glance_import_task: taskId,
      os_glance_importing_to_stores: STORE_ID,
      os_glance_failed_import: '',
    });
    if (!claimed) throw new ConflictError(`Image ${row.id} changed status while the import was requested; try again.`);
    req.log.info({ image: row.id, method: request.method, task: taskId }, 'image import started');
    const job = runImport(deps, claimed, request, from).finally(() => running.delete(job));
    running.add(job);
    return reply.code(202).send();
  });
}

interface ImportRequest {
  readonly method: (typeof IMPORT_METHODS)[number];
  readonly uri?: string;
}

/** Glance's ad-hoc checks of the import body, with its messages. */
function parseImportBody(body: unknown): ImportRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInputError('Import request requires a JSON object body.');
  const b = body as Record<string, unknown>;
  const method = b['method'];
  if (typeof method !== 'object' || method === null) throw new InvalidInputError("Import request requires a 'method' field.");
  const name = (method as Record<string, unknown>)['name'];
  if (name === undefined) throw new InvalidInputError("Import request requires a 'name' field.");
  if (typeof name !== 'string' || !(IMPORT_METHODS as readonly string[]).includes(name)) throw new InvalidInputError(`Unknown import method name '${typeof name === 'string' ? name : JSON.stringify(name)}'.`);
  const stores = b['stores'];
  if (stores !== undefined && stores !== null) {
    if (b['all_stores'] === true) throw new InvalidInputError("All_stores parameter can't be used with x-image-meta-store header or stores parameter");
    if (!Array.isArray(stores)) throw new InvalidInputError("'stores' must be a list of store identifiers.");
    for (const s of stores) if (s !== STORE_ID) throw new InvalidInputError(`Unknown store identifier '${String(s)}': the only store is '${STORE_ID}'.`);
  }
  if (name === 'web-download') {
    const uri = (method as Record<string, unknown>)['uri'];
    if (typeof uri !== 'string' || uri === '') throw new InvalidInputError("Import method web-download requires a 'uri' parameter.");
    return { method: name, uri };
  }
  return { method: name as ImportRequest['method'] };
}

/**
 * Glance's import filtering, refusing by default: http or https only, the host exactly one of
 * [image] web_download_allowed_hosts, the port (80/443 when none is given) one of
 * web_download_allowed_ports.
 */
export function uriAllowed(uri: string, deps: Pick<ImageApiDeps, 'config'>): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username !== '' || url.password !== '') return false;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  const { web_download_allowed_hosts: hosts, web_download_allowed_ports: ports } = deps.config.image;
  return hosts.some((h) => h.toLowerCase() === host) && ports.includes(port);
}

/** Sets columns and merges properties, when the image is in one of `expected` statuses. */
async function setImportProperties(
  deps: ImageApiDeps,
  id: string,
  expected: readonly string[],
  columns: Parameters<typeof updateImage>[3],
  properties: Record<string, string | null>,
): Promise<ImageRow | undefined> {
  const row = await getImage(deps.db, id);
  if (!row || !expected.includes(row.status)) return undefined;
  return updateImage(deps.db, id, expected, { ...columns, properties: JSON.stringify(mergeProps(imageProperties(row), properties)) });
}

function mergeProps(props: Record<string, unknown>, changes: Record<string, string | null>): Record<string, unknown> {
  const out = { ...props };
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Glance drops the task lock when an import ends and records which stores got the data. */
const DONE = { os_glance_import_task: null, os_glance_importing_to_stores: '', os_glance_failed_import: '' } as const;
const FAILED = { os_glance_import_task: null, os_glance_importing_to_stores: '', os_glance_failed_import: STORE_ID } as const;

async function runImport(deps: ImageApiDeps, image: ImageRow, request: ImportRequest, from: string): Promise<void> {
  const log = deps.logger;
  try {
    if (request.method === 'glance-direct') {
      const done = await setImportProperties(deps, image.id, ['importing'], { status: 'active' }, DONE);
      if (done) deps.afterUpload?.(done);
      log.info({ image: image.id }, 'glance-direct import finished');
      return;
    }
    const done = await webDownload(deps, image, request.uri ?? '');
    if (done) deps.afterUpload?.(done);
    log.info({ image: image.id }, 'web-download import finished');
  } catch (err) {
    log.warn({ image: image.id, method: request.method, err: errorMessage(err) }, 'image import failed');
    await setImportProperties(deps, image.id, ['importing'], { status: from }, FAILED).catch((e: unknown) =>
      log.error({ image: image.id, err: errorMessage(e) }, 'could not record the failed import'),
    );
  }
}

const DOWNLOAD_TIMEOUT_MS = 10 * 60 * 1000;

async function webDownload(deps: ImageApiDeps, image: ImageRow, uri: string): Promise<ImageRow | undefined> {
  const cap = deps.config.image.image_size_cap;
  const res = await fetch(uri, { redirect: 'manual', signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  if (res.status !== 200 || res.body === null) {
    await res.body?.cancel();
    throw new Error(`GET ${uri} answered ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}`);
  }
  if (Number(res.headers.get('content-length') ?? NaN) > cap) {
    await res.body.cancel();
    throw tooLarge(cap);
  }
  const inspectors = deps.inspectorsFor?.(image) ?? [];
  // Proof of life for the abandoned-upload sweeper, as uploads give (abandoned-uploads.ts).
  const heartbeat = setInterval(() => {
    updateImage(deps.db, image.id, ['importing'], {}).catch((e: unknown) => deps.logger.warn({ err: errorMessage(e) }, 'could not record download progress'));
  }, UPLOAD_HEARTBEAT_MS);
  let result;
  try {
    result = await deps.store.put(Readable.fromWeb(res.body), { observers: inspectors, maxSize: cap });
  } finally {
    clearInterval(heartbeat);
  }
  const current = await getImage(deps.db, image.id);
  let done: ImageRow | undefined;
  if (current && current.status === 'importing') {
    const facts = dataFacts(current, result, inspectors, 'active');
    const props = typeof facts.properties === 'string' ? (JSON.parse(facts.properties) as Record<string, unknown>) : imageProperties(current);
    done = await updateImage(deps.db, image.id, ['importing'], { ...facts, properties: JSON.stringify(mergeProps(props, DONE)) });
  }
  if (!done) {
    await deps.store.delete(result.location);
    deps.logger.info({ image: image.id }, 'image deleted while its data was downloading; the data was discarded');
  }
  return done;
}
