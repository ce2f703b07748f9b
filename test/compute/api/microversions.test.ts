import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { addComputeNode, at, instance, list, startHarness, str, type ComputeHarness, type Json, type Res } from './harness.js';

/**
 * What each microversion from 2.2 to 2.16 changes, checked at the version before and at the
 * version itself. 2.6/2.8 (remote consoles) are the console routes' tests; 2.12-2.15 change
 * resources Polyvisor does not have (virtual interfaces, server groups, evacuate).
 */
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGR6VMk/Po7XWpcWpYf8Xp6ep1yJy7e2RrR7m+6vD3Tz test';

describe('compute API microversions 2.2-2.16', () => {
  let t: ComputeHarness;
  let uuid = '';
  before(async () => {
    t = await startHarness();
    await addComputeNode(t.h, { host: 'cmp1' });
    const row = instance({ user_data: 'IyEvYmluL3No', reservation_id: 'r-abc', hostname: 'vm-host', locked: 1 });
    uuid = row.uuid ?? '';
    await insertInstances(t.h.db, [row]);
  });
  after(async () => t.close());

  const at_ = (v: string) => ({ 'OpenStack-API-Version': `compute ${v}` });
  const call = (v: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string, body?: unknown): Promise<Res> => t.call(method, `/compute/v2.1${url}`, token, body, at_(v));

  it('2.2: keypair type in views, create 201 with type, delete 204; 2.1 refuses type', async () => {
    const old = await call('2.1', 'POST', '/os-keypairs', 'member-a', { keypair: { name: 'k21', public_key: ED25519, type: 'ssh' } });
    assert.equal(old.status, 400);
    assert.match(str(old.body, 'badRequest', 'message'), /'type' was unexpected/);
    const created = await call('2.2', 'POST', '/os-keypairs', 'member-a', { keypair: { name: 'k22', public_key: ED25519 } });
    assert.equal(created.status, 201);
    assert.equal(at(created.body, 'keypair', 'type'), 'ssh');
    assert.equal(at(list((await call('2.2', 'GET', '/os-keypairs', 'member-a')).body, 'keypairs')[0], 'keypair', 'type'), 'ssh');
    assert.equal(at(list((await call('2.1', 'GET', '/os-keypairs', 'member-a')).body, 'keypairs')[0], 'keypair', 'type'), undefined);
    assert.equal(at((await call('2.2', 'GET', '/os-keypairs/k22', 'member-a')).body, 'keypair', 'type'), 'ssh');
    assert.equal((await call('2.2', 'DELETE', '/os-keypairs/k22', 'member-a')).status, 204);
    const k21 = await call('2.1', 'POST', '/os-keypairs', 'member-a', { keypair: { name: 'k21', public_key: ED25519 } });
    assert.equal(k21.status, 200);
    assert.equal((await call('2.1', 'DELETE', '/os-keypairs/k21', 'member-a')).status, 202);
  });

  it('2.2: x509 key pairs are generated (certificate and private key) or imported, with a SHA-1 fingerprint', async () => {
    const gen = await call('2.2', 'POST', '/os-keypairs', 'member-a', { keypair: { name: 'cert', type: 'x509' } });
    assert.equal(gen.status, 201, gen.text);
    const pem = str(gen.body, 'keypair', 'public_key');
    assert.match(pem, /^-----BEGIN CERTIFICATE-----/);
    assert.match(str(gen.body, 'keypair', 'private_key'), /-----BEGIN (RSA )?PRIVATE KEY-----/);
    const fp = new X509Certificate(pem).fingerprint.toLowerCase();
    assert.equal(at(gen.body, 'keypair', 'fingerprint'), fp);
    const imported = await call('2.2', 'POST', '/os-keypairs', 'member-b', { keypair: { name: 'cert-b', type: 'x509', public_key: pem } });
    assert.equal(imported.status, 201);
    assert.equal(at(imported.body, 'keypair', 'fingerprint'), fp);
    assert.equal(at(imported.body, 'keypair', 'type'), 'x509');
    const bad = await call('2.2', 'POST', '/os-keypairs', 'member-b', { keypair: { name: 'cert-c', type: 'x509', public_key: ED25519 } });
    assert.equal(bad.status, 400);
    assert.equal((await call('2.2', 'POST', '/os-keypairs', 'member-b', { keypair: { name: 'x', type: 'pgp' } })).status, 400);
  });

  it('2.3: admins see reservation_id, launch_index, hostname, kernel/ramdisk ids, root device and user_data', async () => {
    const key = (s: Json | undefined, k: string) => at(s, 'server', `OS-EXT-SRV-ATTR:${k}`);
    const v21 = await call('2.1', 'GET', `/servers/${uuid}`, 'admin');
    assert.equal(key(v21.body, 'reservation_id'), undefined);
    const v23 = await call('2.3', 'GET', `/servers/${uuid}`, 'admin');
    assert.equal(key(v23.body, 'reservation_id'), 'r-abc');
    assert.equal(key(v23.body, 'launch_index'), 0);
    assert.equal(key(v23.body, 'hostname'), 'vm-host');
    assert.equal(key(v23.body, 'kernel_id'), '');
    assert.equal(key(v23.body, 'ramdisk_id'), '');
    assert.equal(key(v23.body, 'root_device_name'), null);
    assert.equal(key(v23.body, 'user_data'), 'IyEvYmluL3No');
    const detail = await call('2.3', 'GET', '/servers/detail?all_tenants=1', 'admin');
    assert.equal(at(list(detail.body, 'servers')[0], 'OS-EXT-SRV-ATTR:user_data'), 'IyEvYmluL3No');
    const member = await call('2.3', 'GET', `/servers/${uuid}`, 'member-a');
    assert.equal(key(member.body, 'user_data'), undefined);
  });

  it('2.5: the ip6 filter applies to members too (no server has addresses here)', async () => {
    assert.equal(list((await call('2.4', 'GET', '/servers?ip6=fe80', 'member-a')).body, 'servers').length, 1, 'ignored for members before 2.5');
    assert.equal(list((await call('2.5', 'GET', '/servers?ip6=fe80', 'member-a')).body, 'servers').length, 0);
    assert.equal(list((await call('2.1', 'GET', '/servers?ip6=fe80', 'admin')).body, 'servers').length, 0);
    assert.equal(list((await call('2.1', 'GET', '/servers?ip=10.', 'member-a')).body, 'servers').length, 0);
  });

  it('2.7: access to a public flavor is a conflict', async () => {
    assert.equal((await call('2.6', 'POST', '/flavors/2/action', 'admin', { addTenantAccess: { tenant: 'p-a' } })).status, 200);
    const res = await call('2.7', 'POST', '/flavors/2/action', 'admin', { addTenantAccess: { tenant: 'p-b' } });
    assert.equal(res.status, 409);
    assert.equal(at(res.body, 'conflictingRequest', 'message'), 'Can not add access to a public flavor.');
  });

  it('2.9: servers show whether they are locked', async () => {
    assert.equal(at((await call('2.8', 'GET', `/servers/${uuid}`, 'member-a')).body, 'server', 'locked'), undefined);
    assert.equal(at((await call('2.9', 'GET', `/servers/${uuid}`, 'member-a')).body, 'server', 'locked'), true);
    assert.equal(at(list((await call('2.9', 'GET', '/servers/detail', 'member-a')).body, 'servers')[0], 'locked'), true);
    const updated = await call('2.9', 'PUT', `/servers/${uuid}`, 'admin', { server: { name: 'renamed' } });
    assert.equal(at(updated.body, 'server', 'locked'), true);
  });

  it('2.10: admins manage other users\' key pairs with user_id; members may not', async () => {
    const made = await call('2.10', 'POST', '/os-keypairs', 'admin', { keypair: { name: 'for-a', public_key: ED25519, user_id: 'u-a' } });
    assert.equal(made.status, 201, made.text);
    assert.equal(at(made.body, 'keypair', 'user_id'), 'u-a');
    assert.ok(list((await call('2.10', 'GET', '/os-keypairs', 'member-a')).body, 'keypairs').some((k) => at(k, 'keypair', 'name') === 'for-a'));
    assert.equal(at((await call('2.10', 'GET', '/os-keypairs/for-a?user_id=u-a', 'admin')).body, 'keypair', 'user_id'), 'u-a');
    assert.equal((await call('2.9', 'GET', '/os-keypairs/for-a?user_id=u-a', 'admin')).status, 404, 'user_id is no parameter before 2.10');
    assert.equal((await call('2.9', 'POST', '/os-keypairs', 'admin', { keypair: { name: 'x', public_key: ED25519, user_id: 'u-a' } })).status, 400);
    assert.equal((await call('2.10', 'GET', '/os-keypairs?user_id=u-a', 'member-b')).status, 403);
    assert.equal((await call('2.10', 'POST', '/os-keypairs', 'member-b', { keypair: { name: 'sneaky', public_key: ED25519, user_id: 'u-a' } })).status, 403);
    assert.equal((await call('2.10', 'DELETE', '/os-keypairs/for-a?user_id=u-a', 'member-b')).status, 403);
    assert.equal((await call('2.10', 'DELETE', '/os-keypairs/for-a?user_id=u-a', 'admin')).status, 204);
    assert.equal((await call('2.10', 'GET', '/os-keypairs/for-a', 'member-a')).status, 404);
  });

  it('2.16: admins see the host status of a server: UP, MAINTENANCE, DOWN, UNKNOWN, or empty when unplaced', async () => {
    const hostStatus = async (v = '2.16', token = 'admin') => at((await call(v, 'GET', `/servers/${uuid}`, token)).body, 'server', 'host_status');
    assert.equal(await hostStatus('2.15'), undefined);
    assert.equal(await hostStatus('2.16', 'member-a'), undefined);
    assert.equal(await hostStatus(), 'UP');
    const svc = () => t.h.db.updateTable('services').where('host', '=', 'cmp1');
    await svc().set({ disabled: 1 }).execute();
    assert.equal(await hostStatus(), 'MAINTENANCE');
    await svc().set({ disabled: 0, last_seen_at: '2020-01-01T00:00:00.000Z' }).execute();
    assert.equal(await hostStatus(), 'UNKNOWN');
    await svc().set({ forced_down: 1 }).execute();
    assert.equal(await hostStatus(), 'DOWN');
    await svc().set({ forced_down: 0, last_seen_at: new Date().toISOString() }).execute();
    const unplaced = instance({ host: null, node: null, vm_state: 'building', task_state: 'scheduling', project_id: 'p-b', user_id: 'u-b' });
    await insertInstances(t.h.db, [unplaced]);
    assert.equal(at((await call('2.16', 'GET', `/servers/${unplaced.uuid ?? ''}`, 'admin')).body, 'server', 'host_status'), '');
    const detail = list((await call('2.16', 'GET', '/servers/detail?all_tenants=1', 'admin')).body, 'servers');
    assert.deepEqual(detail.map((s) => at(s, 'host_status')).sort(), ['', 'UP']);
  });

  it('2.11: services show forced_down and can be forced down; the URL does not exist before', async () => {
    assert.equal(at(list((await call('2.10', 'GET', '/os-services', 'admin')).body, 'services')[0], 'forced_down'), undefined);
    assert.equal(at(list((await call('2.11', 'GET', '/os-services', 'admin')).body, 'services')[0], 'forced_down'), false);
    const body = { host: 'cmp1', binary: 'nova-compute', forced_down: true };
    assert.equal((await call('2.10', 'PUT', '/os-services/force-down', 'admin', body)).status, 404);
    assert.equal((await call('2.11', 'PUT', '/os-services/force-down', 'member-a', body)).status, 403);
    assert.equal((await call('2.11', 'PUT', '/os-services/force-down', 'admin', { host: 'cmp1', binary: 'nova-compute' })).status, 400);
    assert.equal((await call('2.11', 'PUT', '/os-services/force-down', 'admin', { ...body, host: 'nohost' })).status, 404);
    const res = await call('2.11', 'PUT', '/os-services/force-down', 'admin', body);
    assert.equal(res.status, 200);
    assert.deepEqual(at(res.body, 'service'), body);
    const svc = list((await call('2.11', 'GET', '/os-services', 'admin')).body, 'services')[0];
    assert.equal(at(svc, 'forced_down'), true);
    assert.equal(at(svc, 'state'), 'down');
    const up = await call('2.11', 'PUT', '/os-services/force-down', 'admin', { ...body, forced_down: 'false' });
    assert.equal(at(up.body, 'service', 'forced_down'), false);
    assert.equal(at(list((await call('2.11', 'GET', '/os-services', 'admin')).body, 'services')[0], 'state'), 'up');
  });
});
