import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { E2E_BACKENDS } from '../support/e2e-backends.js';
import { startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';

/**
 * Host aggregates and availability zones through Debian's real `openstack` CLI against
 * `polyvisor serve`, as the multi-hypervisor guide uses them: a zone made by an aggregate,
 * a server booted into it, and `hypervisor show` listing the host's aggregates.
 */
const backends = E2E_BACKENDS;

for (const backend of backends) {
  describe(`openstack aggregate and availability zone commands (${backend.name})`, () => {
    let pv: PolyvisorProcess;
    let imageId: string;

    before(async () => {
      const databaseUrl = await backend.databaseUrl();
      // A one-second resource report: the agent must keep the aggregate's zone, not reset it.
      pv = await startPolyvisor({ ...(databaseUrl ? { databaseUrl } : {}), conf: '[DEFAULT]\nreport_interval = 1\n[fake]\nnodes = 2\n' });
      const file = join(pv.stateDir, 'disk.raw');
      writeFileSync(file, Buffer.alloc(64 * 1024, 1));
      imageId = (await pv.openstackJson<{ id: string }>(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'tiny'])).id;
    });
    after(async () => pv.stop());

    it('creates a zone with an aggregate, boots a server into it, and shows the host\'s aggregates', async () => {
      const created = await pv.openstackJson<{ name: string; availability_zone: string; id: number }>(['aggregate', 'create', '--zone', 'az1', 'agg1']);
      assert.equal(created.name, 'agg1');
      assert.equal(created.availability_zone, 'az1');
      await pv.openstack(['aggregate', 'add', 'host', 'agg1', 'e2e-host']);
      await pv.openstack(['aggregate', 'set', '--property', 'hypervisor=fake', 'agg1']);
      const shown = await pv.openstackJson<{ hosts: string[]; properties: Record<string, string> | string }>(['aggregate', 'show', 'agg1']);
      assert.deepEqual(shown.hosts, ['e2e-host']);
      assert.match(JSON.stringify(shown.properties), /hypervisor.*fake/);
      const listed = await pv.openstackJson<{ Name: string; 'Availability Zone': string }[]>(['aggregate', 'list']);
      assert.deepEqual(listed.map((a) => [a.Name, a['Availability Zone']]), [['agg1', 'az1']]);

      const zones = await pv.openstackJson<{ 'Zone Name': string; 'Zone Status': string }[]>(['availability', 'zone', 'list', '--compute']);
      // Admins see the internal zone of non-compute services too, as in Nova.
      const computeZones = zones.filter((z) => z['Zone Name'] !== 'internal');
      assert.deepEqual([...new Set(computeZones.map((z) => `${z['Zone Name']} ${z['Zone Status']}`))], ['az1 available']);
      const services = await pv.openstackJson<{ Binary: string; Zone: string }[]>(['compute', 'service', 'list', '--service', 'nova-compute']);
      assert.deepEqual(services.map((s) => s.Zone), ['az1']);

      // Let at least two resource reports pass: the scheduler must still see the nodes in az1.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const server = await pv.openstackJson<{ id: string; status: string; 'OS-EXT-AZ:availability_zone': string }>([
        'server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--availability-zone', 'az1', '--wait', 'in-az1',
      ]);
      assert.equal(server.status, 'ACTIVE');
      assert.equal(server['OS-EXT-AZ:availability_zone'], 'az1');
      await assert.rejects(pv.openstack(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--availability-zone', 'nova', 'nowhere']), /availability zone/i);

      const hypervisors = await pv.openstackJson<{ ID: number | string }[]>(['hypervisor', 'list']);
      const hv = await pv.openstackJson<{ aggregates: string[] | string; service_host: string }>(['hypervisor', 'show', String(hypervisors[0]?.ID)]);
      assert.equal(hv.service_host, 'e2e-host');
      assert.match(JSON.stringify(hv.aggregates), /agg1/);

      await pv.openstack(['server', 'delete', '--wait', server.id]);
    });

    it('refuses a second zone for the host and a delete while hosts remain, then cleans up', async () => {
      await pv.openstack(['aggregate', 'create', '--zone', 'az2', 'agg2']);
      await assert.rejects(pv.openstack(['aggregate', 'add', 'host', 'agg2', 'e2e-host']), /already in availability zone/);
      await assert.rejects(pv.openstack(['aggregate', 'delete', 'agg1']), /not empty/);
      await pv.openstack(['aggregate', 'remove', 'host', 'agg1', 'e2e-host']);
      await pv.openstack(['aggregate', 'delete', 'agg1', 'agg2']);
      assert.deepEqual(await pv.openstackJson<unknown[]>(['aggregate', 'list']), []);
      const zones = await pv.openstackJson<{ 'Zone Name': string }[]>(['availability', 'zone', 'list', '--compute']);
      assert.deepEqual([...new Set(zones.map((z) => z['Zone Name']).filter((z) => z !== 'internal'))], ['nova']);
    });
  });
}
