import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ComputeDeps } from './deps.js';
import { MAX_VERSION, MIN_VERSION, versionString } from './microversion.js';

/** The version documents: `GET /compute/` (all versions) and `GET /compute/v2.1` (this one). */
function v21(deps: ComputeDeps) {
  const base = `${deps.publicUrl().replace(/\/+$/, '')}/compute`;
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: versionString(MAX_VERSION),
    min_version: versionString(MIN_VERSION),
    updated: '2013-07-23T11:33:21Z',
    links: [
      { rel: 'self', href: `${base}/v2.1/` },
      { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
}

/**
 * Nova still lists the legacy v2.0 API first (tempest checks that); we serve it only as
 * its version document at /compute/v2/, so the link a client follows from the list works.
 */
function v20(deps: ComputeDeps) {
  const base = `${deps.publicUrl().replace(/\/+$/, '')}/compute`;
  return {
    id: 'v2.0',
    status: 'SUPPORTED',
    version: '',
    min_version: '',
    updated: '2011-01-21T11:33:21Z',
    links: [
      { rel: 'self', href: `${base}/v2/` },
      { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2' }],
  };
}

export function versionRootRoute(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/', { config: { public: true } }, async () => {
    const summary = (v: ReturnType<typeof v21>) => ({ id: v.id, status: v.status, version: v.version, min_version: v.min_version, updated: v.updated, links: [v.links[0]] });
    return { versions: [summary(v20(deps)), summary(v21(deps))] };
  });
  app.get('/v2', { config: { public: true } }, async () => ({ version: v20(deps) }));
}

/** Registered inside the /v2.1 scope, so it answers with the negotiated version headers. */
export function versionDocRoute(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/', { config: { public: true } }, async (_req: FastifyRequest) => ({ version: v21(deps) }));
}
