import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApiServer } from '../../src/api/server.js';
import { configFromText } from '../../src/config/load.js';
import { createAuthenticator, identityRoutes, TOKEN_CACHE_MS } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log.js';
import { DIALECTS } from '../support/databases.js';
import { ADMIN_PASSWORD, BASE, createMember, passwordAuth, startIdentity, type IdentityHarness } from './harness.js';

interface TokenBody {
  token: {
    methods: string[];
    user: { id: string; name: string; domain: { id: string; name: string } };
    project?: { id: string; name: string; domain: { id: string } };
    roles?: { id: string; name: string }[];
    catalog?: { type: string; name: string; endpoints: { interface: string; url: string; region: string }[] }[];
    audit_ids: string[];
    issued_at: string;
    expires_at: string;
  };
}

const UNAUTHORIZED = { error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } };

for (const dialect of DIALECTS) {
  describe(`identity tokens (${dialect.name})`, () => {
    let t: IdentityHarness;
    let alice: { projectId: string; userId: string; token: string };
    before(async () => {
      t = await startIdentity(await dialect.open(), { tokenSeconds: 3600 });
      alice = await createMember(t, { project: 'project-a', user: 'alice', password: 'alice-pw-1' });
    });
    after(() => t.close());

    it('issues a project-scoped token with Keystone fields, implied roles and the catalog', async () => {
      const res = await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('admin', ADMIN_PASSWORD, 'admin'));
      assert.equal(res.statusCode, 201);
      const token = String(res.headers['x-subject-token']);
      assert.ok(token.length >= 40);
      const body = res.json<TokenBody>().token;
      assert.deepEqual(body.methods, ['password']);
      assert.equal(body.user.name, 'admin');
      assert.deepEqual(body.user.domain, { id: 'default', name: 'Default' });
      assert.equal(body.project?.id, t.adminProjectId);
      assert.deepEqual(body.roles?.map((r) => r.name).sort(), ['admin', 'member', 'reader']);
      assert.equal(body.audit_ids.length, 1);
      assert.equal(Date.parse(body.expires_at) - Date.parse(body.issued_at), 3600_000);
      const urls = Object.fromEntries((body.catalog ?? []).map((s) => [s.type, s.endpoints.map((e) => `${e.interface} ${e.url} ${e.region}`)]));
      assert.deepEqual(urls['compute'], ['public', 'internal', 'admin'].map((i) => `${i} ${BASE}/compute/v2.1 RegionOne`));
      assert.deepEqual(urls['image']?.[0], `public ${BASE}/image RegionOne`);
      assert.deepEqual(urls['identity']?.[0], `public ${BASE}/identity RegionOne`);
      // Only the sha256 of the token is stored.
      const rows = await t.h.db.selectFrom('tokens').select('id').execute();
      assert.ok(rows.some((r) => r.id === createHash('sha256').update(token).digest('hex')));
      assert.ok(!rows.some((r) => r.id === token));
    });

    it('leaves the catalog out with ?nocatalog and scopes by project id and user id', async () => {
      const res = await t.call('POST', '/identity/v3/auth/tokens?nocatalog', undefined, {
        auth: { identity: { methods: ['password'], password: { user: { id: alice.userId, password: 'alice-pw-1' } } }, scope: { project: { id: alice.projectId } } },
      });
      assert.equal(res.statusCode, 201);
      const body = res.json<TokenBody>().token;
      assert.equal(body.catalog, undefined);
      assert.equal(body.project?.name, 'project-a');
      assert.deepEqual(body.roles?.map((r) => r.name).sort(), ['member', 'reader']);
    });

    it('scopes to the default project without a scope, and is unscoped without one or when asked', async () => {
      const dflt = await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('alice', 'alice-pw-1'));
      assert.equal(dflt.json<TokenBody>().token.project?.id, alice.projectId);
      const unscoped = await t.call('POST', '/identity/v3/auth/tokens', undefined, {
        auth: { ...passwordAuth('alice', 'alice-pw-1')['auth'] as object, scope: 'unscoped' },
      });
      assert.equal(unscoped.statusCode, 201);
      const body = unscoped.json<TokenBody>().token;
      assert.equal(body.project, undefined);
      assert.equal(body.roles, undefined);
      assert.equal(body.catalog, undefined);
      const token = String(unscoped.headers['x-subject-token']);
      const catalog = await t.call('GET', '/identity/v3/auth/catalog', token);
      assert.equal(catalog.statusCode, 403);
      const projects = await t.call('GET', '/identity/v3/auth/projects', token);
      assert.deepEqual(projects.json<{ projects: { name: string }[] }>().projects.map((p) => p.name), ['project-a']);
    });

    it('rescopes an unscoped token with the token method, keeping its expiry and audit chain', async () => {
      const unscoped = await t.call('POST', '/identity/v3/auth/tokens', undefined, { auth: { ...passwordAuth('alice', 'alice-pw-1')['auth'] as object, scope: 'unscoped' } });
      const parent = unscoped.json<TokenBody>().token;
      t.advance(60_000);
      const res = await t.call('POST', '/identity/v3/auth/tokens', undefined, {
        auth: { identity: { methods: ['token'], token: { id: String(unscoped.headers['x-subject-token']) } }, scope: { project: { name: 'project-a', domain: { id: 'default' } } } },
      });
      assert.equal(res.statusCode, 201);
      const body = res.json<TokenBody>().token;
      assert.equal(body.project?.id, alice.projectId);
      assert.deepEqual(body.methods, ['token', 'password']);
      assert.equal(body.expires_at, parent.expires_at);
      assert.equal(body.audit_ids.length, 2);
      assert.equal(body.audit_ids[1], parent.audit_ids[0]);
    });

    it('validates with X-Subject-Token: own token, admin on others, 403 for non-admin on others, 404 for bad', async () => {
      const own = await t.call('GET', '/identity/v3/auth/tokens', alice.token, undefined, { 'x-subject-token': alice.token });
      assert.equal(own.statusCode, 200);
      assert.equal(own.headers['x-subject-token'], alice.token);
      assert.equal(own.json<TokenBody>().token.user.name, 'alice');
      const head = await t.call('HEAD', '/identity/v3/auth/tokens', t.adminToken, undefined, { 'x-subject-token': alice.token });
      assert.equal(head.statusCode, 200);
      const other = await t.call('GET', '/identity/v3/auth/tokens', alice.token, undefined, { 'x-subject-token': t.adminToken });
      assert.equal(other.statusCode, 403);
      // Another token of the same user (a second session) is the caller's own: tempest validates so.
      const second = await t.login('alice', 'alice-pw-1', 'project-a');
      const sibling = await t.call('GET', '/identity/v3/auth/tokens', alice.token, undefined, { 'x-subject-token': second.token });
      assert.equal(sibling.statusCode, 200);
      assert.equal(sibling.json<TokenBody>().token.user.name, 'alice');
      const bad = await t.call('GET', '/identity/v3/auth/tokens', t.adminToken, undefined, { 'x-subject-token': 'no-such-token' });
      assert.equal(bad.statusCode, 404);
      assert.equal(bad.json<{ error: { code: number } }>().error.code, 404);
      const noAuth = await t.call('GET', '/identity/v3/auth/tokens', undefined, undefined, { 'x-subject-token': alice.token });
      assert.equal(noAuth.statusCode, 401);
    });

    it('revokes a token: validation answers 404 and the token no longer authenticates', async () => {
      const { token } = await t.login('alice', 'alice-pw-1', 'project-a');
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', token)).statusCode, 200);
      const del = await t.call('DELETE', '/identity/v3/auth/tokens', token, undefined, { 'x-subject-token': token });
      assert.equal(del.statusCode, 204);
      assert.equal((await t.call('GET', '/identity/v3/auth/tokens', t.adminToken, undefined, { 'x-subject-token': token })).statusCode, 404);
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', token)).statusCode, 401);
    });

    it('expires tokens after [token] expiration seconds', async () => {
      const { token } = await t.login('alice', 'alice-pw-1', 'project-a');
      t.advance(3599_000);
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', token)).statusCode, 200);
      t.advance(2_000);
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', token)).statusCode, 401);
      const fresh = await t.login('admin', ADMIN_PASSWORD, 'admin');
      assert.equal((await t.call('GET', '/identity/v3/auth/tokens', fresh.token, undefined, { 'x-subject-token': token })).statusCode, 404);
      alice = { ...alice, token: (await t.login('alice', 'alice-pw-1', 'project-a')).token };
      Object.assign(t, { adminToken: fresh.token });
    });

    it('answers a wrong password, an unknown user or an unassigned project with the same 401 and changes nothing', async () => {
      const before = await t.h.db.selectFrom('tokens').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const userBefore = await t.h.db.selectFrom('users').selectAll().where('name', '=', 'alice').executeTakeFirstOrThrow();
      for (const body of [passwordAuth('alice', 'wrong'), passwordAuth('nobody', 'alice-pw-1'), passwordAuth('alice', 'alice-pw-1', 'admin')]) {
        const res = await t.call('POST', '/identity/v3/auth/tokens', undefined, body);
        assert.equal(res.statusCode, 401);
        assert.deepEqual(res.json(), UNAUTHORIZED);
        assert.equal(res.headers['x-subject-token'], undefined);
      }
      const after = await t.h.db.selectFrom('tokens').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), Number(before.n));
      assert.deepEqual(await t.h.db.selectFrom('users').selectAll().where('name', '=', 'alice').executeTakeFirstOrThrow(), userBefore);
    });

    it('rejects malformed auth bodies with 400 naming the field', async () => {
      const res = await t.call('POST', '/identity/v3/auth/tokens', undefined, { auth: { identity: { methods: ['password'], password: { user: { name: 'alice', password: 'x' } } } } });
      assert.equal(res.statusCode, 400);
      assert.match(res.json<{ error: { message: string } }>().error.message, /auth\/identity\/password\/user.*domain/);
      const unsupported = await t.call('POST', '/identity/v3/auth/tokens', undefined, { auth: { identity: { methods: ['totp'] } } });
      assert.equal(unsupported.statusCode, 401);
      const garbage = await t.call('POST', '/identity/v3/auth/tokens', undefined, '{"auth": ');
      assert.equal(garbage.statusCode, 400);
    });

    it('refuses a disabled user and drops its tokens at once; re-enabling does not revive them', async () => {
      const bob = await createMember(t, { project: 'project-b', user: 'bob', password: 'bob-pw-1' });
      assert.equal((await t.call('PATCH', `/identity/v3/users/${bob.userId}`, t.adminToken, { user: { enabled: false } })).statusCode, 200);
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', bob.token)).statusCode, 401);
      const res = await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('bob', 'bob-pw-1', 'project-b'));
      assert.equal(res.statusCode, 401);
      assert.deepEqual(res.json(), UNAUTHORIZED);
      await t.call('PATCH', `/identity/v3/users/${bob.userId}`, t.adminToken, { user: { enabled: true } });
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', bob.token)).statusCode, 401);
      assert.equal((await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('bob', 'bob-pw-1', 'project-b'))).statusCode, 201);
    });

    it('invalidates tokens when their project is disabled or their role is removed', async () => {
      const carol = await createMember(t, { project: 'project-c', user: 'carol', password: 'carol-pw-1' });
      const dave = await createMember(t, { project: 'project-d', user: 'dave', password: 'dave-pw-1' });
      await t.call('PATCH', `/identity/v3/projects/${carol.projectId}`, t.adminToken, { project: { enabled: false } });
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', carol.token)).statusCode, 401);
      assert.equal((await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('carol', 'carol-pw-1', 'project-c'))).statusCode, 401);
      const roles = await t.call('GET', `/identity/v3/projects/${dave.projectId}/users/${dave.userId}/roles`, t.adminToken);
      const member = roles.json<{ roles: { id: string }[] }>().roles[0]?.id ?? '';
      assert.equal((await t.call('DELETE', `/identity/v3/projects/${dave.projectId}/users/${dave.userId}/roles/${member}`, t.adminToken)).statusCode, 204);
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', dave.token)).statusCode, 401);
    });

    it('changes one\'s own password: wrong original is 401, then old tokens and password stop working', async () => {
      const erin = await createMember(t, { project: 'project-e', user: 'erin', password: 'erin-pw-1' });
      const url = `/identity/v3/users/${erin.userId}/password`;
      const wrong = await t.call('POST', url, erin.token, { user: { original_password: 'nope', password: 'erin-pw-2' } });
      assert.equal(wrong.statusCode, 401);
      assert.equal((await t.call('POST', url, erin.token, { user: { original_password: 'erin-pw-1', password: 'erin-pw-2' } })).statusCode, 204);
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', erin.token)).statusCode, 401);
      assert.equal((await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('erin', 'erin-pw-1'))).statusCode, 401);
      assert.equal((await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('erin', 'erin-pw-2'))).statusCode, 201);
    });

    it(`sees another API process's revocation within TOKEN_CACHE_MS (${TOKEN_CACHE_MS} ms)`, async () => {
      // A second "process": its own authenticator and server on the same database.
      let offset = 0;
      const clock = () => Date.now() + offset;
      const { config } = configFromText('');
      const auth2 = createAuthenticator(t.h.db, config, silentLogger, clock);
      const app2 = createApiServer({ logger: silentLogger, authenticator: auth2, maxBodySize: 65536 });
      await app2.register(identityRoutes({ db: t.h.db, config, logger: silentLogger, publicUrl: () => BASE, authenticator: auth2, clock }), { prefix: '/identity' });
      try {
        const { token } = await t.login('alice', 'alice-pw-1', 'project-a');
        const probe = () => app2.inject({ method: 'GET', url: '/identity/v3/auth/projects', headers: { 'x-auth-token': token } });
        assert.equal((await probe()).statusCode, 200);
        await t.call('DELETE', '/identity/v3/auth/tokens', t.adminToken, undefined, { 'x-subject-token': token });
        assert.equal((await probe()).statusCode, 200, 'still cached in the other process');
        offset += TOKEN_CACHE_MS;
        assert.equal((await probe()).statusCode, 401);
      } finally {
        await app2.close();
      }
    });
  });
}
