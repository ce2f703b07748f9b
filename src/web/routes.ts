import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Authenticator } from '../api/context.js';
import type { Bus } from '../db/bus.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { eventStreamRoute } from './event-stream.js';
import { InstanceFeed } from './instance-feed.js';

export interface WebDeps {
  readonly db: Db;
  readonly bus: Bus;
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  /** Where the bundled browser app is (default: dist/web/web of this checkout, built by scripts/build-web.mjs). */
  readonly bundleDir?: string;
}

/** The files the dashboard page is made of; anything else under /dashboard/ is the API's 404. */
const ASSETS = new Set(['index.html', 'main.js', 'main.js.map', 'style.css']);

/**
 * Content Security Policy of the dashboard: its own scripts and the APIs of this origin
 * only (no CDN, no outside fonts), inline style attributes allowed (Preact sets them).
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The web dashboard, served by the API process on its own port: `/` redirects to
 * `/dashboard/`, which serves the bundled Preact app (static, no token needed), and
 * `/dashboard/events` is its live instance stream (token needed, as for any API call).
 * The browser talks only to /identity/v3, /compute/v2.1 and /image/v2 of this origin.
 */
export function webRoutes(deps: WebDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const root = deps.bundleDir ?? defaultBundleDir();
    await app.register(fastifyStatic, { root, serve: false, decorateReply: true });
    const feed = new InstanceFeed(deps.db, deps.bus, deps.logger);
    app.addHook('onClose', async () => feed.close());

    app.get('/', { config: { public: true } }, async (_req, reply) => reply.redirect('/dashboard/'));

    const page = async (file: string, reply: FastifyReply) => {
      if (!existsSync(join(root, file))) {
        return reply
          .status(503)
          .type('text/plain; charset=utf-8')
          .send('The dashboard is not built: run `node scripts/build-web.mjs` (or `npm run build`) in the Polyvisor checkout.');
      }
      reply.header('content-security-policy', CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      // The page names no versioned assets: the browser must ask again after an upgrade.
      reply.header('cache-control', 'no-cache');
      return reply.sendFile(file);
    };
    // The router ignores trailing slashes; the page's relative asset URLs need one.
    app.get('/dashboard/', { config: { public: true } }, async (req, reply) =>
      req.url.split('?')[0]?.endsWith('/') ? page('index.html', reply) : reply.redirect('/dashboard/'),
    );
    app.get<{ Params: { file: string } }>('/dashboard/:file', { config: { public: true } }, async (req, reply) => {
      const file = req.params.file;
      if (!ASSETS.has(file)) return reply.callNotFound();
      return page(file, reply);
    });

    eventStreamRoute(app, { feed, authenticator: deps.authenticator, logger: deps.logger });
  };
}

/** dist/web/web of the checkout this module runs from (src/web through tsx, or dist/src/web when compiled). */
function defaultBundleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'web', 'web');
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'web', 'web');
}
