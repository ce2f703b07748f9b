import type { FastifyPluginAsync } from 'fastify';
import { startAbandonedUploadSweeper } from './abandoned-uploads.js';
import { registerActionRoutes } from './action-routes.js';
import { registerDataRoutes } from './data-routes.js';
import type { ImageApiDeps } from './deps.js';
import { registerImageRoutes } from './image-routes.js';
import { registerImportRoutes } from './import-routes.js';
import { registerMemberRoutes } from './member-routes.js';
import { registerMetaRoutes } from './meta-routes.js';
import { registerTagRoutes } from './tag-routes.js';

/**
 * The Image API v2 plugin. Image data routes live in their own child context so that their
 * streaming octet-stream parser (and large body limit) applies to them alone; every other
 * route keeps the server's JSON parser and small limit.
 */
export function imageApi(deps: ImageApiDeps): FastifyPluginAsync {
  return async (app) => {
    registerMetaRoutes(app, deps);
    registerImageRoutes(app, deps);
    registerTagRoutes(app, deps);
    registerMemberRoutes(app, deps);
    registerActionRoutes(app, deps);
    registerImportRoutes(app, deps);
    await app.register(async (data) => registerDataRoutes(data, deps));
    if (deps.sweepAbandonedUploads !== false) {
      const stop = startAbandonedUploadSweeper(deps);
      app.addHook('onClose', async () => stop());
    }
  };
}
