import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seedDefaultFlavors } from '../../../src/compute/api/index.js';
import { at, list, PUBLIC_URL, startHarness, str, type ComputeHarness } from './harness.js';

describe('compute API: flavors', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness();
  });
  after(async () => t.close());

  it('seeds Nova’s classic flavors once', async () => {
    assert.equal(await seedDefaultFlavors(t.h.db), 0, 'flavors exist: seeding again adds none');
    const res = await t.call('GET', '/compute/v2.1/flavors/detail', 'member-a');
    const small = list(res.body, 'flavors').find((f) => at(f, 'name') === 'm1.small');
    assert.deepEqual(small, {
      id: '2',
      name: 'm1.small',
      ram: 2048,
      disk: 20,
      vcpus: 1,
      links: [
        { rel: 'self', href: `${PUBLIC_URL}/compute/v2.1/flavors/2` },
        { rel: 'bookmark', href: `${PUBLIC_URL}/compute/flavors/2` },
      ],
      'OS-FLV-EXT-DATA:ephemeral': 0,
      'OS-FLV-DISABLED:disabled': false,
      'os-flavor-access:is_public': true,
      swap: '',
      rxtx_factor: 1,
    });
    assert.deepEqual(list(res.body, 'flavors').map((f) => at(f, 'name')), ['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge']);
  });

  it('filters by minRam/minDisk, sorts and pages', async () => {
    const big = await t.call('GET', '/compute/v2.1/flavors?minRam=8192&minDisk=100', 'member-a');
    assert.deepEqual(list(big.body, 'flavors').map((f) => at(f, 'name')), ['m1.xlarge']);
    const sorted = await t.call('GET', '/compute/v2.1/flavors?sort_key=memory_mb&sort_dir=desc&limit=2', 'member-a');
    assert.deepEqual(list(sorted.body, 'flavors').map((f) => at(f, 'id')), ['5', '4']);
    const next = str(sorted.body, 'flavors_links', 0, 'href');
    const page2 = await t.call('GET', next.slice(PUBLIC_URL.length), 'member-a');
    assert.deepEqual(list(page2.body, 'flavors').map((f) => at(f, 'id')), ['3', '2']);
    assert.equal((await t.call('GET', '/compute/v2.1/flavors?minRam=lots', 'member-a')).status, 400);
    assert.equal((await t.call('GET', '/compute/v2.1/flavors?sort_key=colour', 'member-a')).status, 400);
    assert.equal((await t.call('GET', '/compute/v2.1/flavors?marker=nope', 'member-a')).status, 400);
  });

  it('creates (admin only), refuses duplicates with 409, and deletes with 202', async () => {
    const body = { flavor: { name: 'c1.big', ram: 1024, vcpus: 2, disk: 10, id: 'auto', swap: 512, 'OS-FLV-EXT-DATA:ephemeral': 5, rxtx_factor: 2.0 } };
    assert.equal((await t.call('POST', '/compute/v2.1/flavors', 'member-a', body)).status, 403);
    const res = await t.call('POST', '/compute/v2.1/flavors', 'admin', body);
    assert.equal(res.status, 200, res.text);
    const id = str(res.body, 'flavor', 'id');
    assert.match(id, /^[0-9a-f-]{36}$/, 'id auto: a uuid');
    assert.equal(at(res.body, 'flavor', 'swap'), 512);
    assert.equal(at(res.body, 'flavor', 'OS-FLV-EXT-DATA:ephemeral'), 5);
    const dupName = await t.call('POST', '/compute/v2.1/flavors', 'admin', body);
    assert.equal(dupName.status, 409);
    assert.equal(at(dupName.body, 'conflictingRequest', 'message'), 'Flavor with name c1.big already exists.');
    const dupId = await t.call('POST', '/compute/v2.1/flavors', 'admin', { flavor: { name: 'other', ram: 1, vcpus: 1, disk: 0, id: '1' } });
    assert.equal(at(dupId.body, 'conflictingRequest', 'message'), 'Flavor with ID 1 already exists.');
    // A numeric id, as tempest sends it, is kept as its decimal string.
    const numeric = await t.call('POST', '/compute/v2.1/flavors', 'admin', { flavor: { name: 'numeric-id', ram: 64, vcpus: 1, disk: 0, id: 1234567 } });
    assert.equal(numeric.status, 200, numeric.text);
    assert.equal(at(numeric.body, 'flavor', 'id'), '1234567');
    assert.equal((await t.call('GET', '/compute/v2.1/flavors/1234567', 'admin')).status, 200);
    for (const bad of [{ name: 'x', ram: 0, vcpus: 1, disk: 1 }, { name: 'x', ram: 1, vcpus: 1 }, { name: 'x', ram: 1, vcpus: 1, disk: 1, colour: 'red' }, { name: 'x', ram: 1, vcpus: 1, disk: 1, id: ' bad id' }]) {
      assert.equal((await t.call('POST', '/compute/v2.1/flavors', 'admin', { flavor: bad })).status, 400, JSON.stringify(bad));
    }
    assert.equal((await t.call('DELETE', `/compute/v2.1/flavors/${id}`, 'member-a')).status, 403);
    assert.equal((await t.call('DELETE', `/compute/v2.1/flavors/${id}`, 'admin')).status, 202);
    assert.equal((await t.call('GET', `/compute/v2.1/flavors/${id}`, 'admin')).status, 404);
  });

  it('manages extra specs (admin writes, everyone reads)', async () => {
    const base = '/compute/v2.1/flavors/1/os-extra_specs';
    assert.equal((await t.call('POST', base, 'member-a', { extra_specs: { 'hw:cpu_policy': 'dedicated' } })).status, 403);
    const set = await t.call('POST', base, 'admin', { extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': 512 } });
    assert.deepEqual(at(set.body, 'extra_specs'), { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': '512' });
    assert.deepEqual(at((await t.call('GET', base, 'member-a')).body, 'extra_specs'), { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': '512' });
    assert.deepEqual((await t.call('GET', `${base}/hw:cpu_policy`, 'member-a')).body, { 'hw:cpu_policy': 'dedicated' });
    assert.deepEqual((await t.call('PUT', `${base}/hw:cpu_policy`, 'admin', { 'hw:cpu_policy': 'shared' })).body, { 'hw:cpu_policy': 'shared' });
    assert.equal((await t.call('PUT', `${base}/hw:cpu_policy`, 'admin', { other: 'x' })).status, 400);
    assert.equal((await t.call('DELETE', `${base}/hw:cpu_policy`, 'admin')).status, 200);
    const gone = await t.call('GET', `${base}/hw:cpu_policy`, 'member-a');
    assert.equal(gone.status, 404);
    assert.equal(at(gone.body, 'itemNotFound', 'message'), 'Flavor 1 has no extra specs with key hw:cpu_policy.');
    assert.equal((await t.call('POST', base, 'admin', { extra_specs: { 'bad key!': 'x' } })).status, 400);
  });

  it('shows private flavors only to projects with access and admins', async () => {
    const res = await t.call('POST', '/compute/v2.1/flavors', 'admin', { flavor: { name: 'private', ram: 128, vcpus: 1, disk: 1, id: 'priv', 'os-flavor-access:is_public': false } });
    assert.equal(res.status, 200);
    const names = async (token: string, q = '') => list((await t.call('GET', `/compute/v2.1/flavors${q}`, token)).body, 'flavors').map((f) => at(f, 'id'));
    assert.ok(!(await names('member-a')).includes('priv'));
    assert.equal((await t.call('GET', '/compute/v2.1/flavors/priv', 'member-a')).status, 404);
    assert.ok((await names('admin', '?is_public=None')).includes('priv'));
    assert.ok(!(await names('admin')).includes('priv'), 'admins get public flavors unless they ask for all');
    const access = '/compute/v2.1/flavors/priv/action';
    const added = await t.call('POST', access, 'admin', { addTenantAccess: { tenant: 'p-a' } });
    assert.deepEqual(at(added.body, 'flavor_access'), [{ flavor_id: 'priv', tenant_id: 'p-a' }]);
    assert.equal((await t.call('POST', access, 'admin', { addTenantAccess: { tenant: 'p-a' } })).status, 409);
    assert.ok((await names('member-a')).includes('priv'));
    assert.ok(!(await names('member-b')).includes('priv'));
    assert.deepEqual(at((await t.call('GET', '/compute/v2.1/flavors/priv/os-flavor-access', 'admin')).body, 'flavor_access'), [{ flavor_id: 'priv', tenant_id: 'p-a' }]);
    assert.equal((await t.call('GET', '/compute/v2.1/flavors/1/os-flavor-access', 'admin')).status, 404);
    // Microversion 2.7 refuses access to a public flavor; 2.1 records it, as Nova did.
    assert.equal((await t.call('POST', '/compute/v2.1/flavors/1/action', 'admin', { addTenantAccess: { tenant: 'p-b' } }, { 'OpenStack-API-Version': 'compute 2.7' })).status, 409);
    assert.equal((await t.call('POST', '/compute/v2.1/flavors/1/action', 'admin', { addTenantAccess: { tenant: 'p-b' } })).status, 200);
    assert.equal((await t.call('POST', access, 'member-a', { removeTenantAccess: { tenant: 'p-a' } })).status, 403);
    assert.equal((await t.call('POST', access, 'admin', { removeTenantAccess: { tenant: 'p-a' } })).status, 200);
    assert.equal((await t.call('POST', access, 'admin', { removeTenantAccess: { tenant: 'p-a' } })).status, 404);
    assert.equal((await t.call('POST', access, 'admin', { grant: { tenant: 'p-a' } })).status, 400);
  });
});

describe('compute API: keypairs', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness('[quota]\nkey_pairs = 3\n');
  });
  after(async () => t.close());

  const ECDSA =
    'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOG7CdEI8crOnpOs3uDv7+2Cf3CuJKskkwcX9hpf0HnBwxNm1cmunmcXilCAp7/4FyRxHLLgqQs9UrMcA2bO2Xs= bob@example';
  const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@example';

  it('generates an RSA key pair: PEM private key, OpenSSH public key, MD5 fingerprint', async () => {
    const res = await t.call('POST', '/compute/v2.1/os-keypairs', 'member-a', { keypair: { name: 'gen' } });
    assert.equal(res.status, 200, res.text);
    const k = at(res.body, 'keypair');
    assert.match(str(k, 'private_key'), /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(str(k, 'public_key'), /^ssh-rsa AAAAB3NzaC1yc2E[A-Za-z0-9+/=]+ Generated-by-Nova$/);
    assert.match(str(k, 'fingerprint'), /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    assert.equal(at(k, 'user_id'), 'u-a');
    const shown = await t.call('GET', '/compute/v2.1/os-keypairs/gen', 'member-a');
    assert.equal(at(shown.body, 'keypair', 'private_key'), undefined, 'the private key is shown once, never stored');
    assert.equal(at(shown.body, 'keypair', 'fingerprint'), at(k, 'fingerprint'));
  });

  it('imports ed25519 and ecdsa keys with the fingerprint ssh-keygen -E md5 gives', async () => {
    const res = await t.call('POST', '/compute/v2.1/os-keypairs', 'member-a', { keypair: { name: 'imported', public_key: ED25519 } });
    assert.equal(res.status, 200, res.text);
    assert.equal(at(res.body, 'keypair', 'fingerprint'), '65:96:2d:fc:e8:d5:a9:11:64:0c:0f:ea:00:6e:5b:bd');
    assert.equal(at(res.body, 'keypair', 'private_key'), undefined);
    const ec = await t.call('POST', '/compute/v2.1/os-keypairs', 'member-b', { keypair: { name: 'ec', public_key: ECDSA } });
    assert.equal(at(ec.body, 'keypair', 'fingerprint'), 'bb:46:38:70:56:e1:02:bb:0d:f3:8b:97:09:f4:f7:7c');
    const listed = await t.call('GET', '/compute/v2.1/os-keypairs', 'member-a');
    assert.deepEqual(list(listed.body, 'keypairs').map((k) => at(k, 'keypair', 'name')), ['gen', 'imported']);
    const other = await t.call('GET', '/compute/v2.1/os-keypairs', 'member-b');
    assert.deepEqual(list(other.body, 'keypairs').map((k) => at(k, 'keypair', 'name')), ['ec'], 'key pairs belong to their user');
    assert.equal((await t.call('GET', '/compute/v2.1/os-keypairs/imported', 'member-b')).status, 404);
  });

  it('refuses invalid keys, unsafe names, duplicates and more than the quota', async () => {
    for (const key of ['ssh-rsa notbase64!!', 'ssh-dss AAAAB3NzaC1kc3MAAAA=', 'ssh-ed25519 AAAAC3NzaC1yc2E=', 'garbage']) {
      const res = await t.call('POST', '/compute/v2.1/os-keypairs', 'member-a', { keypair: { name: 'bad', public_key: key } });
      assert.equal(res.status, 400, key);
      assert.match(str(res.body, 'badRequest', 'message'), /^Keypair data is invalid/);
    }
    const unsafe = await t.call('POST', '/compute/v2.1/os-keypairs', 'member-a', { keypair: { name: 'a/b' } });
    assert.match(str(unsafe.body, 'badRequest', 'message'), /unsafe characters/);
    const dup = await t.call('POST', '/compute/v2.1/os-keypairs', 'member-a', { keypair: { name: 'imported', public_key: ED25519 } });
    assert.equal(dup.status, 409);
    assert.equal(at(dup.body, 'conflictingRequest', 'message'), "Key pair 'imported' already exists.");
    assert.equal((await t.call('POST', '/compute/v2.1/os-keypairs', 'member-a', { keypair: { name: 'third', public_key: ED25519 } })).status, 200);
    const over = await t.call('POST', '/compute/v2.1/os-keypairs', 'member-a', { keypair: { name: 'fourth', public_key: ED25519 } });
    assert.equal(over.status, 403);
    assert.equal(at(over.body, 'forbidden', 'message'), 'Quota exceeded, too many key pairs.');
  });

  it('deletes with 202, then 404', async () => {
    assert.equal((await t.call('DELETE', '/compute/v2.1/os-keypairs/third', 'member-b')).status, 404);
    assert.equal((await t.call('DELETE', '/compute/v2.1/os-keypairs/third', 'member-a')).status, 202);
    assert.equal((await t.call('DELETE', '/compute/v2.1/os-keypairs/third', 'member-a')).status, 404);
  });
});
