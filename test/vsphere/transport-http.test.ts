import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/vsphere/index.js';
import { startLatencyProxy } from '../../src/vsphere/sim/latency-proxy.js';
import { startTestVcsim, type TestVcsim } from './vcsim-harness.js';

describe('plain HTTP transport against vcsim', () => {
  let sim: TestVcsim;
  before(async () => {
    sim = await startTestVcsim({ tls: false });
  });
  after(() => sim.stop());

  it('connects over HTTP and reuses a bounded pool of kept-alive connections', async () => {
    assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+\/sdk$/);
    assert.equal(sim.caFile, undefined);
    const target = new URL(sim.url);
    // A zero-latency proxy in front of vcsim counts the TCP connections the client opens.
    const proxy = await startLatencyProxy({ host: target.hostname, port: Number(target.port) }, 0);
    const client = await Client.connect({ url: `http://127.0.0.1:${proxy.port}/sdk`, username: sim.username, password: sim.password, maxSockets: 3 });
    try {
      const vms = (await client.inventory({ vms: true })).byType('VirtualMachine');
      assert.equal(vms.length, 4, 'the default model has four VMs of its own');
      await Promise.all(Array.from({ length: 60 }, () => client.currentTime()));
      assert.equal(client.counter.count('CurrentTime'), 60);
      assert.ok(proxy.connections() <= 3, `at most maxSockets connections (saw ${proxy.connections()})`);
      assert.ok(proxy.connections() >= 1);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
