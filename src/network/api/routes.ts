import type { FastifyPluginAsync } from 'fastify';

/**
 * The Networking API's discovery surface, registered at /network. Polyvisor has no
 * networking service yet; clients that insist on finding a `network` endpoint in the
 * catalog (the openstack CLI's `availability zone list` builds a network client before
 * it asks anything) learn here, truthfully, that it offers no extensions and no zones.
 * Everything else under /network answers 404.
 */
export function networkRoutes(deps: { publicUrl: () => string }): FastifyPluginAsync {
  return async (app) => {
    const v2 = () => `${deps.publicUrl()}/network/v2.0/`;
    const versions = () => ({ versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ rel: 'self', href: v2() }] }] });
    app.get('/', { config: { public: true } }, async () => versions());
    app.get('/v2.0', { config: { public: true } }, async () => ({ resources: [] }));
    app.get('/v2.0/extensions', async () => ({ extensions: [] }));
    app.get('/v2.0/availability_zones', async () => ({ availability_zones: [] }));
  };
}
