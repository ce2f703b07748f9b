import type { FastifyInstance } from 'fastify';
import type { IdentityEnv } from '../deps.js';

/** The version Keystone reports for the v3 API we implement (Ussuri's, which the CLI and tempest accept). */
const VERSION = {
  id: 'v3.14',
  status: 'stable',
  updated: '2020-04-07T00:00:00Z',
  'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
} as const;

function versionDoc(env: IdentityEnv): Record<string, unknown> {
  return { ...VERSION, links: [{ rel: 'self', href: `${env.v3Url()}/` }] };
}

/** Version discovery: `GET /identity` (300 Multiple Choices, as Keystone) and `GET /identity/v3`. */
export function versionRoutes(app: FastifyInstance, env: IdentityEnv): void {
  app.get('/', { config: { public: true } }, async (_req, reply) => {
    return reply.status(300).send({ versions: { values: [versionDoc(env)] } });
  });
  app.get('/v3', { config: { public: true } }, async () => ({ version: versionDoc(env) }));
}
