import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import { launchBrowser, SCREENSHOT_DIR, type TestBrowser } from '../support/browser.js';
import { ensureConsolePageBuilt } from '../support/console-page.js';
import { libvirtComputeConf, startTestLibvirtd, virsh, type TestLibvirtd } from '../support/libvirtd.js';
import { eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';
import { buildTestGuest, waitForBoots } from '../support/test-guest.js';
import { startTestVcsim, type TestVcsim } from '../vsphere/vcsim-harness.js';
import { vmwareConf } from './vmware-support.js';

/**
 * Issue 8's console, end to end with real peers: `polyvisor serve` with the libvirt driver on
 * a private libvirtd (the test guest under TCG or KVM, QEMU's own VNC server), and a second
 * `polyvisor serve` on vcsim (which has no VNC server). Console URLs come from the real
 * `openstack console url show`; the page is driven by Chromium (playwright-core).
 */
const VMWARE_TOKEN_TTL = 5;
const execFileAsync = promisify(execFile);

/**
 * tempest's test_novnc steps (Debian's python3 and tempest package) (tempest/api/compute/servers/test_novnc.py) with its own
 * websocket client: the page is noVNC HTML, the upgrade answers 101, the RFB handshake
 * (version, security None, ClientInit → ServerInit) goes through, and a bad token
 * (tempest's way: "token=" → "token=bad" in the path) gets no data.
 */
const TEMPEST_NOVNC = `
import sys, urllib.parse as up, urllib3
from tempest.common import compute
url = sys.argv[1]
resp = urllib3.PoolManager().request('GET', url)
html = resp.data.decode()
assert resp.status == 200 and '</html>' in html and 'noVNC' in html and '<script' in html, (resp.status, html[:200])
ws = compute.create_websocket(url)
assert ws.response.startswith(b'HTTP/1.1 101 Switching Protocols'), ws.response
assert b'upgrade: websocket' in ws.response.lower(), ws.response
version = ws.receive_frame()
assert version == b'RFB 003.008\\n', version
ws.send_frame(version)
types = ws.receive_frame()
assert 1 in list(types[1:]), types
ws.send_frame(bytes((1,)))
assert ws.receive_frame() == b'\\x00\\x00\\x00\\x00'
ws.send_frame(bytes((1,)))
init = ws.receive_frame()
assert len(init) > 24, init
ws.close()
p = up.urlparse(url)
q = up.parse_qs(p.query)
q['path'] = up.unquote(q['path'][0]).replace('token=', 'token=bad')
bad = up.urlunparse(up.ParseResult(p.scheme, p.netloc, p.path, p.params, up.urlencode(q), p.fragment))
wsb = compute.create_websocket(bad)
data = wsb.receive_frame()
assert data is None or not data, data
print('RFB 003.008 security none ok; ServerInit %d bytes; bad token: nothing' % len(init))
`;

interface ConsoleUrl {
  type: string;
  url: string;
}

describe('VNC consoles through the console proxy: libvirt (QEMU) and VMware (vcsim)', () => {
  let lv: TestLibvirtd;
  let sim: TestVcsim;
  let kvm: PolyvisorProcess;
  let vmw: PolyvisorProcess;
  let browser: TestBrowser;
  let guestFile: string;
  let kvmServer: { id: string; name: string };
  let vmwServer: { id: string; name: string };

  const tokenOf = (url: string): string => /[?&]token=([^&]+)/.exec(new URL(url).searchParams.get('path') ?? '')?.[1] ?? '';
  const consoleUrl = async (pv: PolyvisorProcess, server: string): Promise<string> => (await pv.openstackJson<ConsoleUrl>(['console', 'url', 'show', server])).url;

  /** Opens the proxy's websocket as noVNC does; resolves with its first message, or rejects with the HTTP refusal. */
  const firstMessage = (pv: PolyvisorProcess, token: string): Promise<{ ws: WebSocket; first: Buffer }> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${pv.url.replace(/^http/, 'ws')}/console/websockify?token=${token}`, ['binary']);
      ws.once('message', (d: Buffer) => resolve({ ws, first: d }));
      ws.once('close', (code, reason) => reject(new Error(`closed ${code}: ${reason.toString()}`)));
      ws.once('unexpected-response', (_req, res) => {
        const message = String(res.headers['x-console-refusal-message']);
        res.resume();
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${message}`), { status: res.statusCode, body: message })));
      });
      ws.once('error', reject);
    });

  // Code run in the page is given as text: this program is type-checked without the DOM library.
  const statusOf = async (page: Page): Promise<{ state: string; text: string }> =>
    page.evaluate<{ state: string; text: string }>(`(() => { const e = document.getElementById('status'); return { state: e.dataset.state, text: e.textContent }; })()`);
  /** Waits for the status line's state (an attribute selector: the page's CSP forbids evaluating strings in it). */
  const waitForState = async (page: Page, selector: string, timeout = 30_000): Promise<void> => {
    await page.waitForSelector(`#status${selector}`, { timeout, state: 'attached' });
  };

  before(async () => {
    ensureConsolePageBuilt();
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    [lv, sim, guestFile, browser] = await Promise.all([startTestLibvirtd(), startTestVcsim({ clusters: 1, hostsPerCluster: 1 }), buildTestGuest(), launchBrowser()]);
    [kvm, vmw] = await Promise.all([
      startPolyvisor({
        conf: libvirtComputeConf(lv),
      }),
      startPolyvisor({ conf: vmwareConf(sim, `[consoleauth]\ntoken_ttl = ${VMWARE_TOKEN_TTL}\n`).replace('cluster_name = DC0_C1\n', '') }),
    ]);
    const prepare = async (pv: PolyvisorProcess, name: string): Promise<{ id: string; name: string }> => {
      await pv.openstack(['flavor', 'create', '--ram', '128', '--disk', '1', '--vcpus', '1', 'tcg.tiny']);
      await pv.openstack(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', guestFile, 'guest']);
      const s = await pv.openstackJson<{ id: string; name: string; status: string }>(['server', 'create', '--image', 'guest', '--flavor', 'tcg.tiny', '--wait', name]);
      assert.equal(s.status, 'ACTIVE', JSON.stringify(s));
      return { id: s.id, name: s.name };
    };
    [kvmServer, vmwServer] = await Promise.all([prepare(kvm, 'console-vm'), prepare(vmw, 'vmware-vm')]);
    // The guest is up once its init printed the marker (it prints the same on the VGA console).
    await waitForBoots(join(lv.dir, 'instances', kvmServer.id, 'console.log'), 1, 180_000);
  });
  after(async () => {
    await browser?.close();
    await Promise.all([kvm?.stop(), vmw?.stop()]);
    await Promise.all([lv?.stop(), sim?.stop()]);
  });

  it('openstack console url show answers the API’s own console page; its websocket carries QEMU’s RFB greeting', async (t) => {
    const url = await consoleUrl(kvm, kvmServer.name);
    assert.equal(`${new URL(url).origin}${new URL(url).pathname}`, `${kvm.url}/console/`);
    const started = performance.now();
    const { ws, first } = await firstMessage(kvm, tokenOf(url));
    const ms = performance.now() - started;
    assert.equal(first.toString(), 'RFB 003.008\n');
    ws.close();
    t.diagnostic(`websocket open to RFB greeting: ${ms.toFixed(1)} ms`);
  });

  it('tempest’s noVNC client (tempest.common.compute, as test_novnc uses it) gets the page, the upgrade and the RFB handshake; a bad token gets nothing', async () => {
    const url = await consoleUrl(kvm, kvmServer.name);
    const { stdout } = await execFileAsync('/usr/bin/python3', ['-c', TEMPEST_NOVNC, url], { timeout: 60_000 });
    assert.match(stdout, /^RFB 003\.008 security none ok; ServerInit \d+ bytes; bad token: nothing$/m);
  });

  it('the same token a second time is refused (403, already used), and the log never shows it', async (t) => {
    let started = performance.now();
    const token = tokenOf(await consoleUrl(kvm, kvmServer.name));
    t.diagnostic(`openstack console url show: ${(performance.now() - started).toFixed(0)} ms`);
    started = performance.now();
    const { ws } = await firstMessage(kvm, token);
    await assert.rejects(firstMessage(kvm, token), (err: Error & { status?: number; body?: string }) => {
      assert.equal(err.status, 403, err.message);
      assert.match(err.body ?? '', /console token already used/);
      return true;
    });
    ws.close();
    t.diagnostic(`use and reuse: ${(performance.now() - started).toFixed(0)} ms`);
    // The process's log reaches us through a pipe: wait for the line.
    await eventually(async () => (/console refused: console token already used/.test(kvm.logs()) ? true : undefined), 'the refusal in the log', 10_000);
    assert.ok(!kvm.logs().includes(token), 'the token is not logged');
  });

  it('the console page shows the guest’s console text (screenshot), says whom it is connected to, and sends Ctrl-Alt-Del', async (t) => {
    const url = await consoleUrl(kvm, kvmServer.name);
    const page = await browser.browser.newPage({ viewport: { width: 1024, height: 640 } });
    try {
      const started = performance.now();
      await page.goto(url);
      await waitForState(page, ':not([data-state="connecting"])');
      assert.deepEqual(await statusOf(page), { state: 'connected', text: `Connected to ${kvmServer.name}` });
      // Until the first framebuffer update the canvas is blank: wait for the guest's text on it.
      await page.waitForFunction(brightPixelsOnCanvas, 2000, { timeout: 60_000, polling: 200 });
      t.diagnostic(`page load to guest text on the canvas: ${(performance.now() - started).toFixed(0)} ms`);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-libvirt.png') });

      // What the browser shows is what QEMU shows: compare the canvas with `virsh screenshot`.
      const canvas = await page.evaluate<{ width: number; height: number; rgb: string }>(CANVAS_RGB);
      const shotFile = join(lv.dir, 'screen.img');
      await virsh(lv.uri, 'screenshot', `instance-${kvmServer.id}`, '--file', shotFile);
      const qemu = decodeScreenshot(await readFile(shotFile));
      assert.deepEqual([canvas.width, canvas.height], [qemu.width, qemu.height], 'the canvas has the guest screen’s size');
      const rgb = Buffer.from(canvas.rgb, 'base64');
      let same = 0;
      for (let p = 0; p < qemu.width * qemu.height; p++) {
        const o = p * 3;
        if (Math.abs((rgb[o] ?? 0) - (qemu.rgb[o] ?? 0)) + Math.abs((rgb[o + 1] ?? 0) - (qemu.rgb[o + 1] ?? 0)) + Math.abs((rgb[o + 2] ?? 0) - (qemu.rgb[o + 2] ?? 0)) <= 24) same++;
      }
      // The text cursor blinks: a few pixels may differ between the two pictures.
      assert.ok(same / (qemu.width * qemu.height) > 0.98, `canvas and QEMU's screen agree on ${same} of ${qemu.width * qemu.height} pixels`);

      assert.equal(await page.isEnabled('#ctrl-alt-del'), true);
      await page.click('#ctrl-alt-del');
      assert.equal((await statusOf(page)).state, 'connected');
    } finally {
      await page.close();
    }
  });

  it('a reloaded console page (its token used) says the link was already used', async () => {
    const url = await consoleUrl(kvm, kvmServer.name);
    const page = await browser.browser.newPage();
    try {
      await page.goto(url);
      await waitForState(page, '[data-state="connected"]');
      await page.reload();
      await waitForState(page, '[data-state="error"]');
      assert.equal((await statusOf(page)).text, `This console link was already used: a console link opens one connection. Ask for a new one: openstack console url show ${kvmServer.name}`);
    } finally {
      await page.close();
    }
  });

  it('VMware: the websocket closes saying plainly that the ESX host’s VNC port cannot be reached, and the page shows it', async () => {
    const token = tokenOf(await consoleUrl(vmw, vmwServer.name));
    await assert.rejects(firstMessage(vmw, token), (err: Error) => {
      assert.match(err.message, /^closed 4502: could not connect to the ESX host's VNC port DC0_C0_H0:\d+: /);
      return true;
    });
    const page = await browser.browser.newPage({ viewport: { width: 1024, height: 400 } });
    try {
      await page.goto(await consoleUrl(vmw, vmwServer.name));
      await waitForState(page, '[data-state="error"]');
      const status = await statusOf(page);
      assert.match(status.text, /^Could not connect to the ESX host's VNC port DC0_C0_H0:\d+: .+\. The ESX host must accept VNC connections from the console proxy/);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-vmware-unreachable.png') });
    } finally {
      await page.close();
    }
  });

  it(`an expired token ([consoleauth] token_ttl = ${VMWARE_TOKEN_TTL}) is refused, at the websocket and on the page`, async () => {
    const url = await consoleUrl(vmw, vmwServer.name);
    const token = tokenOf(url);
    const info = (await (await fetch(`${vmw.url}/console/token?token=${token}`)).json()) as { console: { expires_at: string } };
    const left = Date.parse(info.console.expires_at) - Date.now();
    assert.ok(left > 0 && left <= VMWARE_TOKEN_TTL * 1000, `expires in ${left} ms`);
    // Expiry is a matter of time: wait it out.
    await delay(left + 50);
    await assert.rejects(firstMessage(vmw, token), (err: Error & { status?: number; body?: string }) => {
      assert.equal(err.status, 401, err.message);
      assert.match(err.body ?? '', /console token expired/);
      return true;
    });
    const page = await browser.browser.newPage({ viewport: { width: 1024, height: 400 } });
    try {
      await page.goto(url);
      await waitForState(page, '[data-state="error"]');
      assert.equal((await statusOf(page)).text, `This console link has expired (console links are short-lived). Ask for a new one: openstack console url show ${vmwServer.name}`);
      await page.screenshot({ path: join(SCREENSHOT_DIR, 'console-expired.png') });
    } finally {
      await page.close();
    }
  });
});

/** The little of the DOM the page functions below use (this program is type-checked without the DOM library). */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

/**
 * Runs in the page (Playwright sends its source): true once the console canvas shows text
 * (more than `min` light pixels), i.e. the guest's screen arrived.
 */
function brightPixelsOnCanvas(min: number): boolean {
  const doc = (globalThis as unknown as { document: { querySelector(s: string): PageCanvas | null } }).document;
  const c = doc.querySelector('#screen canvas');
  if (c === null || c.width === 0) return false;
  const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
  if (d === undefined) return false;
  let bright = 0;
  for (let i = 0; i < d.length; i += 4) if ((d[i] ?? 0) + (d[i + 1] ?? 0) + (d[i + 2] ?? 0) > 300) bright++;
  return bright > min;
}

/** The canvas's pixels as base64 RGB. */
const CANVAS_RGB = `(() => {
  const c = document.querySelector('#screen canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < d.length; i += 4) s += String.fromCharCode(d[i], d[i + 1], d[i + 2]);
  return { width: c.width, height: c.height, rgb: btoa(s) };
})()`;

/** QEMU's screendump as RGB: PNG (8-bit RGB or RGBA, what libvirt hands over today) or binary PPM (P6, older QEMU). */
function decodeScreenshot(buf: Buffer): { width: number; height: number; rgb: Buffer } {
  if (buf.subarray(1, 4).toString('latin1') === 'PNG') return decodePng(buf);
  const m = /^P6\s+(?:#.*\s+)*(\d+)\s+(\d+)\s+255\s/.exec(buf.subarray(0, 100).toString('latin1'));
  if (m === null) throw new Error('the screenshot is neither PNG nor a P6 PPM');
  return { width: Number(m[1]), height: Number(m[2]), rgb: buf.subarray(m[0].length) };
}

function decodePng(buf: Buffer): { width: number; height: number; rgb: Buffer } {
  let width = 0;
  let height = 0;
  let channels = 3;
  const idat: Buffer[] = [];
  for (let o = 8; o < buf.length; ) {
    const len = buf.readUInt32BE(o);
    const type = buf.subarray(o + 4, o + 8).toString('latin1');
    const data = buf.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth} colour ${colour} interlace ${interlace}`);
      channels = colour === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 3);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] ?? 0;
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (line[x - channels] ?? 0) : 0;
      const b = prev[x] ?? 0;
      const c = x >= channels ? (prev[x - channels] ?? 0) : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter] ?? 0;
      line[x] = ((line[x] ?? 0) + predictor) & 0xff;
    }
    for (let x = 0; x < width; x++) line.copy(out, (y * width + x) * 3, x * channels, x * channels + 3);
    prev = line;
  }
  return { width, height, rgb: out };
}
