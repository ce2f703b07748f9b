import type { Db } from '../db/database.js';
import { getProject } from '../db/repos/identity-projects.js';
import { getLiveToken, insertToken, purgeExpiredTokens } from '../db/repos/identity-tokens.js';
import { getUser } from '../db/repos/identity-users.js';
import type { ProjectRow, UserRow } from '../db/schema.js';
import { effectiveRoles } from './implied-roles.js';
import { newToken, tokenHash } from './secrets.js';

/** A live token with everything its body shows, as of the moment it was resolved. */
export interface ResolvedToken {
  /** sha256 of the token: identifies it without being it. */
  readonly hash: string;
  readonly user: { readonly id: string; readonly name: string; readonly domainId: string };
  readonly project: { readonly id: string; readonly name: string; readonly domainId: string } | null;
  readonly roles: readonly { readonly id: string; readonly name: string }[];
  readonly methods: readonly string[];
  readonly auditIds: readonly string[];
  /** ISO-8601 UTC with milliseconds, as stored. */
  readonly issuedAt: string;
  readonly expiresAt: string;
}

/**
 * Resolves a token hash into what it grants now. A token is dead when it is revoked or
 * expired, when its user is gone or disabled, when its project is gone or disabled, or
 * when the user no longer holds any role on its project: roles are read at validation
 * time, so removing a grant takes effect on the next validation, as in Keystone.
 */
export async function resolveToken(db: Db, hash: string, nowMs: number): Promise<ResolvedToken | undefined> {
  const row = await getLiveToken(db, hash, new Date(nowMs).toISOString());
  if (!row) return undefined;
  const user = await getUser(db, row.user_id);
  if (!user || user.enabled !== 1) return undefined;
  let project: ProjectRow | undefined;
  let roles: { id: string; name: string }[] = [];
  if (row.project_id !== null) {
    project = await getProject(db, row.project_id);
    if (!project || project.enabled !== 1) return undefined;
    roles = await effectiveRoles(db, user.id, project.id);
    if (roles.length === 0) return undefined;
  }
  return {
    hash,
    user: userRef(user),
    project: project ? projectRef(project) : null,
    roles,
    methods: parseStrings(row.methods),
    auditIds: parseStrings(row.audit_ids),
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
  };
}

export interface TokenGrant {
  readonly user: UserRow;
  readonly project: ProjectRow | null;
  readonly roles: readonly { readonly id: string; readonly name: string }[];
  readonly methods: readonly string[];
  readonly auditIds: readonly string[];
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
}

/** Expired tokens are deleted at most this often, by whichever process issues a token. */
const PURGE_INTERVAL_MS = 60_000;
/** Kept a while after expiry, so that a validation racing the purge still answers 404 cleanly. */
const PURGE_GRACE_MS = 60_000;
const lastPurge = new WeakMap<Db, number>();

/** Stores a new token and returns the opaque value (shown once, to the caller) with its model. */
export async function issueToken(db: Db, g: TokenGrant): Promise<{ token: string; resolved: ResolvedToken }> {
  const token = newToken();
  const hash = tokenHash(token);
  const issuedAt = new Date(g.issuedAtMs).toISOString();
  const expiresAt = new Date(g.expiresAtMs).toISOString();
  await insertToken(db, {
    hash,
    userId: g.user.id,
    projectId: g.project?.id ?? null,
    issuedAt,
    expiresAt,
    methods: g.methods,
    auditIds: g.auditIds,
  });
  if ((lastPurge.get(db) ?? 0) + PURGE_INTERVAL_MS < g.issuedAtMs) {
    lastPurge.set(db, g.issuedAtMs);
    await purgeExpiredTokens(db, new Date(g.issuedAtMs - PURGE_GRACE_MS).toISOString());
  }
  return {
    token,
    resolved: {
      hash,
      user: userRef(g.user),
      project: g.project ? projectRef(g.project) : null,
      roles: g.roles,
      methods: g.methods,
      auditIds: g.auditIds,
      issuedAt,
      expiresAt,
    },
  };
}

function userRef(u: UserRow): ResolvedToken['user'] {
  return { id: u.id, name: u.name, domainId: u.domain_id };
}

function projectRef(p: ProjectRow): NonNullable<ResolvedToken['project']> {
  return { id: p.id, name: p.name, domainId: p.domain_id };
}

function parseStrings(text: string): string[] {
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
