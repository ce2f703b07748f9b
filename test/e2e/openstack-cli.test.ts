import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from '../support/http-client.js';
import { E2E_BACKENDS } from '../support/e2e-backends.js';
import { ADMIN_PASSWORD, eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';

/**
 * The foundation's acceptance, as a user runs it: `polyvisor serve` as a real process and
 * Debian's real `openstack` CLI, on SQLite and on PostgreSQL.
 */
interface Server {
  ID: string;
  Name: string;
  Status: string;
}

const backends = E2E_BACKENDS;

for (const backend of backends) {
  describe(`openstack CLI against polyvisor serve (${backend.name})`, () => {
    let pv: PolyvisorProcess;
    let admin: ApiClient;
    let imageId: string;

    before(async () => {
      const databaseUrl = await backend.databaseUrl();
      pv = await startPolyvisor({ ...(databaseUrl ? { databaseUrl } : {}), conf: '[fake]\nnodes = 2\n' });
      admin = await ApiClient.login(pv.url, 'admin', ADMIN_PASSWORD, 'admin');
    });
    after(async () => pv.stop());

    async function statusOf(id: string, client = admin): Promise<string> {
      const res = await client.request<{ server: { status: string } }>('GET', `/compute/v2.1/servers/${id}`);
      assert.equal(res.status, 200, `GET server ${id}: ${JSON.stringify(res.body)}`);
      return res.body.server.status;
    }
    const reaches = (id: string, status: string, client = admin) =>
      eventually(async () => ((await statusOf(id, client)) === status ? true : undefined), `server ${id} to reach ${status}`, 30_000);

    it('creates, lists, shows and deletes images', async () => {
      const file = join(pv.stateDir, 'disk.raw');
      writeFileSync(file, Buffer.alloc(1024 * 1024, 1));
      const created = await pv.openstackJson<{ id: string; disk_format: string }>([
        'image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'cirros',
      ]);
      // Like Glance, the create response shows the image before its upload: `queued`.
      assert.equal(created.disk_format, 'raw');
      imageId = created.id;
      const list = await pv.openstackJson<{ ID: string; Name: string }[]>(['image', 'list']);
      assert.ok(list.some((i) => i.ID === imageId && i.Name === 'cirros'));
      const shown = await pv.openstackJson<{ checksum: string; size: number; status: string }>(['image', 'show', 'cirros']);
      assert.equal(shown.status, 'active');
      assert.equal(shown.size, 1024 * 1024);
      assert.match(shown.checksum, /^[0-9a-f]{32}$/);
      const doomed = await pv.openstackJson<{ id: string }>(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'doomed']);
      await pv.openstack(['image', 'delete', doomed.id]);
      const after = await pv.openstackJson<{ ID: string }[]>(['image', 'list']);
      assert.ok(!after.some((i) => i.ID === doomed.id));
    });

    it('lists the default flavors and creates one', async () => {
      const flavors = await pv.openstackJson<{ Name: string; RAM: number }[]>(['flavor', 'list']);
      assert.ok(flavors.some((f) => f.Name === 'm1.small' && f.RAM === 2048));
      const created = await pv.openstackJson<{ name: string; vcpus: number; ram: number }>(['flavor', 'create', '--vcpus', '2', '--ram', '1024', '--disk', '5', 'e2e.custom']);
      assert.equal(created.vcpus, 2);
      assert.equal(created.ram, 1024);
    });

    it('creates a keypair and returns its private key', async () => {
      const out = await pv.openstack(['keypair', 'create', 'e2e-key']);
      assert.match(out, /-----BEGIN (RSA |OPENSSH )?PRIVATE KEY-----/);
      const list = await pv.openstackJson<{ Name: string }[]>(['keypair', 'list']);
      assert.ok(list.some((k) => k.Name === 'e2e-key'));
    });

    it('boots a server with --wait and runs its lifecycle', async () => {
      const server = await pv.openstackJson<{ id: string; status: string; flavor: string }>([
        'server', 'create', '--flavor', 'm1.small', '--image', imageId, '--key-name', 'e2e-key', '--wait', 'demo',
      ]);
      assert.equal(server.status, 'ACTIVE');
      const list = await pv.openstackJson<Server[]>(['server', 'list']);
      assert.ok(list.some((s) => s.ID === server.id && s.Status === 'ACTIVE'));
      const shown = await pv.openstackJson<{ name: string; 'OS-EXT-STS:power_state': string | number }>(['server', 'show', server.id]);
      assert.equal(shown.name, 'demo');

      await pv.openstack(['server', 'stop', server.id]);
      await reaches(server.id, 'SHUTOFF');
      await pv.openstack(['server', 'start', server.id]);
      await reaches(server.id, 'ACTIVE');
      await pv.openstack(['server', 'reboot', server.id]);
      await reaches(server.id, 'ACTIVE');
      await pv.openstack(['server', 'reboot', '--hard', server.id]);
      await reaches(server.id, 'ACTIVE');
      const actions = await admin.request<{ instanceActions: { action: string }[] }>('GET', `/compute/v2.1/servers/${server.id}/os-instance-actions`);
      assert.deepEqual(new Set(actions.body.instanceActions.map((a) => a.action)), new Set(['create', 'stop', 'start', 'reboot']));

      await pv.openstack(['server', 'delete', '--wait', server.id]);
      const res = await admin.request('GET', `/compute/v2.1/servers/${server.id}`);
      assert.equal(res.status, 404);
    });

    it('shows hypervisors, their statistics, availability zones and compute services', async () => {
      const hypervisors = await pv.openstackJson<{ ID: number | string; 'Hypervisor Hostname': string; State: string }[]>(['hypervisor', 'list']);
      assert.equal(hypervisors.length, 2);
      assert.ok(hypervisors.every((h) => h.State === 'up'));
      const first = hypervisors[0];
      assert.ok(first);
      const shown = await pv.openstackJson<{ hypervisor_hostname: string }>(['hypervisor', 'show', String(first.ID)]);
      assert.equal(shown.hypervisor_hostname, first['Hypervisor Hostname']);
      const stats = await pv.openstackJson<{ count: number; vcpus: number }>(['hypervisor', 'stats', 'show']);
      assert.equal(stats.count, 2);
      assert.ok(stats.vcpus > 0);
      const zones = await pv.openstackJson<{ 'Zone Name': string; 'Zone Status': string }[]>(['availability', 'zone', 'list']);
      assert.ok(zones.some((z) => z['Zone Name'] === 'nova' && z['Zone Status'] === 'available'));
      const services = await pv.openstackJson<{ Binary: string; Host: string; State: string; Status: string }[]>(['compute', 'service', 'list']);
      const compute = services.find((s) => s.Binary === 'nova-compute');
      assert.equal(compute?.Host, 'e2e-host');
      assert.equal(compute?.State, 'up');
      assert.equal(compute?.Status, 'enabled');
    });

    it('server groups: members of an affinity group share a host, an anti-affinity group gets one member per host', async () => {
      const near = await pv.openstackJson<{ id: string }>(['server', 'group', 'create', '--policy', 'affinity', 'e2e-near']);
      const ids: string[] = [];
      for (const name of ['near-1', 'near-2']) {
        const s = await pv.openstackJson<{ id: string; status: string }>(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--hint', `group=${near.id}`, '--wait', name]);
        assert.equal(s.status, 'ACTIVE');
        ids.push(s.id);
      }
      const shown = await pv.openstackJson<{ members: string | string[] }>(['server', 'group', 'show', near.id]);
      const members = Array.isArray(shown.members) ? shown.members : shown.members.split(/[\s,]+/).filter((m) => m !== '');
      assert.deepEqual([...members].sort(), [...ids].sort());
      // This cloud has one compute host (with two fake nodes): an anti-affinity group fits one member.
      const apart = await pv.openstackJson<{ id: string }>(['server', 'group', 'create', '--policy', 'anti-affinity', 'e2e-apart']);
      const first = await pv.openstackJson<{ id: string; status: string }>(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--hint', `group=${apart.id}`, '--wait', 'apart-1']);
      assert.equal(first.status, 'ACTIVE');
      const second = await pv.openstack(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--hint', `group=${apart.id}`, '--wait', 'apart-2']).catch((e: unknown) => String(e));
      assert.match(second, /Error creating server|ERROR/);
      const failed = await pv.openstackJson<{ status: string; fault?: { message?: string } | string }>(['server', 'show', 'apart-2']);
      assert.equal(failed.status, 'ERROR');
      assert.match(JSON.stringify(failed.fault ?? ''), /ServerGroupAntiAffinityFilter/);
      const usage = await pv.openstackJson<unknown[]>(['usage', 'list']);
      assert.ok(usage.length >= 1);
      const cls = await admin.request<{ quota_class_set: { id: string; cores: number } }>('GET', '/compute/v2.1/os-quota-class-sets/default');
      assert.equal(cls.body.quota_class_set.id, 'default');
      for (const id of [...ids, first.id, 'apart-2']) await pv.openstack(['server', 'delete', '--wait', id]);
      await pv.openstack(['server', 'group', 'delete', near.id, apart.id]);
    });

    it("keeps projects apart: a member of another project gets 404 for A's server", async () => {
      await pv.openstack(['project', 'create', 'project-b']);
      await pv.openstack(['user', 'create', '--project', 'project-b', '--password', 'b-pass-123', 'user-b']);
      await pv.openstack(['role', 'add', '--project', 'project-b', '--user', 'user-b', 'member']);
      const created = await admin.request<{ server: { id: string } }>('POST', '/compute/v2.1/servers', {
        server: { name: 'private-a', imageRef: imageId, flavorRef: '1' },
      });
      assert.equal(created.status, 202);
      const id = created.body.server.id;
      await reaches(id, 'ACTIVE');

      const b = await ApiClient.login(pv.url, 'user-b', 'b-pass-123', 'project-b');
      assert.equal((await b.request('GET', `/compute/v2.1/servers/${id}`)).status, 404);
      assert.equal((await b.request('POST', `/compute/v2.1/servers/${id}/action`, { 'os-stop': null })).status, 404);
      assert.equal((await b.request('DELETE', `/compute/v2.1/servers/${id}`)).status, 404);
      const list = await b.request<{ servers: unknown[] }>('GET', '/compute/v2.1/servers');
      assert.deepEqual(list.body.servers, []);
      const bServers = await pv.openstackJson<Server[]>(['server', 'list'], { username: 'user-b', password: 'b-pass-123', project: 'project-b' });
      assert.deepEqual(bServers, []);
      assert.equal(await statusOf(id), 'ACTIVE', "B's attempts changed nothing");
    });

    it('answers bad input with OpenStack faults and creates nothing', async () => {
      const before = await admin.request<{ servers: unknown[] }>('GET', '/compute/v2.1/servers?all_tenants=1');
      const post = (body: unknown) => admin.request<Record<string, { code: number; message: string }>>('POST', '/compute/v2.1/servers', body);
      const malformed = await post('{"server": {"name": ');
      assert.equal(malformed.status, 400);
      assert.ok(malformed.body['badRequest'], JSON.stringify(malformed.body));
      const unknownField = await post({ server: { name: 'x', imageRef: imageId, flavorRef: '1', bogus: 1 } });
      assert.equal(unknownField.status, 400);
      const wrongType = await post({ server: { name: 42, imageRef: imageId, flavorRef: '1' } });
      assert.equal(wrongType.status, 400);
      const noFlavor = await post({ server: { name: 'x', imageRef: imageId, flavorRef: 'no-such-flavor' } });
      assert.equal(noFlavor.status, 400);
      assert.match(JSON.stringify(noFlavor.body), /[Ff]lavor/);
      const noImage = await post({ server: { name: 'x', imageRef: '00000000-0000-4000-8000-000000000000', flavorRef: '1' } });
      assert.equal(noImage.status, 400);
      assert.match(JSON.stringify(noImage.body), /[Ii]mage/);
      const huge = await post({ server: { name: 'x'.repeat(10 * 1024 * 1024), imageRef: imageId, flavorRef: '1' } });
      assert.equal(huge.status, 413);
      assert.equal((await admin.request('GET', '/compute/v2.1/servers/00000000-0000-4000-8000-000000000000')).status, 404);
      const afterList = await admin.request<{ servers: unknown[] }>('GET', '/compute/v2.1/servers?all_tenants=1');
      assert.equal(afterList.body.servers.length, before.body.servers.length, 'no server was created by bad requests');
    });

    it('never writes the admin password or a token to its logs', async () => {
      assert.ok(pv.logs().length > 0, 'the process logged something');
      assert.ok(!pv.logs().includes(ADMIN_PASSWORD));
      assert.ok(!pv.logs().includes(admin.token));
    });
  });
}
