import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compareVersions, MAX_VERSION } from '../../../src/compute/api/microversion.js';
import { publishConsole, validateConsoleToken } from '../../../src/db/repos/consoles.js';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { addComputeNode, at, instance, startHarness, str, type ComputeHarness } from './harness.js';

describe('compute API: VNC consoles and pause on hypervisors without it', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness('[vnc]\nnovncproxy_base_url = http://console.test:6080/vnc_auto.html\n');
    await addComputeNode(t.h, { host: 'cmp1' });
    await addComputeNode(t.h, { host: 'vc1', node: 'domain-c7.vcenter-uuid' });
    // What the compute agent reports for a VMware node.
    await t.h.db
      .updateTable('compute_nodes')
      .set({ hypervisor_type: 'VMware vCenter Server', capabilities: JSON.stringify({ hypervisor_type: 'VMware vCenter Server', supports_pause: 'False' }) })
      .where('hypervisor_hostname', '=', 'domain-c7.vcenter-uuid')
      .execute();
  });
  after(async () => t.close());

  const make = async (o: Parameters<typeof instance>[0] = {}) => {
    const row = instance(o);
    await insertInstances(t.h.db, [row]);
    return row.uuid;
  };
  const row = async (uuid: string) => t.h.db.selectFrom('instances').selectAll().where('uuid', '=', uuid).executeTakeFirstOrThrow();
  const act = (uuid: string, body: unknown, token = 'member-a') => t.call('POST', `/compute/v2.1/servers/${uuid}/action`, token, body);

  it('answers 409 for pause and unpause on a VMware server, naming the hypervisor, and changes nothing', async () => {
    const active = await make({ host: 'vc1', node: 'domain-c7.vcenter-uuid', vm_state: 'active' });
    const res = await act(active, { pause: null });
    assert.equal(res.status, 409, res.text);
    assert.equal(at(res.body, 'conflictingRequest', 'code'), 409);
    assert.match(str(res.body, 'conflictingRequest', 'message'), /pause is not supported by this hypervisor \(VMware vCenter Server\)/);
    const after = await row(active);
    assert.deepEqual([after.vm_state, after.task_state], ['active', null]);
    const actions = await t.h.db.selectFrom('instance_actions').select('action').where('instance_uuid', '=', active).execute();
    assert.deepEqual(actions, []);
    const paused = await make({ host: 'vc1', node: 'domain-c7.vcenter-uuid', vm_state: 'paused' });
    assert.equal((await act(paused, { unpause: null })).status, 409);
  });

  it('still accepts pause on a hypervisor that supports it, and suspend on VMware', async () => {
    const fake = await make({ host: 'cmp1', node: 'cmp1-node', vm_state: 'active' });
    assert.equal((await act(fake, { pause: null })).status, 202);
    const vmw = await make({ host: 'vc1', node: 'domain-c7.vcenter-uuid', vm_state: 'active' });
    assert.equal((await act(vmw, { suspend: null })).status, 202);
  });

  it('os-getVNCConsole answers the proxy URL with a token that resolves to the published host and port', async () => {
    const uuid = await make({ host: 'vc1', node: 'domain-c7.vcenter-uuid', vm_state: 'active' });
    await publishConsole(t.h.db, uuid, { protocol: 'vnc', host: 'DC0_C0_H1', port: 5907 });
    const res = await act(uuid, { 'os-getVNCConsole': { type: 'novnc' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(str(res.body, 'console', 'type'), 'novnc');
    const url = new URL(str(res.body, 'console', 'url'));
    assert.equal(`${url.origin}${url.pathname}`, 'http://console.test:6080/vnc_auto.html');
    const token = /^\?token=(.+)$/.exec(url.searchParams.get('path') ?? '')?.[1] ?? '';
    assert.ok(token.length >= 32, `a long random token: ${url.href}`);
    const grant = await validateConsoleToken(t.h.db, token);
    assert.deepEqual([grant?.instance_uuid, grant?.host, grant?.port, grant?.console_type], [uuid, 'DC0_C0_H1', 5907, 'novnc']);
    // Only the hash is stored: the database alone opens no console.
    const stored = await t.h.db.selectFrom('console_auth_tokens').select('token_hash').execute();
    assert.ok(stored.every((s) => s.token_hash !== token));
    assert.equal(await validateConsoleToken(t.h.db, `${token}x`), undefined);
  });

  it('refuses bad console requests with Nova’s faults', async () => {
    const uuid = await make({ host: 'vc1', node: 'domain-c7.vcenter-uuid', vm_state: 'active' });
    await publishConsole(t.h.db, uuid, { protocol: 'vnc', host: 'h', port: 5901 });
    const cases: [unknown, string, number, RegExp][] = [
      [{ 'os-getVNCConsole': { type: 'spice-html5' } }, 'member-a', 400, /is not one of \['novnc', 'xvpvnc'\]/],
      [{ 'os-getVNCConsole': {} }, 'member-a', 400, /'type' is a required property/],
      [{ 'os-getVNCConsole': { type: 'novnc', extra: 1 } }, 'member-a', 400, /'extra' was unexpected/],
      [{ 'os-getVNCConsole': { type: 'xvpvnc' } }, 'member-a', 400, /Unavailable console type xvpvnc/],
      [{ 'os-getVNCConsole': { type: 'novnc' } }, 'member-b', 404, /could not be found/],
      [{ 'os-getVNCConsole': { type: 'novnc' } }, 'reader-a', 403, /.+/],
    ];
    for (const [body, token, status, message] of cases) {
      const res = await act(uuid, body, token);
      assert.equal(res.status, status, `${JSON.stringify(body)} as ${token}: ${res.text}`);
      assert.match(res.text, message);
    }
    assert.equal((await t.h.db.selectFrom('console_auth_tokens').select('token_hash').where('instance_uuid', '=', uuid).execute()).length, 0);
  });

  it('answers 409 for a server that is not active and 501 when its hypervisor published no console', async () => {
    const stopped = await make({ host: 'vc1', node: 'domain-c7.vcenter-uuid', vm_state: 'stopped' });
    await publishConsole(t.h.db, stopped, { protocol: 'vnc', host: 'h', port: 5902 });
    const r409 = await act(stopped, { 'os-getVNCConsole': { type: 'novnc' } });
    assert.equal(r409.status, 409);
    assert.match(str(r409.body, 'conflictingRequest', 'message'), /is not ready/);
    const noConsole = await make({ host: 'cmp1', node: 'cmp1-node', vm_state: 'active' });
    const r501 = await act(noConsole, { 'os-getVNCConsole': { type: 'novnc' } });
    assert.equal(r501.status, 501);
    assert.match(str(r501.body, 'notImplemented', 'message'), /Unable to get vnc console/);
  });

  it('POST /servers/{id}/remote-consoles exists only from microversion 2.6, as in Nova', async () => {
    const uuid = await make({ host: 'vc1', node: 'domain-c7.vcenter-uuid', vm_state: 'active' });
    await publishConsole(t.h.db, uuid, { protocol: 'vnc', host: 'DC0_C0_H0', port: 5903 });
    const body = { remote_console: { protocol: 'vnc', type: 'novnc' } };
    const old = await t.call('POST', `/compute/v2.1/servers/${uuid}/remote-consoles`, 'member-a', body);
    assert.equal(old.status, 404);
    const latest = await t.call('POST', `/compute/v2.1/servers/${uuid}/remote-consoles`, 'member-a', body, { 'OpenStack-API-Version': 'compute latest' });
    if (compareVersions(MAX_VERSION, { major: 2, minor: 6 }) >= 0) {
      assert.equal(latest.status, 200, latest.text);
      assert.deepEqual([at(latest.body, 'remote_console', 'protocol'), at(latest.body, 'remote_console', 'type')], ['vnc', 'novnc']);
      assert.match(str(latest.body, 'remote_console', 'url'), /^http:\/\/console\.test:6080\/vnc_auto\.html\?path=%3Ftoken%3D/);
    } else {
      // The API does not claim 2.6 yet: the latest version it negotiates has no such URL.
      assert.equal(latest.status, 404);
    }
  });
});
