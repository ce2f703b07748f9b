import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { createApiServer } from '../../src/api/server.js';
import { configFromText } from '../../src/config/load.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import type { ImageRow } from '../../src/db/schema.js';
import { createImageStore, imageRoutes, type UploadInspector } from '../../src/image/index.js';
import { silentLogger } from '../../src/log.js';
import { openTestSqlite } from '../support/databases.js';
import { fakeAuthenticator } from '../support/fake-auth.js';

/** An API server with only the image routes, on a fresh SQLite database and a temp store. */
export interface ImageHarness {
  readonly app: FastifyInstance;
  readonly handle: DatabaseHandle;
  readonly storeDir: string;
  /** Files in the store directory (committed images and any temporary upload files). */
  storeFiles(): string[];
  call(token: string, method: NonNullable<InjectOptions['method']>, url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** POST /image/v2/images as `token`; returns the created image body. */
  create(token: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startImageApi(
  options: {
    sizeCap?: number;
    /** More [image] options, one `key = value` a line. */
    imageOptions?: string;
    inspectorsFor?: (image: ImageRow) => UploadInspector[];
    /** Runs before the routes are registered (hooks must be added before the server is ready). */
    setup?: (app: FastifyInstance) => void;
  } = {},
): Promise<ImageHarness> {
  const stateDir = mkdtempSync(join(tmpdir(), 'polyvisor-image-'));
  const ini = `[DEFAULT]\nstate_path = ${stateDir}\n[image]\n${options.sizeCap === undefined ? '' : `image_size_cap = ${options.sizeCap}\n`}${options.imageOptions ?? ''}\n`;
  const { config } = configFromText(ini);
  const handle = await openTestSqlite();
  const app = createApiServer({ logger: silentLogger, authenticator: fakeAuthenticator, maxBodySize: config.api.max_request_body_size });
  const store = createImageStore(config);
  options.setup?.(app);
  await app.register(
    imageRoutes({
      db: handle.db,
      config,
      logger: silentLogger,
      store,
      publicUrl: () => 'http://polyvisor.test:8774',
      ...(options.inspectorsFor ? { inspectorsFor: options.inspectorsFor } : {}),
    }),
    { prefix: '/image' },
  );
  await app.ready();
  const storeDir = config.glance_store.filesystem_store_datadir;
  const call: ImageHarness['call'] = (token, method, url, body, headers = {}) =>
    app.inject({
      method,
      url,
      headers: { 'x-auth-token': token, ...(body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body) ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body === undefined ? {} : { payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    });
  return {
    app,
    handle,
    storeDir,
    storeFiles: () => {
      try {
        return readdirSync(storeDir);
      } catch {
        return [];
      }
    },
    call,
    async create(token, body) {
      const res = await call(token, 'POST', '/image/v2/images', body);
      if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
      return res.json<Record<string, unknown>>();
    },
    async close() {
      await app.close();
      await handle.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export const PATCH = { 'content-type': 'application/openstack-images-v2.1-json-patch' };
export const OCTET = { 'content-type': 'application/octet-stream' };
