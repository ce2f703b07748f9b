import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { bootstrap } from '../../src/identity/index.js';
import { createLogger } from '../../src/log.js';
import { DIALECTS } from '../support/databases.js';
import { ADMIN_PASSWORD, createMember, passwordAuth, startIdentity, type IdentityHarness } from './harness.js';

function captureLogs(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination: sink }), text: () => chunks.join('') };
}

describe('identity secrets', () => {
  const logs = captureLogs();
  let t: IdentityHarness;
  after(() => t.close());

  it('never writes a password or a token to the log, nor returns one in an error', async () => {
    const [dialect] = DIALECTS;
    assert.ok(dialect);
    t = await startIdentity(await dialect.open(), { logger: logs.logger });
    const secrets = [ADMIN_PASSWORD, 'Zeb-pa55-first', 'Zeb-pa55-second', 'Zeb-pa55-third', 'Wr0ng-guess-9'];
    const zeb = await createMember(t, { project: 'project-z', user: 'zeb', password: 'Zeb-pa55-first' });
    const tokens = [t.adminToken, zeb.token];
    const bodies: string[] = [];
    const record = async (p: Promise<{ body: string; headers: Record<string, unknown> }>) => {
      const res = await p;
      bodies.push(res.body);
      const subject = res.headers['x-subject-token'];
      if (typeof subject === 'string') tokens.push(subject);
    };
    await record(t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('zeb', 'Wr0ng-guess-9', 'project-z')));
    await record(t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('nobody', 'Wr0ng-guess-9')));
    await record(t.call('POST', `/identity/v3/users/${zeb.userId}/password`, undefined, { user: { original_password: 'Wr0ng-guess-9', password: 'Zeb-pa55-second' } }));
    await record(t.call('POST', `/identity/v3/users/${zeb.userId}/password`, undefined, { user: { original_password: 'Zeb-pa55-first', password: 'Zeb-pa55-second' } }));
    await record(t.call('PATCH', `/identity/v3/users/${zeb.userId}`, t.adminToken, { user: { password: 'Zeb-pa55-third', enabled: 'Wr0ng-guess-9' } }));
    await record(t.call('PATCH', `/identity/v3/users/${zeb.userId}`, t.adminToken, { user: { password: 'Zeb-pa55-third' } }));
    await record(t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('zeb', 'Zeb-pa55-third', 'project-z')));
    await record(t.call('GET', '/identity/v3/auth/tokens', t.adminToken, undefined, { 'x-subject-token': tokens[tokens.length - 1] ?? '' }));
    await record(t.call('GET', '/identity/v3/auth/tokens', t.adminToken, undefined, { 'x-subject-token': 'Wr0ng-guess-9' }));

    const text = logs.text();
    assert.match(text, /authentication failed/, 'the failed logins were logged');
    assert.match(text, /password changed by the user/);
    assert.match(text, /"request_id":"req-/, 'events carry the request id');
    for (const secret of [...secrets, ...tokens]) {
      assert.ok(!text.includes(secret), `log contains a secret (${secret.slice(0, 4)}...)`);
    }
    // Responses: a validation may echo the caller's own X-Subject-Token header, nothing else.
    for (const body of bodies) for (const secret of secrets) assert.ok(!body.includes(secret), body);
    const hashes = await t.h.db.selectFrom('users').select('password_hash').execute();
    for (const { password_hash } of hashes) {
      assert.match(password_hash, /^scrypt\$32768\$8\$1\$/);
      for (const secret of secrets) assert.ok(!password_hash.includes(secret));
    }
  });
});

for (const dialect of DIALECTS) {
  describe(`identity bootstrap (${dialect.name})`, () => {
    let t: IdentityHarness;
    after(() => t.close());

    it('is idempotent and resets the admin password when given a new one', async () => {
      t = await startIdentity(await dialect.open());
      const again = await bootstrap(t.h.db, { adminUsername: 'admin', adminPassword: ADMIN_PASSWORD, projectName: 'admin' });
      assert.equal(again.userId, t.adminUserId);
      assert.equal(again.projectId, t.adminProjectId);
      const roles = await t.h.db.selectFrom('roles').select('name').orderBy('name').execute();
      assert.deepEqual(roles.map((r) => r.name), ['admin', 'member', 'reader']);
      const projects = await t.h.db.selectFrom('projects').select('name').orderBy('name').execute();
      assert.deepEqual(projects.map((p) => p.name), ['admin', 'service']);
      const grants = await t.h.db.selectFrom('role_assignments').select(['user_id', 'project_id', 'role_id']).execute();
      assert.deepEqual(grants.map((g) => [g.user_id, g.project_id, g.role_id]), [[t.adminUserId, t.adminProjectId, again.roleIds.admin]]);
      // Same password: existing tokens stay valid.
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', t.adminToken)).statusCode, 200);

      await bootstrap(t.h.db, { adminUsername: 'admin', adminPassword: 'a-new-admin-pw', projectName: 'admin' });
      t.advance(5_000); // past the authenticator's cache: bootstrap runs outside the API
      assert.equal((await t.call('GET', '/identity/v3/auth/projects', t.adminToken)).statusCode, 401);
      assert.equal((await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('admin', ADMIN_PASSWORD, 'admin'))).statusCode, 401);
      assert.equal((await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('admin', 'a-new-admin-pw', 'admin'))).statusCode, 201);
      await assert.rejects(bootstrap(t.h.db, { adminUsername: 'admin', adminPassword: '' }), /password must not be empty/);
    });
  });
}
