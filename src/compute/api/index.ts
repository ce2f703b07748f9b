import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { aggregateRoutes } from './aggregates/aggregate-routes.js';
import { availabilityZoneRoutes } from './admin/availability-zone-routes.js';
import { hostRoutes } from './admin/host-routes.js';
import { hypervisorRoutes } from './admin/hypervisor-routes.js';
import { usageRoutes } from './admin/usage-routes.js';
import { serviceRoutes } from './admin/service-routes.js';
import type { ComputeDeps } from './deps.js';
import { extraSpecsRoutes } from './flavors/extra-specs-routes.js';
import { flavorAccessRoutes } from './flavors/flavor-access-routes.js';
import { flavorRoutes } from './flavors/flavor-routes.js';
import { keypairRoutes } from './keypairs/keypair-routes.js';
import { negotiateVersion } from './microversion.js';
import { limitsRoutes } from './quotas/limits-routes.js';
import { quotaSetRoutes } from './quotas/quota-routes.js';
import { remoteConsoleRoutes } from './servers/console-actions.js';
import { createServerRoute } from './servers/create-server.js';
import { instanceActionRoutes } from './servers/instance-actions.js';
import { migrationRoutes } from './servers/migration-routes.js';
import { diagnosticsRoute } from './servers/diagnostics-route.js';
import { serverActionRoutes } from './servers/server-actions.js';
import { serverMetadataRoutes } from './servers/server-metadata.js';
import { serverPasswordRoutes } from './servers/server-password.js';
import { serverTagRoutes } from './servers/server-tags.js';
import { serverRoutes } from './servers/server-routes.js';
import { serverGroupRoutes } from './server-groups/server-group-routes.js';
import { extensionRoutes } from './images/extension-routes.js';
import { imageProxyRoutes } from './images/image-proxy-routes.js';
import { schemaErrorFormatter } from './validation.js';
import { versionDocRoute, versionRootRoute } from './versions.js';

export type { ComputeDeps } from './deps.js';
export { seedDefaultFlavors } from '../../db/repos/flavors.js';

/** Every v2.1 resource, registered once per URL form. */
function v21Routes(app: FastifyInstance, deps: ComputeDeps, withVersionDoc: boolean): void {
  app.setSchemaErrorFormatter(schemaErrorFormatter);
  app.addHook('onRequest', async (req, reply) => negotiateVersion(req, reply));
  if (withVersionDoc) versionDocRoute(app, deps);
  createServerRoute(app, deps);
  serverRoutes(app, deps);
  serverActionRoutes(app, deps);
  remoteConsoleRoutes(app, deps);
  serverMetadataRoutes(app, deps);
  instanceActionRoutes(app, deps);
  migrationRoutes(app, deps);
  diagnosticsRoute(app, deps);
  serverTagRoutes(app, deps);
  serverPasswordRoutes(app, deps);
  flavorRoutes(app, deps);
  extraSpecsRoutes(app, deps);
  flavorAccessRoutes(app, deps);
  keypairRoutes(app, deps);
  limitsRoutes(app, deps);
  quotaSetRoutes(app, deps);
  availabilityZoneRoutes(app, deps);
  hypervisorRoutes(app, deps);
  serviceRoutes(app, deps);
  aggregateRoutes(app, deps);
  serverGroupRoutes(app, deps);
  imageProxyRoutes(app, deps);
  extensionRoutes(app);
  hostRoutes(app, deps);
  usageRoutes(app, deps);
}

/**
 * The Compute API v2.1 as a Fastify plugin; the composition root registers it with
 * `app.register(computeRoutes(deps), { prefix: '/compute' })` on the server from
 * createApiServer, and calls `seedDefaultFlavors(db)` once at start. Resources answer
 * under `/compute/v2.1/...` and, for catalogs that put the project in the endpoint
 * (`.../v2.1/$(project_id)s`), under `/compute/v2.1/{project_id}/...` too.
 * See ComputeDeps for the options.
 */
export function computeRoutes(deps: ComputeDeps): FastifyPluginAsync {
  return async (app) => {
    versionRootRoute(app, deps);
    await app.register(async (v) => v21Routes(v, deps, true), { prefix: '/v2.1' });
    await app.register(async (v) => v21Routes(v, deps, false), { prefix: '/v2.1/:project_id' });
  };
}
