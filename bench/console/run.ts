/**
 * Console proxy benchmark: time to open a VNC console through the proxy, against QEMU's own
 * VNC server (a paused QEMU with a VGA card, no guest needed), beside the same handshake
 * straight to QEMU's port in the same process (the baseline). Prints p50/p95 of:
 *  - greeting: connection opened → "RFB 003.008" received;
 *  - ServerInit: the whole RFB handshake (version, security None, ClientInit) → ServerInit;
 * for N fresh one-time tokens (each redeemed by the proxy: one guarded UPDATE in SQLite).
 * Run: node --import tsx bench/console/run.ts [--n=50]
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { configFromText } from '../../src/config/load.js';
import { startStandaloneConsoleProxy } from '../../src/console/index.js';
import { openDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { issueConsoleToken, publishConsole } from '../../src/db/repos/consoles.js';
import { insertInstances } from '../../src/db/repos/instances.js';
import { silentLogger } from '../../src/log.js';
import { fmt, percentile } from '../support/stats.js';

const N = Number(process.argv.find((a) => a.startsWith('--n='))?.split('=')[1] ?? 50);

/** A byte stream (TCP socket or websocket) read by exact lengths. */
class Reader {
  #buf = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  push(b: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, b]);
    this.#wake?.();
  }
  async take(n: number): Promise<Buffer> {
    while (this.#buf.length < n) await new Promise<void>((r) => (this.#wake = r));
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

interface Timing {
  greeting: number;
  serverInit: number;
}

/** The client side of an RFB 3.8 handshake with security type None, timed from `t0`. */
async function handshake(r: Reader, send: (b: Buffer) => void, t0: number): Promise<Timing> {
  const version = (await r.take(12)).toString();
  const greeting = performance.now() - t0;
  if (version !== 'RFB 003.008\n') throw new Error(`unexpected greeting ${JSON.stringify(version)}`);
  send(Buffer.from('RFB 003.008\n'));
  const count = (await r.take(1))[0] ?? 0;
  const types = [...(await r.take(count))];
  if (!types.includes(1)) throw new Error(`QEMU offers no "None" security: ${types.join(',')}`);
  send(Buffer.from([1]));
  if ((await r.take(4)).readUInt32BE(0) !== 0) throw new Error('security handshake failed');
  send(Buffer.from([1])); // ClientInit: shared
  const head = await r.take(24);
  await r.take(head.readUInt32BE(20)); // desktop name
  return { greeting, serverInit: performance.now() - t0 };
}

async function direct(port: number): Promise<Timing> {
  const t0 = performance.now();
  const s = connect({ host: '127.0.0.1', port });
  s.setNoDelay(true);
  const r = new Reader();
  s.on('data', (d: Buffer) => r.push(d));
  const failed = new Promise<never>((_, reject) => s.once('error', reject));
  try {
    return await Promise.race([handshake(r, (b) => s.write(b), t0), failed]);
  } finally {
    s.destroy();
  }
}

async function proxied(base: string, token: string): Promise<Timing> {
  const t0 = performance.now();
  const ws = new WebSocket(`${base.replace('http', 'ws')}/websockify?token=${token}`, ['binary']);
  const r = new Reader();
  ws.on('message', (d: Buffer) => r.push(d));
  ws.on('error', () => undefined);
  try {
    return await handshake(r, (b) => ws.send(b), t0);
  } finally {
    ws.close();
  }
}

async function freeDisplay(): Promise<number> {
  for (;;) {
    const display = 100 + Math.floor(Math.random() * 800);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(5900 + display, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return display;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'polyvisor-console-bench-'));
const display = await freeDisplay();
const port = 5900 + display;
const qemu = spawn('qemu-system-x86_64', ['-machine', 'pc,accel=tcg', '-nodefaults', '-vga', 'std', '-display', 'none', '-vnc', `127.0.0.1:${display}`, '-S'], { stdio: 'ignore' });
try {
  // QEMU opens its VNC port at start-up: wait until it answers.
  for (let i = 0; ; i++) {
    try {
      await direct(port);
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const h = await openDatabase(`sqlite:///${join(dir, 'bench.sqlite')}`, dir);
  await migrateToLatest(h);
  const t = new Date().toISOString();
  const row = {
    uuid: randomUUID(), display_name: 'bench', display_description: null, hostname: 'bench', project_id: 'p', user_id: 'u',
    flavor: '{}', image_ref: 'i', key_name: null, key_data: null, user_data: null, availability_zone: 'nova', requested_availability_zone: null,
    requested_host: null, requested_node: null, host: 'bench', node: 'bench', vm_state: 'active', task_state: null, power_state: 1,
    reservation_id: 'r-bench', launched_at: t, terminated_at: null, created_at: t, updated_at: t, deleted_at: null,
    lease_owner: null, lease_expires_at: null, access_ip_v4: null, access_ip_v6: null,
  };
  await insertInstances(h.db, [row]);
  await publishConsole(h.db, row.uuid, { protocol: 'vnc', host: '127.0.0.1', port });
  const { config } = configFromText('');
  const proxy = await startStandaloneConsoleProxy({ db: h.db, config, logger: silentLogger }, { host: '127.0.0.1', port: 0 });

  const runs = { direct: [] as Timing[], proxied: [] as Timing[] };
  for (let i = 0; i < 5; i++) await direct(port); // warm-up
  for (let i = 0; i < N; i++) {
    runs.direct.push(await direct(port));
    const token = randomBytes(24).toString('base64url');
    await issueConsoleToken(h.db, token, { instanceUuid: row.uuid, consoleType: 'novnc', host: '127.0.0.1', port, ttlSeconds: 600 });
    runs.proxied.push(await proxied(proxy.url, token));
  }
  const line = (name: string, xs: Timing[]) =>
    `${name.padEnd(28)} greeting p50 ${fmt(percentile(xs.map((x) => x.greeting), 50), 2)} ms  p95 ${fmt(percentile(xs.map((x) => x.greeting), 95), 2)} ms   ` +
    `ServerInit p50 ${fmt(percentile(xs.map((x) => x.serverInit), 50), 2)} ms  p95 ${fmt(percentile(xs.map((x) => x.serverInit), 95), 2)} ms`;
  console.log(`console proxy bench: ${N} consoles, QEMU VNC on 127.0.0.1:${port}, SQLite`);
  console.log(line('direct TCP to QEMU (baseline)', runs.direct));
  console.log(line('websocket through the proxy', runs.proxied));
  await proxy.app.close();
  await h.close();
} finally {
  qemu.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
