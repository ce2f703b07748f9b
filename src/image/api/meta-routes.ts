import type { FastifyInstance } from 'fastify';
import type { ImageApiDeps } from './deps.js';
import { imageSchema, imagesSchema, memberSchema, membersSchema } from './schemas.js';

/**
 * Glance's API versions. Everything up to 2.9 is served by the same routes (2.6's import and
 * 2.8's stores info with them, import-routes.ts): later minor versions add the tasks, cache
 * and store-management APIs that Polyvisor does not offer, so advertising them would make
 * clients try what is not there.
 */
const CURRENT = 9;

function versions(base: string): { id: string; status: string; links: { rel: string; href: string }[] }[] {
  const out = [];
  for (let minor = CURRENT; minor >= 0; minor--) {
    out.push({ id: `v2.${minor}`, status: minor === CURRENT ? 'CURRENT' : 'SUPPORTED', links: [{ rel: 'self', href: `${base}/image/v2/` }] });
  }
  return out;
}

/** Version discovery (public, no token) and the schemas. */
export function registerMetaRoutes(app: FastifyInstance, deps: ImageApiDeps): void {
  // GET / answers 300 Multiple Choices, as Glance does; keystoneauth's discovery expects it.
  app.get('/', { config: { public: true } }, async (_req, reply) => reply.code(300).send({ versions: versions(deps.publicUrl()) }));
  app.get('/versions', { config: { public: true } }, async () => ({ versions: versions(deps.publicUrl()) }));

  app.get('/v2/schemas/image', async () => imageSchema());
  app.get('/v2/schemas/images', async () => imagesSchema());
  app.get('/v2/schemas/member', async () => memberSchema());
  app.get('/v2/schemas/members', async () => membersSchema());
}
