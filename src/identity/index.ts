import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { identityEnv, type IdentityDeps } from './deps.js';
import { acceptEmptyJson } from './routes/json-body.js';
import { assignmentRoutes } from './routes/assignment-routes.js';
import { authRoutes } from './routes/auth-routes.js';
import { catalogRoutes } from './routes/catalog-routes.js';
import { projectRoutes } from './routes/project-routes.js';
import { roleRoutes } from './routes/role-routes.js';
import { userRoutes } from './routes/user-routes.js';
import { versionRoutes } from './routes/version-routes.js';

export { createAuthenticator, TOKEN_CACHE_MS, type IdentityAuthenticator } from './authenticator.js';
export { bootstrap, type BootstrapOptions, type BootstrapResult } from './bootstrap.js';
export type { IdentityDeps } from './deps.js';
export type { Clock } from './clock.js';

/**
 * The Identity API (Keystone v3 subset), registered by the composition root with
 * `app.register(identityRoutes(deps), { prefix: '/identity' })`. See IdentityDeps for the
 * options.
 */
export function identityRoutes(deps: IdentityDeps): FastifyPluginAsync {
  const env = identityEnv(deps);
  return async (app: FastifyInstance) => {
    acceptEmptyJson(app);
    versionRoutes(app, env);
    authRoutes(app, env);
    projectRoutes(app, env);
    userRoutes(app, env);
    roleRoutes(app, env);
    assignmentRoutes(app, env);
    catalogRoutes(app, env);
  };
}
