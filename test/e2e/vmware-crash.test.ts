import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pyvmomiView } from '../compute/drivers/vmware/pyvmomi.js';
import { ApiClient } from '../support/http-client.js';
import { ADMIN_PASSWORD, eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';
import { startTestVcsim, type TestVcsim } from '../vsphere/vcsim-harness.js';
import { vmwareConf } from './vmware-support.js';

interface ServerView {
  id: string;
  status: string;
  fault?: { message: string };
}

/** vcsim's hosts are small: room for the 40 boots of this file. */
const CONF = (sim: TestVcsim): string => vmwareConf(sim, '', 'cpu_allocation_ratio = 64.0\nram_allocation_ratio = 8.0');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Kill -9 during 20 VMware spawns and restart; the vCenter session terminated during 20 boots. */
describe('VMware resilience through polyvisor serve on vcsim', () => {
  let sim: TestVcsim;
  let pv: PolyvisorProcess | undefined;
  let imageId = '';
  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 2 });
  });
  after(async () => {
    await pv?.stop();
    await sim.stop();
  });

  const boot = async (admin: ApiClient, name: string, n: number): Promise<string> => {
    const created = await admin.request<{ reservation_id: string }>('POST', '/compute/v2.1/servers', {
      server: { name, imageRef: imageId, flavorRef: '1', min_count: n, max_count: n, return_reservation_id: true },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    return created.body.reservation_id;
  };
  const settled = async (admin: ApiClient, reservation: string, n: number): Promise<ServerView[]> =>
    eventually(async () => {
      const s = (await admin.request<{ servers: ServerView[] }>('GET', `/compute/v2.1/servers/detail?reservation_id=${reservation}`)).body.servers;
      return s.length === n && s.every((x) => x.status === 'ACTIVE' || x.status === 'ERROR') ? s : undefined;
    }, `${n} servers to settle`, 120_000);

  it('kill -9 at a random point of 20 spawns, restart: every server ACTIVE or ERROR with a fault, no orphan VM, folder or file', async () => {
    const first = await startPolyvisor({ conf: CONF(sim) });
    pv = first;
    const admin = await ApiClient.login(first.url, 'admin', ADMIN_PASSWORD, 'admin');
    const image = await admin.request<{ id: string }>('POST', '/image/v2/images', { name: 'flat', disk_format: 'raw', container_format: 'bare' });
    imageId = image.body.id;
    assert.equal((await admin.request('PUT', `/image/v2/images/${imageId}/file`, Buffer.alloc(2 * 1024 * 1024, 5), { 'content-type': 'application/octet-stream' })).status, 204);
    // Slow vCenter tasks spread the 20 spawns over their steps, so the kill lands mid-way.
    await sim.setTaskDelay('*', 400);
    const reservation = await boot(admin, 'crash', 20);
    await sim.waitInflight('CreateVM_Task', 1);
    // A random point inside the spawns: each has at least 2 tasks of 400 ms still to run.
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 350)));
    const beforeKill = (await admin.request<{ servers: ServerView[] }>('GET', `/compute/v2.1/servers/detail?reservation_id=${reservation}`)).body.servers;
    await first.kill9();
    assert.ok(beforeKill.some((s) => s.status === 'BUILD'), 'the kill interrupted spawns in progress');
    await sim.setTaskDelay('*', 0);

    const second = await startPolyvisor({ conf: CONF(sim), stateDir: first.stateDir });
    pv = second;
    const admin2 = await ApiClient.login(second.url, 'admin', ADMIN_PASSWORD, 'admin');
    const servers = await settled(admin2, reservation, 20);
    for (const s of servers.filter((x) => x.status === 'ERROR')) assert.ok(s.fault?.message, `server ${s.id} in ERROR has a fault`);
    const active = new Set(servers.filter((s) => s.status === 'ACTIVE').map((s) => s.id));

    // What vCenter holds (pyVmomi) and what the datastore holds (its directory): exactly the ACTIVE servers.
    const ours = (await pyvmomiView(sim)).vms.filter((v) => UUID.test(v.name));
    assert.deepEqual(ours.map((v) => v.name).sort(), [...active].sort(), 'one VM per ACTIVE server, none for the others');
    const dsRoot = join(sim.datastoreDir, readdirSync(sim.datastoreDir)[0] ?? '');
    const folders = readdirSync(dsRoot).filter((f) => UUID.test(f));
    assert.deepEqual(folders.sort(), [...active].sort(), 'one VM folder per ACTIVE server on the datastore');
    const cache = readdirSync(join(dsRoot, 'vmware_base'));
    assert.deepEqual(cache, [imageId], 'the image cache holds the one image, no half-transferred entry');
  });

  it('the vCenter session terminated during 20 boots: all 20 reach ACTIVE', async () => {
    assert.ok(pv);
    const admin = await ApiClient.login(pv.url, 'admin', ADMIN_PASSWORD, 'admin');
    await sim.setTaskDelay('*', 100);
    const reservation = await boot(admin, 'session', 20);
    await sim.waitInflight('CreateVM_Task', 1);
    const url = new URL(sim.url);
    const script = join(dirname(fileURLToPath(import.meta.url)), 'pyvmomi-terminate-sessions.py');
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, url.hostname, url.port, sim.username], { env: { ...process.env, VC_PASSWORD: sim.password } });
    assert.ok(Number(stdout.trim()) >= 1, 'polyvisor’s session was terminated');
    await sim.setTaskDelay('*', 0);
    const servers = await settled(admin, reservation, 20);
    assert.deepEqual(servers.filter((s) => s.status !== 'ACTIVE').map((s) => [s.id, s.fault?.message]), []);
    const names = new Set((await pyvmomiView(sim)).vms.map((v) => v.name));
    for (const s of servers) assert.ok(names.has(s.id));
  });
});
