import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, methods } from '../../src/vsphere/index.js';
import { startTestVcsim, type TestVcsim } from './vcsim-harness.js';

describe('session: re-login, keepalive, logout', () => {
  let sim: TestVcsim;
  const connect = (extra: { keepAliveMs?: number; maxSockets?: number } = {}): Promise<Client> =>
    Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '', ...extra });

  before(async () => {
    // Sessions idle for 600 ms expire, as a vCenter's would after its idle timeout.
    sim = await startTestVcsim({ sessionIdleTimeoutMs: 600 });
  });
  after(() => sim.stop());

  it('TerminateSession while 20 calls are in flight: every call succeeds after one shared re-login', async () => {
    const admin = await connect({ keepAliveMs: 100 });
    const client = await connect({ maxSockets: 32, keepAliveMs: 100 });
    try {
      const [vm] = (await client.inventory({ vms: true })).byType('VirtualMachine');
      assert.ok(vm);
      assert.equal(client.session.loginCount, 1);
      const key = client.session.userSession?.key ?? '';
      // Hold both kinds of call in the harness so that all 20 are in flight when the session dies.
      await sim.setMethodDelay('CurrentTime', 300);
      await sim.setMethodDelay('RetrievePropertiesEx', 300);
      const calls = [
        ...Array.from({ length: 10 }, () => client.currentTime()),
        ...Array.from({ length: 10 }, () => client.pc.retrieveOne(vm.ref, ['name'])),
      ];
      await sim.waitInflight('CurrentTime', 10);
      await sim.waitInflight('RetrievePropertiesEx', 10);
      await admin.terminateSessions([key]);
      await sim.setMethodDelay('CurrentTime', 0);
      await sim.setMethodDelay('RetrievePropertiesEx', 0);
      const results = await Promise.all(calls);
      assert.equal(results.length, 20);
      for (const r of results.slice(0, 10)) assert.ok(r instanceof Date);
      for (const r of results.slice(10)) assert.equal((r as { name?: unknown }).name, vm.props['name']);
      assert.equal(client.session.loginCount, 2, 'one shared re-login');
      assert.equal(client.counter.count('Login'), 2);
      assert.notEqual(client.session.userSession?.key, key);
    } finally {
      await sim.setMethodDelay('CurrentTime', 0);
      await sim.setMethodDelay('RetrievePropertiesEx', 0);
      await client.close();
      await admin.close();
    }
  });

  it('keeps an idle session alive; without keepalive the session expires and the next call logs in again', async () => {
    const kept = await connect({ keepAliveMs: 150 });
    const idle = await connect({ keepAliveMs: 0 });
    try {
      // Idling is the behaviour under test: let more than the server's idle timeout pass.
      await new Promise((r) => setTimeout(r, 1500));
      await kept.currentTime();
      await idle.currentTime();
      assert.equal(kept.session.loginCount, 1, 'keepalive held the session');
      assert.ok(kept.counter.count('CurrentTime') >= 3, 'keepalive calls were sent while idle');
      assert.equal(idle.session.loginCount, 2, 'the expired session was replaced transparently');
    } finally {
      await kept.close();
      await idle.close();
    }
  });

  it('logs out on close: the session is gone on the server', async () => {
    const admin = await connect({ keepAliveMs: 100 });
    const client = await connect();
    const key = client.session.userSession?.key ?? '';
    const sm = admin.content.sessionManager;
    assert.ok(sm);
    try {
      assert.equal(await methods.sessionIsActive(admin.rt, sm, key, sim.username), true);
      await client.close();
      assert.equal(client.counter.count('Logout'), 1);
      assert.equal(await methods.sessionIsActive(admin.rt, sm, key, sim.username), false);
    } finally {
      await admin.close();
    }
  });
});
