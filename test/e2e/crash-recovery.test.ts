import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { ApiClient } from '../support/http-client.js';
import { ADMIN_PASSWORD, eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';

/**
 * Kill -9 the all-in-one while 50 servers build, start it again: within one reconcile
 * period every server is ACTIVE or ERROR with a fault, none stuck in BUILD.
 */
const CONF = ['[fake]', 'nodes = 2', 'spawn_delay_ms = 1500', '[quota]', 'instances = -1', 'cores = -1', 'ram = -1'].join('\n');

interface ServerView {
  id: string;
  status: string;
  fault?: { message: string };
}

describe('crash recovery of the all-in-one', () => {
  let pv: PolyvisorProcess | undefined;
  let stateDir: string | undefined;
  after(async () => {
    await pv?.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('finishes or fails every build interrupted by kill -9, with a fault for each failure', async () => {
    const first = await startPolyvisor({ conf: CONF });
    pv = first;
    stateDir = first.stateDir;
    const admin = await ApiClient.login(first.url, 'admin', ADMIN_PASSWORD, 'admin');
    const file = new Uint8Array(64 * 1024);
    const image = await admin.request<{ id: string }>('POST', '/image/v2/images', { name: 'img', disk_format: 'raw', container_format: 'bare' });
    assert.equal(image.status, 201);
    const up = await admin.request('PUT', `/image/v2/images/${image.body.id}/file`, Buffer.from(file), { 'content-type': 'application/octet-stream' });
    assert.equal(up.status, 204);

    const created = await admin.request<{ reservation_id: string }>('POST', '/compute/v2.1/servers', {
      server: { name: 'crash', imageRef: image.body.id, flavorRef: '1', min_count: 50, max_count: 50, return_reservation_id: true },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const reservation = created.body.reservation_id;
    const list = async () =>
      (await admin.request<{ servers: ServerView[] }>('GET', `/compute/v2.1/servers/detail?reservation_id=${reservation}`)).body.servers;
    // Kill once the builds are under way on the hypervisor (some spawning), not before.
    const beforeKill = await eventually(async () => {
      const s = await list();
      return s.length === 50 ? s : undefined;
    }, '50 servers to exist', 20_000);
    await first.kill9();
    const building = beforeKill.filter((s) => s.status === 'BUILD').length;
    assert.ok(building > 0, 'the kill interrupted builds in progress');

    const second = await startPolyvisor({ conf: CONF, stateDir: first.stateDir });
    pv = second;
    const admin2 = await ApiClient.login(second.url, 'admin', ADMIN_PASSWORD, 'admin');
    const servers = await eventually(
      async () => {
        const s = (await admin2.request<{ servers: ServerView[] }>('GET', `/compute/v2.1/servers/detail?reservation_id=${reservation}`)).body.servers;
        return s.length === 50 && s.every((x) => x.status === 'ACTIVE' || x.status === 'ERROR') ? s : undefined;
      },
      'every interrupted build to end ACTIVE or ERROR',
      30_000,
    );
    for (const s of servers.filter((x) => x.status === 'ERROR')) assert.ok(s.fault?.message, `ERROR server ${s.id} carries a fault`);
    assert.ok(servers.filter((s) => s.status === 'ACTIVE').length > 0, 'recovery resumed some builds');
  });
});
