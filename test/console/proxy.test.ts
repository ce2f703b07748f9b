import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import WebSocket from 'ws';
import { createApiServer } from '../../src/api/server.js';
import { computeRoutes } from '../../src/compute/api/index.js';
import { configFromText } from '../../src/config/load.js';
import { consoleRoutes, startStandaloneConsoleProxy } from '../../src/console/index.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { publishConsole, tokenHash } from '../../src/db/repos/consoles.js';
import { insertInstances } from '../../src/db/repos/instances.js';
import { openTestSqlite } from '../support/databases.js';
import { fakeAuthenticator } from '../support/fake-auth.js';
import { addComputeNode, instance } from '../compute/api/harness.js';
import { ensureConsolePageBuilt } from '../support/console-page.js';
import type { FastifyInstance } from 'fastify';

/**
 * The console proxy in the API process, over real sockets: the Compute API issues a console
 * URL, a websocket client (as noVNC) opens it, and a real TCP server stands in for the
 * hypervisor's VNC port (it greets like QEMU and echoes). libvirt/QEMU and vcsim end to end:
 * test/e2e/console.test.ts.
 */
const GREETING = 'RFB 003.008\n';

interface VncPeer {
  readonly port: number;
  readonly sockets: Socket[];
  /** Resolves with each new connection. */
  next(): Promise<Socket>;
  close(): Promise<void>;
}

/** A TCP server that greets like a VNC server and echoes what it receives. */
async function startVncPeer(onConnection: (s: Socket) => void = (s) => s.pipe(s)): Promise<VncPeer> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.write(GREETING);
    onConnection(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    next: async () => ((await once(server, 'connection')) as [Socket])[0],
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('console proxy (/console/websockify) with one-time tokens', () => {
  let h: DatabaseHandle;
  let app: FastifyInstance;
  let base: string;
  let peer: VncPeer;
  const logLines: string[] = [];

  before(async () => {
    ensureConsolePageBuilt();
    h = await openTestSqlite();
    const { config } = configFromText('[console]\nidle_timeout = 2\n');
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          logLines.push(chunk.toString());
          cb();
        },
      }),
    );
    app = createApiServer({ logger, authenticator: fakeAuthenticator, maxBodySize: config.api.max_request_body_size });
    await app.register(computeRoutes({ db: h.db, bus: h.bus, config, logger, dialect: h.dialect, publicUrl: () => base }), { prefix: '/compute' });
    await app.register(consoleRoutes({ db: h.db, config, logger }), { prefix: '/console' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await addComputeNode(h, { host: 'kvm1', node: 'kvm1' });
    await addComputeNode(h, { host: 'vc1', node: 'domain-c7.vc' });
    await h.db.updateTable('compute_nodes').set({ hypervisor_type: 'QEMU' }).where('hypervisor_hostname', '=', 'kvm1').execute();
    await h.db.updateTable('compute_nodes').set({ hypervisor_type: 'VMware vCenter Server' }).where('hypervisor_hostname', '=', 'domain-c7.vc').execute();
    peer = await startVncPeer();
  });
  after(async () => {
    await app?.close();
    await peer?.close();
    await h?.close();
  });

  /** A running server on the QEMU node whose console is `port`; returns its id. */
  const server = async (name: string, port: number, node = 'kvm1'): Promise<string> => {
    const row = instance({ display_name: name, host: node === 'kvm1' ? 'kvm1' : 'vc1', node });
    await insertInstances(h.db, [row]);
    await publishConsole(h.db, row.uuid, { protocol: 'vnc', host: '127.0.0.1', port });
    return row.uuid;
  };

  /** `openstack console url show`: the console URL the Compute API answers. */
  const consoleUrl = async (uuid: string): Promise<URL> => {
    const res = await fetch(`${base}/compute/v2.1/servers/${uuid}/action`, {
      method: 'POST',
      headers: { 'x-auth-token': 'member-a', 'content-type': 'application/json' },
      body: JSON.stringify({ 'os-getVNCConsole': { type: 'novnc' } }),
    });
    const body = (await res.json()) as { console: { url: string } };
    assert.equal(res.status, 200, JSON.stringify(body));
    return new URL(body.console.url);
  };
  const tokenOf = (url: URL): string => /[?&]token=([^&]+)/.exec(url.searchParams.get('path') ?? '')?.[1] ?? '';

  interface Opened {
    readonly ws: WebSocket;
    /** Every byte received so far. */
    received(): Buffer;
    /** Resolves once `n` bytes arrived. */
    bytes(n: number): Promise<Buffer>;
    readonly closed: Promise<{ code: number; reason: string }>;
  }

  /** Opens the proxy's websocket as noVNC does (subprotocol "binary"); rejects with the HTTP answer of a refused upgrade. */
  const open = async (query: string, headers: Record<string, string> = {}): Promise<Opened> => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/console/websockify${query}`, ['binary'], { headers });
    const chunks: Buffer[] = [];
    let length = 0;
    let waiters: (() => void)[] = [];
    ws.on('message', (d: Buffer) => {
      chunks.push(d);
      length += d.length;
      for (const w of waiters) w();
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          reject(
            Object.assign(new Error(`HTTP ${res.statusCode}: ${String(res.headers['x-console-refusal-message'])}`), {
              status: res.statusCode,
              body: text,
              reason: res.headers['x-console-refusal'],
              refusalMessage: res.headers['x-console-refusal-message'],
            }),
          ),
        );
      });
      ws.once('error', reject);
    });
    assert.equal(ws.protocol, 'binary', 'the proxy chose the binary subprotocol');
    const received = () => Buffer.concat(chunks);
    const bytes = (n: number) =>
      new Promise<Buffer>((resolve) => {
        const check = () => {
          if (length >= n) {
            waiters = waiters.filter((w) => w !== check);
            resolve(received());
          }
        };
        waiters.push(check);
        check();
      });
    return { ws, received, bytes, closed };
  };

  const refusedWith = async (query: string, headers: Record<string, string> = {}): Promise<{ status: number; reason: string; message: string }> => {
    try {
      const o = await open(query, headers);
      o.ws.close();
    } catch (err) {
      const e = err as { status?: number; body?: string; reason?: string; refusalMessage?: string };
      assert.equal(e.body, '', 'a refused upgrade has no body');
      return { status: e.status ?? 0, reason: e.reason ?? '', message: e.refusalMessage ?? '' };
    }
    assert.fail(`the proxy accepted ${query.replace(/token=[^&]+/, 'token=***')}`);
  };

  it('the console URL is the API’s own /console/ page by default, carrying the token as Nova does', async () => {
    const uuid = await server('web-1', peer.port);
    const url = await consoleUrl(uuid);
    assert.equal(`${url.origin}${url.pathname}`, `${base}/console/`);
    // noVNC's path: the websocket's path from the host's root (tempest's client follows it).
    assert.match(url.searchParams.get('path') ?? '', /^console\/websockify\?token=[A-Za-z0-9_-]{32,}$/);
  });

  it('opens the VNC server through the websocket: the greeting arrives, bytes go both ways, closing one side closes the other', async () => {
    const uuid = await server('web-2', peer.port);
    const token = tokenOf(await consoleUrl(uuid));
    const connection = peer.next();
    const c = await open(`?token=${token}`);
    assert.equal((await c.bytes(GREETING.length)).toString(), GREETING);
    c.ws.send(Buffer.from('RFB 003.008\n'));
    assert.equal((await c.bytes(GREETING.length * 2)).toString(), GREETING + GREETING, 'the echo came back');
    // The browser leaves: the proxy closes the VNC connection too.
    const vnc = await connection;
    const vncClosed = once(vnc, 'close');
    c.ws.close(1000);
    await vncClosed;
  });

  it('when the VNC server closes, the browser’s websocket closes with the reason', async () => {
    const uuid = await server('web-3', peer.port);
    const token = tokenOf(await consoleUrl(uuid));
    const connection = peer.next();
    const c = await open(`?token=${token}`);
    await c.bytes(GREETING.length);
    (await connection).end();
    assert.deepEqual(await c.closed, { code: 1000, reason: 'the VNC server closed the connection' });
  });

  it('a token opens one connection: the second attempt is refused with 403 before the upgrade, and the log never shows the token', async () => {
    const uuid = await server('web-4', peer.port);
    const token = tokenOf(await consoleUrl(uuid));
    const c = await open(`?token=${token}`);
    await c.bytes(GREETING.length);
    const again = await refusedWith(`?token=${token}`);
    assert.equal(again.status, 403);
    assert.equal(again.reason, 'used');
    assert.match(again.message, /already used/);
    c.ws.close();
    await c.closed;
    const logs = logLines.join('');
    assert.match(logs, /console refused: console token already used/);
    assert.ok(!logs.includes(token), 'the token is not in the logs');
    assert.ok(!logs.includes(tokenHash(token)), 'nor its hash');
  });

  it('of concurrent attempts with one token exactly one connects', async () => {
    const uuid = await server('web-5', peer.port);
    const token = tokenOf(await consoleUrl(uuid));
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => open(`?token=${token}`)));
    const ok = results.filter((r): r is PromiseFulfilledResult<Opened> => r.status === 'fulfilled');
    assert.equal(ok.length, 1, results.map((r) => r.status).join(','));
    for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason), /HTTP 403/);
    ok[0]?.value.ws.close();
  });

  it('refuses an expired token (401), an unknown one (401), a missing one (401) and names why', async () => {
    const uuid = await server('web-6', peer.port);
    const token = tokenOf(await consoleUrl(uuid));
    await h.db.updateTable('console_auth_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('token_hash', '=', tokenHash(token)).execute();
    assert.deepEqual(await refusedWith(`?token=${token}`), { status: 401, reason: 'expired', message: 'console token expired: ask for a new console URL' });
    const unknown = await refusedWith('?token=not-a-token');
    assert.deepEqual([unknown.status, unknown.reason], [401, 'unknown']);
    const missing = await refusedWith('');
    assert.deepEqual([missing.status, missing.reason], [401, 'no_token']);
  });

  it('takes the token in noVNC’s path form, and at the proxy root where Nova’s URLs point noVNC', async () => {
    const a = tokenOf(await consoleUrl(await server('web-7', peer.port)));
    const c = await open(`?path=${encodeURIComponent(`?token=${a}`)}`);
    assert.equal((await c.bytes(GREETING.length)).toString(), GREETING);
    c.ws.close();
    const b = tokenOf(await consoleUrl(await server('web-8', peer.port)));
    const ws = new WebSocket(`${base.replace('http', 'ws')}/console/?token=${b}`, ['binary']);
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d: Buffer) => resolve(d.toString()));
      ws.once('error', reject);
    });
    assert.equal(first, GREETING);
    ws.close();
  });

  it('refuses a client that does not speak the binary subprotocol, before using the token up', async () => {
    const token = tokenOf(await consoleUrl(await server('web-b64', peer.port)));
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/console/websockify?token=${token}`, ['base64']);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('accepted a base64 client')));
    });
    assert.equal(refused, 400);
    const c = await open(`?token=${token}`);
    assert.equal((await c.bytes(GREETING.length)).toString(), GREETING);
    c.ws.close();
  });

  it('refuses the token of a deleted server', async () => {
    const uuid = await server('web-9', peer.port);
    const token = tokenOf(await consoleUrl(uuid));
    await h.db.updateTable('instances').set({ vm_state: 'deleted', deleted: 1 }).where('uuid', '=', uuid).execute();
    const r = await refusedWith(`?token=${token}`);
    assert.deepEqual([r.status, r.reason, r.message], [404, 'instance_gone', 'the server web-9 no longer exists']);
  });

  it('refuses a page from another origin (403), unless [console] allowed_origins names it', async () => {
    const token = tokenOf(await consoleUrl(await server('web-10', peer.port)));
    const r = await refusedWith(`?token=${token}`, { origin: 'http://evil.example' });
    assert.deepEqual([r.status, r.reason], [403, 'bad_origin']);
    // The refusal came before the token was looked at: it still works from the right origin.
    const c = await open(`?token=${token}`, { origin: base });
    await c.bytes(GREETING.length);
    c.ws.close();
  });

  it('says plainly when the ESX host’s VNC port cannot be reached (websocket close reason 4502)', async () => {
    const port = await closedPort();
    const uuid = await server('vmw-1', port, 'domain-c7.vc');
    const token = tokenOf(await consoleUrl(uuid));
    const c = await open(`?token=${token}`);
    const reason = `could not connect to the ESX host's VNC port 127.0.0.1:${port}: connection refused`;
    assert.deepEqual(await c.closed, { code: 4502, reason });
    assert.match(logLines.join(''), /console could not reach the ESX host's VNC port: connection refused/);
    // Nothing was opened, so the link was not used up: a retry meets the same reason, not "already used".
    const again = await open(`?token=${token}`);
    assert.deepEqual(await again.closed, { code: 4502, reason });
    // Once the port answers, the same link opens the console (and only then is used up).
    const late = await startVncPeer();
    try {
      await h.db.updateTable('console_auth_tokens').set({ port: late.port }).where('token_hash', '=', tokenHash(token)).execute();
      const c3 = await open(`?token=${token}`);
      assert.equal((await c3.bytes(GREETING.length)).toString(), GREETING);
      assert.equal((await refusedWith(`?token=${token}`)).reason, 'used');
      c3.ws.close();
    } finally {
      await late.close();
    }
  });

  it('GET /console/token tells the page the server’s name without using the token up', async () => {
    const uuid = await server('named-server', peer.port);
    const token = tokenOf(await consoleUrl(uuid));
    const info = await fetch(`${base}/console/token?token=${token}`);
    assert.equal(info.status, 200);
    const body = (await info.json()) as { console: { server: { id: string; name: string } } };
    assert.deepEqual(body.console.server, { id: uuid, name: 'named-server' });
    const c = await open(`?token=${token}`);
    await c.bytes(GREETING.length);
    c.ws.close();
    const afterUse = await fetch(`${base}/console/token?token=${token}`);
    assert.equal(afterUse.status, 403);
    // The refusal names the server (the page tells which console to ask for again).
    assert.deepEqual(((await afterUse.json()) as { error: { reason: string; server: unknown } }).error, {
      code: 403,
      reason: 'used',
      message: 'console token already used (a console URL opens one connection): ask for a new console URL',
      server: { name: 'named-server' },
    });
  });

  it('serves the console page under its own and Nova’s names, with noVNC bundled', async () => {
    for (const path of ['/console/', '/console/vnc_auto.html', '/console/vnc_lite.html']) {
      const res = await fetch(`${base}${path}?path=%3Ftoken%3Dabc`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      const html = await res.text();
      assert.match(html, /<base href="\/console\/">/);
      assert.match(html, /<script type="module" src="main.js">/);
    }
    const js = await fetch(`${base}/console/main.js`);
    assert.equal(js.status, 200);
    assert.match(await js.text(), /sendCtrlAltDel/, 'noVNC is in the bundle');
    const plain = await fetch(`${base}/console/websockify?token=x`);
    assert.equal(plain.status, 400, 'the websocket URL without an upgrade');
  });

  it('polyvisor novncproxy: the same proxy and page on a port of their own, at Nova’s paths', async () => {
    const { config } = configFromText('');
    const standalone = await startStandaloneConsoleProxy({ db: h.db, config, logger: pino({ level: 'silent' }) }, { host: '127.0.0.1', port: 0 });
    try {
      const page = await fetch(`${standalone.url}/vnc_auto.html?path=%3Ftoken%3Dabc`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<base href="\/">/);
      const token = tokenOf(await consoleUrl(await server('standalone', peer.port)));
      // nova-novncproxy's URLs make noVNC connect to the root, with the token in the query.
      const ws = new WebSocket(`${standalone.url.replace('http', 'ws')}/?token=${token}`, ['binary']);
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (d: Buffer) => resolve(d.toString()));
        ws.once('error', reject);
      });
      assert.equal(first, GREETING);
      ws.close();
    } finally {
      await standalone.app.close();
    }
  });

  it('closes an idle connection after [console] idle_timeout, on both sides', async () => {
    const token = tokenOf(await consoleUrl(await server('idle', peer.port)));
    const connection = peer.next();
    const c = await open(`?token=${token}`);
    await c.bytes(GREETING.length);
    const vncClosed = once(await connection, 'close');
    const started = Date.now();
    assert.deepEqual(await c.closed, { code: 4408, reason: 'console closed after 2 s without activity' });
    await vncClosed;
    assert.ok(Date.now() - started >= 1500, 'not before the timeout');
  });

  it('applies backpressure: a VNC server outpacing a stalled browser is stopped, and every byte arrives in order', async () => {
    const total = 48 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
    let written = 0;
    let stalled: () => void = () => undefined;
    const stall = new Promise<void>((r) => (stalled = r));
    const expected = createHash('sha256');
    const flood = await startVncPeer((s) => {
      const pump = (): void => {
        while (written < total) {
          written += chunk.length;
          expected.update(chunk);
          if (!s.write(chunk)) {
            // The proxy stopped reading: wait for it (and tell the test the first time it lasts).
            const t = setTimeout(stalled, 300);
            s.once('drain', () => {
              clearTimeout(t);
              pump();
            });
            return;
          }
        }
        s.end();
      };
      pump();
    });
    try {
      const token = tokenOf(await consoleUrl(await server('flood', flood.port)));
      const c = await open(`?token=${token}`);
      c.ws.pause();
      await stall;
      assert.ok(written < total / 2, `the server could write only ${written} of ${total} bytes while the browser read nothing`);
      c.ws.resume();
      const all = await c.bytes(GREETING.length + total);
      assert.equal(all.length, GREETING.length + total);
      const want = createHash('sha256').update(GREETING).update(expected.digest()).digest('hex');
      const got = createHash('sha256').update(all.subarray(0, GREETING.length)).update(createHash('sha256').update(all.subarray(GREETING.length)).digest()).digest('hex');
      assert.equal(got, want, 'the bytes arrived intact and in order');
      c.ws.close();
    } finally {
      await flood.close();
    }
  });
});
