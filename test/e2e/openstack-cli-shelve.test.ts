import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from '../support/http-client.js';
import { E2E_BACKENDS } from '../support/e2e-backends.js';
import { ADMIN_PASSWORD, eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';

/**
 * Snapshots, console output, shelve and rescue as a user runs them: Debian's `openstack`
 * CLI against `polyvisor serve` (fake driver), on SQLite and on PostgreSQL (where the
 * console request and the unshelve placement cross LISTEN/NOTIFY).
 */
for (const backend of E2E_BACKENDS) {
  describe(`openstack CLI: snapshots, console log, shelve, rescue (${backend.name})`, () => {
    let pv: PolyvisorProcess;
    let admin: ApiClient;
    let serverId: string;

    before(async () => {
      const databaseUrl = await backend.databaseUrl();
      pv = await startPolyvisor({ ...(databaseUrl ? { databaseUrl } : {}) });
      admin = await ApiClient.login(pv.url, 'admin', ADMIN_PASSWORD, 'admin');
      const file = join(pv.stateDir, 'disk.raw');
      writeFileSync(file, Buffer.alloc(1024 * 1024, 1));
      await pv.openstack(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'base']);
      const server = await pv.openstackJson<{ id: string; status: string }>(['server', 'create', '--flavor', 'm1.tiny', '--image', 'base', '--wait', 'web']);
      assert.equal(server.status, 'ACTIVE');
      serverId = server.id;
    });
    after(async () => pv.stop());

    const statusOf = async (id: string) => (await admin.request<{ server: { status: string } }>('GET', `/compute/v2.1/servers/${id}`)).body.server.status;
    const reaches = (id: string, status: string) => eventually(async () => ((await statusOf(id)) === status ? true : undefined), `server ${id} to reach ${status}`, 30_000);

    it('server image create --wait makes an active snapshot image with the server’s uuid', async () => {
      await pv.openstack(['server', 'image', 'create', '--name', 'web-snap', '--wait', serverId]);
      const image = await pv.openstackJson<{ status: string; properties: Record<string, string> }>(['image', 'show', 'web-snap']);
      assert.equal(image.status, 'active');
      assert.equal(image.properties['instance_uuid'], serverId);
      assert.equal(image.properties['image_type'], 'snapshot');
      await reaches(serverId, 'ACTIVE');
    });

    it('console log show returns the tail of the guest’s console log', async () => {
      const out = await pv.openstack(['console', 'log', 'show', '--lines', '3', serverId]);
      assert.equal(out.trimEnd().split('\n').length, 3, out);
      assert.match(out, /web login:/);
    });

    it('server shelve offloads the server, server unshelve brings it back ACTIVE', async () => {
      await pv.openstack(['server', 'shelve', serverId]);
      await reaches(serverId, 'SHELVED_OFFLOADED');
      const shelved = await pv.openstackJson<{ ID: string; Name: string }[]>(['image', 'list', '--name', 'web-shelved']);
      assert.equal(shelved.length, 1);
      await pv.openstack(['server', 'unshelve', serverId]);
      await reaches(serverId, 'ACTIVE');
      await eventually(async () => ((await pv.openstackJson<unknown[]>(['image', 'list', '--name', 'web-shelved'])).length === 0 ? true : undefined), 'the shelved image to be deleted', 30_000);
    });

    it('server rescue and unrescue', async () => {
      await pv.openstack(['server', 'rescue', serverId]);
      await reaches(serverId, 'RESCUE');
      await pv.openstack(['server', 'unrescue', serverId]);
      await reaches(serverId, 'ACTIVE');
      const actions = await admin.request<{ instanceActions: { action: string }[] }>('GET', `/compute/v2.1/servers/${serverId}/os-instance-actions`);
      assert.deepEqual(new Set(actions.body.instanceActions.map((a) => a.action)), new Set(['create', 'createImage', 'shelve', 'unshelve', 'rescue', 'unrescue']));
    });
  });
}
