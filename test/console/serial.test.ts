import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { createApiServer } from '../../src/api/server.js';
import { computeRoutes } from '../../src/compute/api/index.js';
import { configFromText } from '../../src/config/load.js';
import { consoleRoutes } from '../../src/console/index.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { silentLogger } from '../../src/log.js';
import { openTestSqlite } from '../support/databases.js';
import { fakeAuthenticator } from '../support/fake-auth.js';
import { seedDefaultFlavors } from '../../src/db/repos/flavors.js';
import { TestCloud } from '../compute/agent/harness.js';
import { addImage, IMAGE_ID } from '../compute/api/harness.js';

/**
 * Serial consoles end to end over real sockets: the Compute API answers a serial console's
 * websocket URL, the API process's console proxy pipes it to the TCP endpoint the fake
 * driver's VM offers (a banner, then an echo), and after a live migration the console URL
 * reaches the VM on its new host.
 */
describe('serial console: os-getSerialConsole / remote-consoles serial through the console proxy', () => {
  let h: DatabaseHandle;
  let app: FastifyInstance;
  let base = '';
  let cloud: TestCloud;

  before(async () => {
    h = await openTestSqlite();
    const { config } = configFromText('[DEFAULT]\nreserved_host_memory_mb = 0\n');
    app = createApiServer({ logger: silentLogger, authenticator: fakeAuthenticator, maxBodySize: config.api.max_request_body_size });
    await app.register(computeRoutes({ db: h.db, bus: h.bus, config, logger: silentLogger, dialect: h.dialect, publicUrl: () => base }), { prefix: '/compute' });
    await app.register(consoleRoutes({ db: h.db, config, logger: silentLogger }), { prefix: '/console' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await seedDefaultFlavors(h.db);
    await addImage(h, IMAGE_ID, { visibility: 'public', owner: 'p-admin' });
    cloud = new TestCloud(h);
    cloud.images.ids.add(IMAGE_ID);
    await cloud.addCompute('cmp1');
    await cloud.addCompute('cmp2');
    await cloud.addScheduler('sched');
  });
  after(async () => {
    await cloud?.stop();
    for (const c of cloud?.computes.values() ?? []) await c.driver.close();
    await app?.close();
    await h?.close();
  });

  const call = async (method: string, path: string, body?: unknown, version = '2.30', token = 'member-a') => {
    const res = await fetch(`${base}/compute/v2.1${path}`, {
      method,
      headers: { 'x-auth-token': token, 'OpenStack-API-Version': `compute ${version}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, text, body: (text === '' ? {} : JSON.parse(text)) as Record<string, Record<string, string>> };
  };
  const row = (id: string) => h.db.selectFrom('instances').select(['vm_state', 'task_state', 'host']).where('uuid', '=', id).executeTakeFirstOrThrow();

  /** Opens the URL as it is (no subprotocol, as a serial client does) and waits for `text` to come back. */
  const roundTrip = async (url: string, text: string): Promise<string> => {
    const ws = new WebSocket(url);
    let got = '';
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode} ${String(res.headers['x-console-refusal-message'])}`)));
        ws.on('open', () => ws.send(Buffer.from(text)));
        ws.on('message', (data: Buffer) => {
          got += data.toString();
          if (got.includes(text)) resolve();
        });
        ws.on('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
      });
    } finally {
      ws.close();
    }
    return got;
  };

  it('answers a ws:// URL whose websocket greets and echoes, before and after a live migration', async () => {
    const created = await call('POST', '/servers', { server: { name: 'serial-vm', imageRef: IMAGE_ID, flavorRef: '1', networks: 'none' } });
    assert.equal(created.status, 202, created.text);
    const id = String(created.body['server']?.['id']);
    const first = await cloud.waitFor('ACTIVE', async () => {
      const r = await row(id);
      return r.vm_state === 'active' && r.task_state === null ? r : undefined;
    });

    const rc = await call('POST', `/servers/${id}/remote-consoles`, { remote_console: { protocol: 'serial', type: 'serial' } });
    assert.equal(rc.status, 200, rc.text);
    assert.equal(rc.body['remote_console']?.['protocol'], 'serial');
    assert.equal(rc.body['remote_console']?.['type'], 'serial');
    const url = String(rc.body['remote_console']?.['url']);
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/console\/websockify\?path=console%2Fwebsockify%3Ftoken%3D/);
    const got = await roundTrip(url, 'hello serial');
    assert.match(got, /^Polyvisor fake serial console of serial-vm\r\n/);

    const other = first.host === 'cmp1' ? 'cmp2' : 'cmp1';
    const mig = await call('POST', `/servers/${id}/action`, { 'os-migrateLive': { host: other, block_migration: 'auto' } }, '2.30', 'admin');
    assert.equal(mig.status, 202, mig.text);
    await cloud.waitFor('migrated', async () => {
      const r = await row(id);
      return r.host === other && r.task_state === null ? r : undefined;
    });
    const action = await call('POST', `/servers/${id}/action`, { 'os-getSerialConsole': { type: 'serial' } });
    assert.equal(action.status, 200, action.text);
    assert.equal(action.body['console']?.['type'], 'serial');
    assert.match(await roundTrip(String(action.body['console']?.['url']), 'after migration'), /after migration/);

    const wrong = await call('POST', `/servers/${id}/action`, { 'os-getSerialConsole': { type: 'novnc' } });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.body['badRequest']?.['message'], "Invalid input for field/attribute type. Value: 'novnc'. 'novnc' is not one of ['serial']");
  });
});
