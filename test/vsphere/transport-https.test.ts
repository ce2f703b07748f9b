import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, InvalidLoginFault, VsphereAbortError, VsphereTimeoutError, VsphereTlsError, withRequestId } from '../../src/vsphere/index.js';
import { captureLogs } from './log-capture.js';
import { startTestVcsim, type TestVcsim } from './vcsim-harness.js';

describe('HTTPS transport against vcsim', () => {
  let sim: TestVcsim;
  before(async () => {
    sim = await startTestVcsim({ tls: true, password: 'S3cret-pass-word!' });
  });
  after(() => sim.stop());

  it('connects over HTTPS verified with the harness CA file, and every call carries an opID and a debug line', async () => {
    assert.match(sim.url, /^https:\/\/127\.0\.0\.1:\d+\/sdk$/);
    const logs = captureLogs();
    const client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '', logger: logs.logger });
    try {
      await withRequestId('req-abc', () => client.currentTime());
      const [dc] = (await client.inventory()).byType('Datacenter');
      assert.equal(dc?.props['name'], 'DC0');
    } finally {
      await client.close();
    }
    const calls = logs.lines().filter((l) => l['msg'] === 'vSphere call');
    assert.deepEqual(calls.map((l) => l['method']), ['RetrieveServiceContent', 'Login', 'CurrentTime', 'RetrievePropertiesEx', 'Logout']);
    for (const l of calls) {
      assert.match(String(l['opId']), /^polyvisor-[0-9a-f-]{36}/);
      assert.equal(l['outcome'], 'ok');
      assert.equal(typeof l['durationMs'], 'number');
      assert.match(String(l['target']), /^\w+:.+/);
    }
    const tied = calls.find((l) => l['method'] === 'CurrentTime');
    assert.equal(tied?.['requestId'], 'req-abc');
    assert.match(String(tied?.['opId']), /-req-abc$/);
    assert.ok(!logs.text().includes(sim.password), 'the password never reaches a log line');
  });

  it('fails with a clear TLS error when the CA is wrong, and connects with insecure (logging a warning)', async () => {
    await assert.rejects(
      Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: '/etc/ssl/certs/ca-certificates.crt' }),
      (e: unknown) => e instanceof VsphereTlsError && /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed: .*certificate.*ca_file/.test(e.message),
    );
    await assert.rejects(Client.connect({ url: sim.url, username: sim.username, password: sim.password }), VsphereTlsError);
    const logs = captureLogs();
    const client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, insecure: true, logger: logs.logger });
    await client.close();
    const warning = logs.lines().find((l) => l['level'] === 40 && /verification .* disabled/.test(String(l['msg'])));
    assert.ok(warning, 'insecure is logged as a warning');
  });

  it('rejects a wrong password with InvalidLogin, and the password appears in no message or log', async () => {
    const logs = captureLogs();
    const wrong = 'Wr0ng-Pa55word-xyz';
    const err = await Client.connect({ url: sim.url, username: sim.username, password: wrong, caFile: sim.caFile ?? '', logger: logs.logger }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof InvalidLoginFault);
    assert.equal(err.faultType, 'InvalidLogin');
    const everything = `${err.message} ${JSON.stringify(err.details)} ${err.stack ?? ''} ${logs.text()}`;
    assert.ok(!everything.includes(wrong) && !everything.includes(sim.password));
  });

  it('bounds every call by its timeout and honours an AbortSignal', async () => {
    const client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '', retryCount: 0 });
    try {
      await sim.setMethodDelay('CurrentTime', 400);
      await assert.rejects(client.currentTime({ timeoutMs: 100 }), (e: unknown) => e instanceof VsphereTimeoutError && /CurrentTime timed out after 100 ms/.test(e.message));
      const ac = new AbortController();
      const call = client.currentTime({ signal: ac.signal });
      await sim.waitInflight('CurrentTime', 1);
      ac.abort();
      await assert.rejects(call, VsphereAbortError);
      await sim.setMethodDelay('CurrentTime', 0);
      assert.ok((await client.currentTime()) instanceof Date);
    } finally {
      await sim.setMethodDelay('CurrentTime', 0);
      await client.close();
    }
  });
});
