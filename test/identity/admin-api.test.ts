import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from '../support/databases.js';
import { createMember, passwordAuth, startIdentity, type IdentityHarness } from './harness.js';

interface Named {
  id: string;
  name: string;
}

for (const dialect of DIALECTS) {
  describe(`identity admin API (${dialect.name})`, () => {
    let t: IdentityHarness;
    let a: { projectId: string; userId: string; token: string };
    let b: { projectId: string; userId: string; token: string };
    let roleIds: Record<string, string>;
    before(async () => {
      t = await startIdentity(await dialect.open());
      a = await createMember(t, { project: 'project-a', user: 'alice', password: 'alice-pw' });
      b = await createMember(t, { project: 'project-b', user: 'bob', password: 'bob-pw' });
      const roles = await t.call('GET', '/identity/v3/roles', t.adminToken);
      roleIds = Object.fromEntries(roles.json<{ roles: Named[] }>().roles.map((r) => [r.name, r.id]));
    });
    after(() => t.close());

    it('serves version discovery without a token', async () => {
      const root = await t.call('GET', '/identity');
      assert.equal(root.statusCode, 300);
      const v3 = await t.call('GET', '/identity/v3');
      assert.equal(v3.statusCode, 200);
      const version = v3.json<{ version: { id: string; status: string; links: { rel: string; href: string }[]; 'media-types': unknown[] } }>().version;
      assert.equal(version.id, 'v3.14');
      assert.equal(version.status, 'stable');
      assert.equal(version.links[0]?.href, 'http://cloud.test:8774/identity/v3/');
      assert.equal(version['media-types'].length, 1);
    });

    it('has the admin, member and reader roles after bootstrap, and refuses to delete them', async () => {
      assert.deepEqual(Object.keys(roleIds).sort(), ['admin', 'member', 'reader']);
      const del = await t.call('DELETE', `/identity/v3/roles/${roleIds['admin'] ?? ''}`, t.adminToken);
      assert.equal(del.statusCode, 403);
      const inferences = await t.call('GET', '/identity/v3/role_inferences', t.adminToken);
      const pairs = inferences.json<{ role_inferences: { prior_role: Named; implies: Named[] }[] }>().role_inferences.map((i) => `${i.prior_role.name}>${i.implies.map((x) => x.name).join(',')}`);
      assert.deepEqual(pairs.sort(), ['admin>member', 'member>reader']);
    });

    it('creates, shows, updates, lists by name and deletes a project; a duplicate name is 409', async () => {
      const created = await t.call('POST', '/identity/v3/projects', t.adminToken, { project: { name: 'p-crud', description: 'd', domain_id: 'default', enabled: true } });
      assert.equal(created.statusCode, 201);
      const p = created.json<{ project: Named & { domain_id: string; enabled: boolean; is_domain: boolean } }>().project;
      assert.equal(p.domain_id, 'default');
      assert.equal(p.is_domain, false);
      assert.equal((await t.call('POST', '/identity/v3/projects', t.adminToken, { project: { name: 'p-crud' } })).statusCode, 409);
      const patched = await t.call('PATCH', `/identity/v3/projects/${p.id}`, t.adminToken, { project: { description: 'changed' } });
      assert.equal(patched.json<{ project: { description: string } }>().project.description, 'changed');
      const listed = await t.call('GET', '/identity/v3/projects?name=p-crud', t.adminToken);
      assert.deepEqual(listed.json<{ projects: Named[] }>().projects.map((x) => x.id), [p.id]);
      assert.equal((await t.call('DELETE', `/identity/v3/projects/${p.id}`, t.adminToken)).statusCode, 204);
      assert.equal((await t.call('GET', `/identity/v3/projects/${p.id}`, t.adminToken)).statusCode, 404);
      assert.equal((await t.call('DELETE', `/identity/v3/projects/${p.id}`, t.adminToken)).statusCode, 404);
    });

    it('rejects bad project and user bodies with 400 naming the field, creating nothing', async () => {
      const cases: [string, unknown][] = [
        ['/identity/v3/projects', { project: { name: 'bad-1', links: {} } }],
        ['/identity/v3/projects', { project: { name: 42 } }],
        ['/identity/v3/projects', { project: { name: 'x'.repeat(65) } }],
        ['/identity/v3/projects', { project: { name: 'bad-2', domain_id: 'other' } }],
        ['/identity/v3/users', { user: { name: 'bad-3', password: 'pw', enabled: 'yes' } }],
        ['/identity/v3/users', { user: { password: 'pw' } }],
      ];
      for (const [url, body] of cases) {
        const res = await t.call('POST', url, t.adminToken, body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.match(res.json<{ error: { message: string } }>().error.message, /Invalid input for field '(project|user)/);
      }
      const elsewhere = await t.call('POST', '/identity/v3/users', t.adminToken, { user: { name: 'bad-4', password: 'pw', domain_id: 'ccd16ad88c404e95acc5e5d18e9a9235' } });
      assert.equal(elsewhere.statusCode, 404, 'Keystone: a user in a domain that does not exist');
      assert.match(elsewhere.json<{ error: { message: string } }>().error.message, /Domain ccd16ad88c404e95acc5e5d18e9a9235 could not be found/);
      const projects = await t.h.db.selectFrom('projects').select('name').where('name', 'like', 'bad-%').execute();
      const users = await t.h.db.selectFrom('users').select('name').where('name', 'like', 'bad-%').execute();
      assert.deepEqual([...projects, ...users], []);
    });

    it('keeps extra user and project attributes as Keystone does (tempest sends project_id on a user)', async () => {
      const created = await t.call('POST', '/identity/v3/users', t.adminToken, {
        user: { name: 'xena', password: 'xena-pw', project_id: a.projectId, email: 'x@example.com', labels: { team: 'ops' } },
      });
      assert.equal(created.statusCode, 201);
      const user = created.json<{ user: Named & Record<string, unknown> }>().user;
      assert.equal(user['project_id'], a.projectId);
      assert.deepEqual(user['labels'], { team: 'ops' });
      const moved = await t.call('PATCH', `/identity/v3/users/${user.id}`, t.adminToken, { user: { id: 'another-id' } });
      assert.equal(moved.statusCode, 400);
      const patched = await t.call('PATCH', `/identity/v3/users/${user.id}`, t.adminToken, { user: { id: user.id, labels: null, colour: 'red' } });
      const after = patched.json<{ user: Record<string, unknown> }>().user;
      assert.deepEqual([after['project_id'], after['labels'], after['colour']], [a.projectId, null, 'red']);
      const shown = (await t.call('GET', `/identity/v3/users/${user.id}`, t.adminToken)).json<{ user: Record<string, unknown> }>().user;
      assert.equal(shown['colour'], 'red');
      assert.ok(!/xena-pw|password_hash|scrypt/.test(patched.body));
      const project = await t.call('POST', '/identity/v3/projects', t.adminToken, { project: { name: 'p-extra', colour: 'blue', tags: ['gold', 'gold', 'eu'] } });
      assert.equal(project.statusCode, 201);
      const p = project.json<{ project: Named & Record<string, unknown> }>().project;
      assert.equal(p['colour'], 'blue');
      assert.deepEqual(p['tags'], ['gold', 'eu']);
      assert.equal((await t.call('POST', '/identity/v3/projects', t.adminToken, { project: { name: 'p-badtag', tags: ['a/b'] } })).statusCode, 400);
      const listed = await t.call('GET', '/identity/v3/projects?name=p-extra', t.adminToken);
      assert.equal(listed.json<{ projects: Record<string, unknown>[] }>().projects[0]?.['colour'], 'blue');
      const renamed = await t.call('PATCH', `/identity/v3/projects/${p.id}`, t.adminToken, { project: { name: 'p-extra-2', shade: 'dark' } });
      assert.deepEqual([renamed.json<{ project: Record<string, unknown> }>().project['colour'], renamed.json<{ project: Record<string, unknown> }>().project['shade']], ['blue', 'dark']);
      assert.equal((await t.call('DELETE', `/identity/v3/projects/${p.id}`, t.adminToken)).statusCode, 204);
      assert.equal((await t.call('DELETE', `/identity/v3/users/${user.id}`, t.adminToken)).statusCode, 204);
    });

    it('manages users without ever returning a password or its hash', async () => {
      const created = await t.call('POST', '/identity/v3/users', t.adminToken, {
        user: { name: 'uma', password: 'uma-pw-1', email: 'uma@example.com', description: 'ops', default_project_id: a.projectId, domain_id: 'default', enabled: true },
      });
      assert.equal(created.statusCode, 201);
      const user = created.json<{ user: Named & Record<string, unknown> }>().user;
      assert.equal(user['email'], 'uma@example.com');
      assert.equal(user['default_project_id'], a.projectId);
      assert.equal((await t.call('POST', '/identity/v3/users', t.adminToken, { user: { name: 'uma', password: 'x' } })).statusCode, 409);
      const listed = await t.call('GET', '/identity/v3/users?name=uma', t.adminToken);
      assert.deepEqual(listed.json<{ users: Named[] }>().users.map((u) => u.id), [user.id]);
      const patched = await t.call('PATCH', `/identity/v3/users/${user.id}`, t.adminToken, { user: { password: 'uma-pw-2', email: null } });
      assert.equal(patched.statusCode, 200);
      assert.equal(patched.json<{ user: Record<string, unknown> }>().user['email'], undefined);
      for (const body of [created.body, listed.body, patched.body]) {
        assert.ok(!/uma-pw|password_hash|scrypt/.test(body), body);
      }
      await t.call('PUT', `/identity/v3/projects/${a.projectId}/users/${user.id}/roles/${roleIds['reader'] ?? ''}`, t.adminToken);
      assert.equal((await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('uma', 'uma-pw-1'))).statusCode, 401);
      const login = await t.call('POST', '/identity/v3/auth/tokens', undefined, passwordAuth('uma', 'uma-pw-2'));
      assert.deepEqual(login.json<{ token: { roles: Named[] } }>().token.roles.map((r) => r.name), ['reader']);
      assert.equal((await t.call('DELETE', `/identity/v3/users/${user.id}`, t.adminToken)).statusCode, 204);
      assert.equal((await t.call('GET', `/identity/v3/users/${user.id}`, t.adminToken)).statusCode, 404);
      const left = await t.h.db.selectFrom('role_assignments').select('role_id').where('user_id', '=', user.id).execute();
      assert.deepEqual(left, []);
    });

    it('grants, checks, lists and revokes a role assignment', async () => {
      const grant = `/identity/v3/projects/${b.projectId}/users/${a.userId}/roles/${roleIds['reader'] ?? ''}`;
      assert.equal((await t.call('HEAD', grant, t.adminToken)).statusCode, 404);
      assert.equal((await t.call('PUT', grant, t.adminToken)).statusCode, 204);
      assert.equal((await t.call('PUT', grant, t.adminToken)).statusCode, 204, 'granting twice is idempotent');
      assert.equal((await t.call('HEAD', grant, t.adminToken)).statusCode, 204);
      assert.equal((await t.call('GET', grant, t.adminToken)).statusCode, 204);
      const roles = await t.call('GET', `/identity/v3/projects/${b.projectId}/users/${a.userId}/roles`, t.adminToken);
      assert.deepEqual(roles.json<{ roles: Named[] }>().roles.map((r) => r.name), ['reader']);
      const list = await t.call('GET', `/identity/v3/role_assignments?user.id=${a.userId}&include_names`, t.adminToken);
      const seen = list.json<{ role_assignments: { role: Named; scope: { project: Named } }[] }>().role_assignments.map((x) => `${x.scope.project.name}:${x.role.name}`);
      assert.deepEqual(seen.sort(), ['project-a:member', 'project-b:reader']);
      const effective = await t.call('GET', `/identity/v3/role_assignments?user.id=${a.userId}&scope.project.id=${a.projectId}&effective`, t.adminToken);
      const effRoles = effective.json<{ role_assignments: { role: { id: string } }[] }>().role_assignments.map((x) => x.role.id);
      assert.deepEqual(effRoles.sort(), [roleIds['member'], roleIds['reader']].sort());
      const projects = await t.call('GET', `/identity/v3/users/${a.userId}/projects`, a.token);
      assert.deepEqual(projects.json<{ projects: Named[] }>().projects.map((p) => p.name), ['project-a', 'project-b']);
      assert.equal((await t.call('DELETE', grant, t.adminToken)).statusCode, 204);
      assert.equal((await t.call('DELETE', grant, t.adminToken)).statusCode, 404);
      assert.equal((await t.call('PUT', `/identity/v3/projects/${b.projectId}/users/${a.userId}/roles/nope`, t.adminToken)).statusCode, 404);
    });

    it('keeps role assignment operations admin-only, even on the caller\'s own project', async () => {
      const ownGrant = `/identity/v3/projects/${a.projectId}/users/${a.userId}/roles/${roleIds['admin'] ?? ''}`;
      const otherGrant = `/identity/v3/projects/${b.projectId}/users/${a.userId}/roles/${roleIds['member'] ?? ''}`;
      const bobsGrant = `/identity/v3/projects/${b.projectId}/users/${b.userId}/roles/${roleIds['member'] ?? ''}`;
      for (const [method, url] of [
        ['PUT', ownGrant],
        ['PUT', otherGrant],
        ['HEAD', bobsGrant],
        ['DELETE', bobsGrant],
        ['GET', `/identity/v3/projects/${b.projectId}/users/${b.userId}/roles`],
        ['GET', `/identity/v3/role_assignments?scope.project.id=${b.projectId}`],
      ] as const) {
        const res = await t.call(method, url, a.token);
        assert.equal(res.statusCode, 403, `${method} ${url}`);
      }
      const bobRoles = await t.h.db.selectFrom('role_assignments').select('role_id').where('user_id', '=', b.userId).execute();
      assert.deepEqual(bobRoles.map((r) => r.role_id), [roleIds['member']]);
      const aliceRoles = await t.h.db.selectFrom('role_assignments').select('role_id').where('user_id', '=', a.userId).execute();
      assert.deepEqual(aliceRoles.map((r) => r.role_id), [roleIds['member']]);
    });

    it('lets a non-admin read only its own project, user and projects', async () => {
      assert.equal((await t.call('GET', `/identity/v3/projects/${a.projectId}`, a.token)).statusCode, 200);
      assert.equal((await t.call('GET', `/identity/v3/projects/${b.projectId}`, a.token)).statusCode, 403);
      assert.equal((await t.call('GET', `/identity/v3/users/${a.userId}`, a.token)).statusCode, 200);
      assert.equal((await t.call('GET', `/identity/v3/users/${b.userId}`, a.token)).statusCode, 403);
      assert.equal((await t.call('GET', `/identity/v3/users/${b.userId}/projects`, a.token)).statusCode, 403);
      for (const [method, url, body] of [
        ['GET', '/identity/v3/projects', undefined],
        ['GET', '/identity/v3/users', undefined],
        ['GET', '/identity/v3/roles', undefined],
        ['GET', '/identity/v3/domains', undefined],
        ['GET', '/identity/v3/services', undefined],
        ['GET', '/identity/v3/endpoints', undefined],
        ['POST', '/identity/v3/projects', { project: { name: 'sneaky' } }],
        ['POST', '/identity/v3/users', { user: { name: 'sneaky', password: 'x' } }],
        ['POST', '/identity/v3/roles', { role: { name: 'sneaky' } }],
        ['PATCH', `/identity/v3/users/${a.userId}`, { user: { enabled: true } }],
        ['PATCH', `/identity/v3/projects/${a.projectId}`, { project: { enabled: true } }],
        ['DELETE', `/identity/v3/users/${b.userId}`, undefined],
        ['DELETE', `/identity/v3/projects/${b.projectId}`, undefined],
      ] as const) {
        const res = await t.call(method, url, a.token, body);
        assert.equal(res.statusCode, 403, `${method} ${url}`);
        assert.equal(res.json<{ error: { title: string } }>().error.title, 'Forbidden');
      }
      const sneaky = await t.h.db.selectFrom('projects').select('id').where('name', '=', 'sneaky').execute();
      assert.deepEqual(sneaky, []);
      assert.equal((await t.call('GET', '/identity/v3/projects', undefined)).statusCode, 401);
    });

    it('lists the one domain, the services and endpoints derived from the catalog', async () => {
      const domains = await t.call('GET', '/identity/v3/domains', t.adminToken);
      assert.deepEqual(domains.json<{ domains: Named[] }>().domains.map((d) => `${d.id}/${d.name}`), ['default/Default']);
      assert.equal((await t.call('GET', '/identity/v3/domains/default', a.token)).statusCode, 200);
      assert.equal((await t.call('GET', '/identity/v3/domains/other', t.adminToken)).statusCode, 404);
      const services = await t.call('GET', '/identity/v3/services', t.adminToken);
      const byType = Object.fromEntries(services.json<{ services: (Named & { type: string })[] }>().services.map((s) => [s.type, s]));
      assert.deepEqual(Object.keys(byType).sort(), ['compute', 'identity', 'image', 'network']);
      const eps = await t.call('GET', `/identity/v3/endpoints?interface=public&service_id=${byType['compute']?.id ?? ''}`, t.adminToken);
      assert.deepEqual(eps.json<{ endpoints: { url: string }[] }>().endpoints.map((e) => e.url), ['http://cloud.test:8774/compute/v2.1']);
    });
  });
}
