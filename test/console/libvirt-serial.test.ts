import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ApiClient } from '../support/http-client.js';
import { libvirtComputeConf, startTestLibvirtd, virsh, type TestLibvirtd } from '../support/libvirtd.js';
import { ADMIN_PASSWORD, eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';
import { buildTestGuest, GUEST_MARKER, waitForBoots } from '../support/test-guest.js';

/** What the test guest's init prints on ttyS0 when the ACPI power button is pressed, just before it powers off. */
const POWEROFF_LINE = 'POLYVISOR-GUEST-POWEROFF';

/**
 * tempest's own websocket client (tempest.common.compute.create_websocket, as
 * test_live_migration_serial_console uses it) on a serial console URL: prints "connected"
 * once upgraded, then everything the frames carry until `want` has arrived (or the socket closes).
 */
const TEMPEST_SERIAL = `
import sys
from tempest.common import compute
url, want = sys.argv[1], sys.argv[2]
ws = compute.create_websocket(url)
assert ws.response.startswith(b'HTTP/1.1 101 Switching Protocols'), ws.response
ws._socket.settimeout(120)
print('connected', flush=True)
got = b''
while want.encode() not in got:
    frame = ws.receive_frame()
    if frame is None:
        break
    got += frame
ws.close()
print('received ' + repr(got.decode('latin1')), flush=True)
`;

interface ConsoleUrl {
  type: string;
  url: string;
}

/**
 * A libvirt guest's serial console through the API process's console proxy, with real peers:
 * `polyvisor serve` (libvirt driver, [serial_console] port_range of its own) on a private
 * libvirtd running the test guest. The guest's init writes to ttyS0 at boot and when the ACPI
 * power button is pressed (`openstack server stop`), so with the websocket open first, the
 * bytes it writes on stop must come through it — whatever the machine's speed.
 */
describe('serial console of a libvirt guest through the console proxy (openstack console url show --serial)', () => {
  let lv: TestLibvirtd;
  let pv: PolyvisorProcess;
  let api: ApiClient;
  let server: { id: string; name: string };
  const low = 61000 + 10 * Math.floor(Math.random() * 400);

  const consoleLog = (): string => join(lv.dir, 'instances', server.id, 'console.log');
  const status = async (): Promise<string> => (await api.request<{ server: { status: string } }>('GET', `/compute/v2.1/servers/${server.id}`)).body.server.status;
  const waitStatus = (want: string): Promise<string> => eventually(async () => ((await status()) === want ? want : undefined), `server ${want}`, 120_000, 200);

  before(async () => {
    let guestFile: string;
    [lv, guestFile] = await Promise.all([startTestLibvirtd(), buildTestGuest()]);
    pv = await startPolyvisor({ conf: `${libvirtComputeConf(lv)}\n[serial_console]\nport_range = ${low}:${low + 9}\n` });
    api = await ApiClient.login(pv.url, 'admin', ADMIN_PASSWORD, 'admin');
    await pv.openstack(['flavor', 'create', '--ram', '128', '--disk', '1', '--vcpus', '1', 'tcg.tiny']);
    await pv.openstack(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', guestFile, 'guest']);
    const s = await pv.openstackJson<{ id: string; name: string; status: string }>(['server', 'create', '--image', 'guest', '--flavor', 'tcg.tiny', '--wait', 'serial-vm']);
    assert.equal(s.status, 'ACTIVE', JSON.stringify(s));
    server = { id: s.id, name: s.name };
    // The guest's init listens to the power button before it prints its marker.
    await waitForBoots(consoleLog(), 1, 180_000);
  });
  after(async () => {
    await pv?.stop();
    await lv?.stop();
  });

  it('the URL’s websocket (tempest’s client) carries what the guest writes on ttyS0; openstack console log show has the same text', async () => {
    const { type, url } = await pv.openstackJson<ConsoleUrl>(['console', 'url', 'show', '--serial', server.name]);
    assert.equal(type, 'serial');
    assert.match(url, new RegExp(`^${pv.url.replace(/^http/, 'ws').replace(/\./g, '\\.')}/console/websockify\\?path=console%2Fwebsockify%3Ftoken%3D`));
    // The proxy reaches the guest's serial port on the port libvirt reports, from the range.
    const xml = await virsh(lv.uri, 'dumpxml', `instance-${server.id}`);
    const port = Number(/<serial type='tcp'>\s*<source mode='bind' host='127\.0\.0\.1' service='(\d+)'/.exec(xml)?.[1]);
    assert.ok(port >= low && port <= low + 9, `serial port ${port} of ${low}:${low + 9}`);

    const client = spawn('/usr/bin/python3', ['-c', TEMPEST_SERIAL, url, POWEROFF_LINE], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    client.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => client.once('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      client.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('connected\n')) resolve();
      });
      void exited.then((code) => reject(new Error(`tempest client exited ${code} before connecting: ${err}`)));
    });
    // The power button: the guest prints its line on ttyS0, then powers off.
    await pv.openstack(['server', 'stop', server.name]);
    assert.equal(await exited, 0, err);
    assert.match(out, new RegExp(`received '.*${POWEROFF_LINE}`), out);
    await waitStatus('SHUTOFF');
    const log = await pv.openstack(['console', 'log', 'show', server.name]);
    assert.match(log, new RegExp(`${GUEST_MARKER} [0-9a-f-]{36}\\r?\\n${POWEROFF_LINE}`), log);

    // A stopped server has no console to offer.
    const refused = await api.request<{ conflictingRequest?: { message: string } }>('POST', `/compute/v2.1/servers/${server.id}/action`, { 'os-getSerialConsole': { type: 'serial' } });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
  });

  it('after a start, a new URL (remote-consoles, protocol serial) reaches the guest again on its port', async () => {
    await pv.openstack(['server', 'start', server.name]);
    await waitStatus('ACTIVE');
    const ids = await waitForBoots(consoleLog(), 2, 180_000);
    const rc = await api.request<{ remote_console: { protocol: string; type: string; url: string } }>(
      'POST', `/compute/v2.1/servers/${server.id}/remote-consoles`, { remote_console: { protocol: 'serial', type: 'serial' } }, { 'OpenStack-API-Version': 'compute 2.6' },
    );
    assert.equal(rc.status, 200, JSON.stringify(rc.body));
    const ws = new WebSocket(rc.body.remote_console.url);
    let got = '';
    const closed = new Promise<void>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode} ${String(res.headers['x-console-refusal-message'])}`)));
      ws.on('error', reject);
      ws.on('message', (d: Buffer) => (got += d.toString('latin1')));
      ws.on('close', () => resolve());
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      closed.catch(reject);
    });
    await pv.openstack(['server', 'stop', server.name]);
    // QEMU exits after the guest's line: the proxy closes the websocket.
    await closed;
    assert.ok(got.includes(POWEROFF_LINE), `websocket carried ${JSON.stringify(got)}`);
    const log = await pv.openstack(['console', 'log', 'show', server.name]);
    assert.ok(log.includes(`${GUEST_MARKER} ${ids[1] ?? ''}`), log);
    assert.equal(log.split(POWEROFF_LINE).length - 1, 2, 'console.log kept both power-offs');
  });
});
