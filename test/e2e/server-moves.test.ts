import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { E2E_BACKENDS } from '../support/e2e-backends.js';
import { startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';

/**
 * Moving servers with Debian's real `openstack` CLI against `polyvisor serve` running two
 * fake compute hosts ([fake] hosts = 2): rebuild, resize with confirm, live migration and
 * the migration list, on each database backend.
 */
for (const backend of E2E_BACKENDS) {
  describe(`openstack server rebuild / resize / migrate (${backend.name})`, () => {
    let pv: PolyvisorProcess;
    let imageId: string;
    let image2: string;

    before(async () => {
      const databaseUrl = await backend.databaseUrl();
      pv = await startPolyvisor({ ...(databaseUrl ? { databaseUrl } : {}), conf: '[fake]\nhosts = 2\n' });
      const file = join(pv.stateDir, 'disk.raw');
      writeFileSync(file, Buffer.alloc(64 * 1024, 1));
      imageId = (await pv.openstackJson<{ id: string }>(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'tiny'])).id;
      image2 = (await pv.openstackJson<{ id: string }>(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'tiny2'])).id;
    });
    after(async () => pv.stop());

    it('rebuilds, resizes and confirms, live-migrates, and lists the migrations', async () => {
      type Server = { id: string; status: string; image: string | { id: string }; flavor: string; 'OS-EXT-SRV-ATTR:host': string };
      const server = await pv.openstackJson<Server>(['server', 'create', '--flavor', 'm1.tiny', '--image', imageId, '--wait', 'mover']);
      assert.equal(server.status, 'ACTIVE');

      await pv.openstack(['server', 'rebuild', '--image', image2, '--wait', 'mover']);
      const rebuilt = await pv.openstackJson<Server>(['server', 'show', 'mover']);
      assert.equal(rebuilt.status, 'ACTIVE');
      assert.match(JSON.stringify(rebuilt.image), new RegExp(image2));

      const before = rebuilt['OS-EXT-SRV-ATTR:host'];
      await pv.openstack(['server', 'resize', '--flavor', 'm1.small', '--wait', 'mover']);
      const resized = await pv.openstackJson<Server>(['server', 'show', 'mover']);
      assert.equal(resized.status, 'VERIFY_RESIZE');
      assert.match(resized.flavor, /m1\.small/);
      assert.notEqual(resized['OS-EXT-SRV-ATTR:host'], before);
      await pv.openstack(['server', 'resize', 'confirm', 'mover']);
      const migrations0 = await pv.openstackJson<{ Status: string; Type?: string }[]>(['server', 'migration', 'list']);
      assert.equal(migrations0.length, 1);

      const source = resized['OS-EXT-SRV-ATTR:host'];
      await pv.openstack(['server', 'migrate', '--live-migration', '--wait', 'mover']);
      const moved = await pv.openstackJson<Server>(['server', 'show', 'mover']);
      assert.equal(moved.status, 'ACTIVE');
      assert.notEqual(moved['OS-EXT-SRV-ATTR:host'], source);

      const migrations = await pv.openstackJson<{ Status: string; 'Source Compute': string; 'Dest Compute': string }[]>(['server', 'migration', 'list']);
      assert.deepEqual(migrations.map((m) => m.Status).sort(), ['completed', 'confirmed']);
      const diag = await pv.openstackJson<Record<string, unknown>>(['server', 'show', '--diagnostics', 'mover']);
      assert.equal(diag['cpu0_time'], 17300000000);
    });
  });
}
