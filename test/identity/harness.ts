import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { createApiServer } from '../../src/api/server.js';
import { configFromText } from '../../src/config/load.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { bootstrap, createAuthenticator, identityRoutes, type IdentityAuthenticator } from '../../src/identity/index.js';

export const ADMIN_PASSWORD = 'Adm1n-secret-pa55';
export const BASE = 'http://cloud.test:8774';

/** The identity API on an open database, with the real authenticator and a clock the test moves. */
export interface IdentityHarness {
  readonly app: FastifyInstance;
  readonly h: DatabaseHandle;
  readonly authenticator: IdentityAuthenticator;
  /** Moves the shared clock forward. */
  advance(ms: number): void;
  call(method: InjectOptions['method'], url: string, token?: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** Password login; returns the X-Subject-Token and the token body. */
  login(name: string, password: string, projectName?: string): Promise<{ token: string; body: Record<string, unknown> }>;
  /** An admin token scoped to the admin project. */
  readonly adminToken: string;
  readonly adminUserId: string;
  readonly adminProjectId: string;
  close(): Promise<void>;
}

export async function startIdentity(h: DatabaseHandle, options: { logger?: Logger; tokenSeconds?: number } = {}): Promise<IdentityHarness> {
  const logger = options.logger ?? silentLogger;
  const { config } = configFromText(`[token]\nexpiration = ${options.tokenSeconds ?? 3600}\n`);
  let offset = 0;
  const clock = () => Date.now() + offset;
  const authenticator = createAuthenticator(h.db, config, logger, clock);
  const app = createApiServer({ logger, authenticator, maxBodySize: 65536 });
  await app.register(identityRoutes({ db: h.db, config, logger, publicUrl: () => BASE, authenticator, clock }), { prefix: '/identity' });
  await app.ready();
  const boot = await bootstrap(h.db, { adminUsername: 'admin', adminPassword: ADMIN_PASSWORD, projectName: 'admin' });

  const call: IdentityHarness['call'] = (method, url, token, body, headers = {}) => {
    const opts: InjectOptions = { method: method ?? 'GET', url, headers: { ...headers } };
    if (token !== undefined) opts.headers = { ...opts.headers, 'x-auth-token': token };
    if (body !== undefined) opts.payload = typeof body === 'string' ? body : JSON.stringify(body);
    if (body !== undefined) opts.headers = { ...opts.headers, 'content-type': 'application/json' };
    return app.inject(opts);
  };
  const login: IdentityHarness['login'] = async (name, password, projectName) => {
    const res = await call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth(name, password, projectName));
    if (res.statusCode !== 201) throw new Error(`login of ${name} failed: ${res.statusCode} ${res.body}`);
    return { token: String(res.headers['x-subject-token']), body: res.json<Record<string, unknown>>() };
  };
  const admin = await login('admin', ADMIN_PASSWORD, 'admin');
  return {
    app,
    h,
    authenticator,
    advance: (ms) => {
      offset += ms;
    },
    call,
    login,
    adminToken: admin.token,
    adminUserId: boot.userId,
    adminProjectId: boot.projectId,
    close: async () => {
      await app.close();
      await h.close();
    },
  };
}

export function passwordAuth(name: string, password: string, projectName?: string): Record<string, unknown> {
  const auth: Record<string, unknown> = {
    identity: { methods: ['password'], password: { user: { name, domain: { id: 'default' }, password } } },
  };
  if (projectName !== undefined) auth['scope'] = { project: { name: projectName, domain: { name: 'Default' } } };
  return { auth };
}

/** Creates a project and a user holding `role` on it, through the admin API. */
export async function createMember(
  t: IdentityHarness,
  names: { project: string; user: string; password: string; role?: string },
): Promise<{ projectId: string; userId: string; token: string }> {
  const p = await t.call('POST', '/identity/v3/projects', t.adminToken, { project: { name: names.project, domain_id: 'default' } });
  if (p.statusCode !== 201) throw new Error(`project create: ${p.statusCode} ${p.body}`);
  const projectId = p.json<{ project: { id: string } }>().project.id;
  const u = await t.call('POST', '/identity/v3/users', t.adminToken, {
    user: { name: names.user, password: names.password, default_project_id: projectId, domain_id: 'default' },
  });
  if (u.statusCode !== 201) throw new Error(`user create: ${u.statusCode} ${u.body}`);
  const userId = u.json<{ user: { id: string } }>().user.id;
  const roles = await t.call('GET', `/identity/v3/roles?name=${names.role ?? 'member'}`, t.adminToken);
  const roleId = roles.json<{ roles: { id: string }[] }>().roles[0]?.id ?? '';
  const g = await t.call('PUT', `/identity/v3/projects/${projectId}/users/${userId}/roles/${roleId}`, t.adminToken);
  if (g.statusCode !== 204) throw new Error(`grant: ${g.statusCode} ${g.body}`);
  const { token } = await t.login(names.user, names.password, names.project);
  return { projectId, userId, token };
}
