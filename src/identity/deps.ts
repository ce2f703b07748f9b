import type { Authenticator } from '../api/context.js';
import type { Config } from '../config/options.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { isIdentityAuthenticator } from './authenticator.js';
import { systemClock, type Clock } from './clock.js';

/**
 * What the identity routes need.
 * - db: the shared database (projects, users, roles, role_assignments, tokens).
 * - config: `[token] expiration` sets token lifetime.
 * - logger: events (never passwords or tokens).
 * - publicUrl: the base URL clients reach (known once the server listens); the catalog
 *   and `links` are built from it on every request.
 * - authenticator: the one the API server uses; when it is ours, its cache is cleared
 *   whenever this API revokes something.
 * - clock: for tests that need time to pass (token expiry); defaults to the system clock.
 */
export interface IdentityDeps {
  readonly db: Db;
  readonly config: Config;
  readonly logger: Logger;
  readonly publicUrl: () => string;
  readonly authenticator: Authenticator;
  readonly clock?: Clock;
}

/** IdentityDeps with the optional parts settled, as the routes use them. */
export interface IdentityEnv {
  readonly db: Db;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly tokenSeconds: number;
  /** `${publicUrl}/identity/v3` */
  readonly v3Url: () => string;
  readonly publicUrl: () => string;
  /** Clears cached token validations after a revocation. */
  readonly revoked: () => void;
}

export function identityEnv(deps: IdentityDeps): IdentityEnv {
  const auth = deps.authenticator;
  return {
    db: deps.db,
    logger: deps.logger,
    clock: deps.clock ?? systemClock,
    tokenSeconds: deps.config.token.expiration,
    publicUrl: deps.publicUrl,
    v3Url: () => `${deps.publicUrl().replace(/\/+$/, '')}/identity/v3`,
    revoked: () => {
      if (isIdentityAuthenticator(auth)) auth.invalidate();
    },
  };
}
