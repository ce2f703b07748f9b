import { getProject, getProjectByName } from '../db/repos/identity-projects.js';
import { getUser, getUserByName } from '../db/repos/identity-users.js';
import type { ProjectRow, UserRow } from '../db/schema.js';
import { UnauthorizedError } from '../errors.js';
import type { AuthRequest, ProjectSelector, UserSelector } from './auth-request.js';
import type { IdentityEnv } from './deps.js';
import type { EventLog } from './event-log.js';
import { isDefaultDomain } from './domains.js';
import { effectiveRoles } from './implied-roles.js';
import { burnPasswordCheck, verifyPassword } from './passwords.js';
import { newAuditId, tokenHash } from './secrets.js';
import { issueToken, resolveToken, type ResolvedToken } from './tokens.js';

/**
 * POST /v3/auth/tokens: establishes who the caller is (password, or an existing token
 * for rescoping), picks the scope, and issues a token. Every failure is the same 401,
 * so a caller learns nothing about which users or projects exist.
 */
export async function login(env: IdentityEnv, req: AuthRequest, log: EventLog): Promise<{ token: string; resolved: ResolvedToken }> {
  const now = env.clock();
  let user: UserRow;
  let methods: string[];
  let auditIds: string[];
  let expiresAtMs = now + env.tokenSeconds * 1000;
  if (req.identity.method === 'password') {
    user = await checkPassword(env, log, req.identity.user, req.identity.password);
    methods = ['password'];
    auditIds = [newAuditId()];
  } else {
    const parent = await resolveToken(env.db, tokenHash(req.identity.token), now);
    const found = parent ? await getUser(env.db, parent.user.id) : undefined;
    if (!parent || !found) throw denied(log, 'token', 'the token is invalid, expired or revoked');
    user = found;
    // A rescoped token never outlives the one it came from, and keeps its audit chain.
    methods = ['token', ...parent.methods.filter((m) => m !== 'token')];
    auditIds = [newAuditId(), parent.auditIds[parent.auditIds.length - 1] ?? parent.auditIds[0] ?? newAuditId()];
    expiresAtMs = Math.min(expiresAtMs, Date.parse(parent.expiresAt));
  }

  let project: ProjectRow | null = null;
  let roles: { id: string; name: string }[] = [];
  switch (req.scope.kind) {
    case 'unsupported':
      throw denied(log, user.id, 'only project scope is supported');
    case 'unscoped':
      break;
    case 'project': {
      const p = await findProject(env, req.scope.project);
      if (!p || p.enabled !== 1) throw denied(log, user.id, 'project not found or disabled');
      roles = await effectiveRoles(env.db, user.id, p.id);
      if (roles.length === 0) throw denied(log, user.id, 'no role on the project');
      project = p;
      break;
    }
    case 'default': {
      // Keystone: without a scope, the user's default project if they hold a role there.
      if (user.default_project_id === null) break;
      const p = await getProject(env.db, user.default_project_id);
      if (!p || p.enabled !== 1) break;
      const r = await effectiveRoles(env.db, user.id, p.id);
      if (r.length > 0) {
        project = p;
        roles = r;
      }
      break;
    }
  }

  const issued = await issueToken(env.db, { user, project, roles, methods, auditIds, issuedAtMs: now, expiresAtMs });
  log.info({ user_id: user.id, project_id: project?.id ?? null, methods, audit_id: auditIds[0] }, 'token issued');
  return issued;
}

async function checkPassword(env: IdentityEnv, log: EventLog, sel: UserSelector, password: string): Promise<UserRow> {
  const user = await findUser(env, sel);
  if (!user) {
    await burnPasswordCheck(password);
    throw denied(log, 'id' in sel ? sel.id : sel.name, 'no such user');
  }
  if (!(await verifyPassword(password, user.password_hash))) throw denied(log, user.id, 'wrong password');
  if (user.enabled !== 1) throw denied(log, user.id, 'user disabled');
  return user;
}

async function findUser(env: IdentityEnv, sel: UserSelector): Promise<UserRow | undefined> {
  if ('id' in sel) return getUser(env.db, sel.id);
  if (!isDefaultDomain(sel.domain)) return undefined;
  return getUserByName(env.db, sel.name);
}

async function findProject(env: IdentityEnv, sel: ProjectSelector): Promise<ProjectRow | undefined> {
  if ('id' in sel) return getProject(env.db, sel.id);
  if (!isDefaultDomain(sel.domain)) return undefined;
  return getProjectByName(env.db, sel.name);
}

/** The one answer to every failed authentication; the reason goes to the log only. */
function denied(log: EventLog, who: string, reason: string): UnauthorizedError {
  log.warn({ who, reason }, 'authentication failed');
  return new UnauthorizedError();
}
