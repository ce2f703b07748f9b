import type { AuthContext, Authenticator } from '../api/context.js';
import type { Config } from '../config/options.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { keystoneTime, systemClock, type Clock } from './clock.js';
import { tokenHash } from './secrets.js';
import { resolveToken, type ResolvedToken } from './tokens.js';

/**
 * How long a validated token is trusted without asking the database again. Revocations
 * made through this process clear the cache at once; API processes that share a
 * PostgreSQL database see another process's revocation (token delete, user or project
 * disabled or deleted, grant removed, password changed) within this delay at most.
 */
export const TOKEN_CACHE_MS = 2_000;
/** Bounds memory under a flood of distinct tokens; the oldest entries go first. */
const MAX_CACHED = 10_000;

/** An Authenticator whose cache the identity API clears when it revokes something. */
export interface IdentityAuthenticator extends Authenticator {
  /** Forgets every cached validation (after a revocation in this process). */
  invalidate(): void;
  /** The full token model, bypassing the cache (for X-Subject-Token validation). */
  resolve(token: string): Promise<ResolvedToken | undefined>;
}

export function isIdentityAuthenticator(a: Authenticator): a is IdentityAuthenticator {
  return 'invalidate' in a && typeof a.invalidate === 'function' && 'resolve' in a && typeof a.resolve === 'function';
}

export function contextOf(t: ResolvedToken): AuthContext {
  const roles = t.roles.map((r) => r.name);
  return {
    userId: t.user.id,
    userName: t.user.name,
    projectId: t.project?.id ?? null,
    projectName: t.project?.name ?? null,
    roles,
    isAdmin: roles.includes('admin'),
    expiresAt: keystoneTime(t.expiresAt),
  };
}

interface Entry {
  readonly ctx: AuthContext;
  /** The entry is used until this instant: the earlier of cache lifetime and token expiry. */
  readonly until: number;
}

class TokenAuthenticator implements IdentityAuthenticator {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #cache = new Map<string, Entry>();

  constructor(db: Db, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  async authenticate(token: string): Promise<AuthContext | undefined> {
    const hash = tokenHash(token);
    const now = this.#clock();
    const hit = this.#cache.get(hash);
    if (hit && now < hit.until) return hit.ctx;
    if (hit) this.#cache.delete(hash);
    const resolved = await resolveToken(this.#db, hash, now);
    if (!resolved) return undefined;
    const ctx = contextOf(resolved);
    if (this.#cache.size >= MAX_CACHED) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(hash, { ctx, until: Math.min(now + TOKEN_CACHE_MS, Date.parse(resolved.expiresAt)) });
    return ctx;
  }

  async resolve(token: string): Promise<ResolvedToken | undefined> {
    return resolveToken(this.#db, tokenHash(token), this.#clock());
  }

  invalidate(): void {
    this.#cache.clear();
  }
}

/**
 * The Authenticator every API uses: opaque tokens looked up by their sha256, with a short
 * in-process cache (TOKEN_CACHE_MS). `clock` is for tests that need time to pass.
 */
export function createAuthenticator(db: Db, _config: Config, _logger?: Logger, clock: Clock = systemClock): IdentityAuthenticator {
  return new TokenAuthenticator(db, clock);
}
