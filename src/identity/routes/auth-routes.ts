import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthContext } from '../../api/context.js';
import { listProjectsOfUser } from '../../db/repos/identity-projects.js';
import { revokeToken } from '../../db/repos/identity-tokens.js';
import { ForbiddenError, InvalidInputError, PolyvisorError } from '../../errors.js';
import { parseAuthRequest } from '../auth-request.js';
import { tokenCatalog } from '../catalog.js';
import type { IdentityEnv } from '../deps.js';
import { queryFlag } from '../input.js';
import { login } from '../login.js';
import { forbidden } from '../policy.js';
import { tokenHash } from '../secrets.js';
import { resolveToken, type ResolvedToken } from '../tokens.js';
import { listLinks, projectView, tokenView } from '../views.js';
import { caller, header, query } from './request.js';

/** `/v3/auth/*`: issue, validate and revoke tokens; what the caller's token gives access to. */
export function authRoutes(app: FastifyInstance, env: IdentityEnv): void {
  app.post('/v3/auth/tokens', { config: { public: true } }, async (req, reply) => {
    const { token, resolved } = await login(env, parseAuthRequest(req.body), req.log);
    const catalog = queryFlag(query(req, 'nocatalog')) ? null : tokenCatalog(env.publicUrl());
    return reply.status(201).header('x-subject-token', token).send(tokenView(resolved, catalog));
  });

  app.get('/v3/auth/tokens', async (req, reply) => {
    const { subject, resolved } = await subjectToken(req, env);
    const catalog = queryFlag(query(req, 'nocatalog')) ? null : tokenCatalog(env.publicUrl());
    return reply.header('x-subject-token', subject).send(tokenView(resolved, catalog));
  });

  app.delete('/v3/auth/tokens', async (req, reply) => {
    const { resolved } = await subjectToken(req, env);
    await revokeToken(env.db, resolved.hash);
    env.revoked();
    req.log.info({ user_id: resolved.user.id, audit_id: resolved.auditIds[0] }, 'token revoked');
    return reply.status(204).send();
  });

  app.get('/v3/auth/projects', async (req) => {
    const ctx = caller(req);
    const projects = await listProjectsOfUser(env.db, ctx.userId, true);
    return { projects: projects.map((p) => projectView(p, env.v3Url())), links: listLinks(`${env.v3Url()}/auth/projects`) };
  });

  app.get('/v3/auth/catalog', async (req) => {
    const ctx = caller(req);
    if (ctx.projectId === null) throw new ForbiddenError('The service catalog is not available with an unscoped token.');
    return { catalog: tokenCatalog(env.publicUrl()), links: listLinks(`${env.v3Url()}/auth/catalog`) };
  });

  // Polyvisor grants roles on projects only, never on domains or the system.
  app.get('/v3/auth/domains', async (req) => {
    caller(req);
    return { domains: [], links: listLinks(`${env.v3Url()}/auth/domains`) };
  });
  app.get('/v3/auth/system', async (req) => {
    caller(req);
    return { system: [], links: listLinks(`${env.v3Url()}/auth/system`) };
  });
}

/**
 * The token named by X-Subject-Token. Any token of one's own user may be checked or revoked
 * (another session's too, as tempest does); another user's only by an admin or a service
 * (Keystone's service_admin_or_token_subject). As in Keystone, an unknown token is 404
 * before the policy check: tokens are unguessable, so that reveals nothing.
 */
async function subjectToken(req: FastifyRequest, env: IdentityEnv): Promise<{ subject: string; resolved: ResolvedToken }> {
  const ctx = caller(req);
  const subject = header(req, 'x-subject-token');
  if (subject === undefined || subject === '') throw new InvalidInputError('The X-Subject-Token header is required.');
  const resolved = await resolveToken(env.db, tokenHash(subject), env.clock());
  if (!resolved) throw new PolyvisorError('not_found', 'Could not find token: the X-Subject-Token is invalid, expired or revoked.');
  const own = header(req, 'x-auth-token') === subject || resolved.user.id === ctx.userId;
  if (!own && !mayCheckOthers(ctx)) throw forbidden(req.method === 'DELETE' ? 'revoke_token' : 'validate_token');
  return { subject, resolved };
}

function mayCheckOthers(ctx: AuthContext): boolean {
  return ctx.isAdmin || ctx.roles.includes('service');
}
