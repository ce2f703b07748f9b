import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadableStreamReadResult } from 'node:stream/web';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { buildDashboard, createMember, logIn, markDocument, shot, statusOf, storedSession, type Member } from '../support/dashboard.js';
import { ApiClient } from '../support/http-client.js';
import { ADMIN_PASSWORD, eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';

/**
 * The dashboard's own behaviour, fast: `polyvisor serve` (SQLite, fake driver with a
 * spawn delay so BUILD is visible) and Debian's Chromium. Sessions, project switching,
 * error messages, the live event stream and its scoping, and that no token leaks.
 * The real-hypervisor acceptance is test/e2e/dashboard.test.ts.
 */
describe('dashboard basics (fake driver, SQLite)', () => {
  let pv: PolyvisorProcess;
  let tb: TestBrowser;
  let admin: ApiClient;
  let alice: Member;
  let bob: Member;
  let imageId: string;
  let flavorId: string;
  const contexts: BrowserContext[] = [];
  /** Every URL any page asked for (checked for tokens and for anything off-origin). */
  const requested: string[] = [];

  const newPage = async (): Promise<Page> => {
    const ctx = await tb.browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('request', (r) => requested.push(r.url()));
    return page;
  };

  before(async () => {
    [pv, tb] = await Promise.all([startPolyvisor({ conf: '[fake]\nspawn_delay_ms = 1500\n' }), launchBrowser(), buildDashboard()]).then(([p, b]) => [p, b] as const);
    admin = await ApiClient.login(pv.url, 'admin', ADMIN_PASSWORD, 'admin');
    alice = await createMember(admin, 'alice', 'alice-Pw-1', ['demo', 'demo2']);
    bob = await createMember(admin, 'bob', 'bob-Pw-1', ['other']);
    const file = join(pv.stateDir, 'disk.raw');
    writeFileSync(file, Buffer.alloc(1024 * 1024, 1));
    const img = await pv.openstackJson<{ id: string }>(['image', 'create', '--public', '--disk-format', 'raw', '--container-format', 'bare', '--file', file, 'base']);
    imageId = img.id;
    const flavors = await admin.request<{ flavors: { id: string; name: string }[] }>('GET', '/compute/v2.1/flavors');
    flavorId = flavors.body.flavors.find((f) => f.name === 'm1.tiny')?.id ?? '';
    assert.notEqual(flavorId, '');
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await tb?.close();
    await pv?.stop();
  });

  it('is served by the API process: / redirects to /dashboard/, assets are local, the page has a strict CSP', async () => {
    const root = await fetch(`${pv.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/dashboard/');
    const page = await fetch(`${pv.url}/dashboard/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="main.js">/);
    assert.equal((await fetch(`${pv.url}/dashboard/main.js`)).status, 200);
    assert.equal((await fetch(`${pv.url}/dashboard/../package.json`)).status, 404);
    assert.equal((await fetch(`${pv.url}/dashboard/secret.txt`)).status, 404);
    // The event stream wants a token like any API call.
    assert.equal((await fetch(`${pv.url}/dashboard/events`)).status, 401);
  });

  it('a wrong password shows the identity API\'s own message and stays on the login form', async () => {
    const page = await newPage();
    await page.goto(`${pv.url}/`);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'not-her-password');
    await page.fill('input[name=project]', 'demo');
    await page.click('form[aria-label="Log in"] button[type=submit]');
    const shown = await page.textContent('.error');
    const api = await fetch(`${pv.url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'alice', domain: { id: 'default' }, password: 'x' } } }, scope: { project: { name: 'demo', domain: { id: 'default' } } } } }),
    });
    const message = ((await api.json()) as { error: { message: string } }).error.message;
    assert.equal(shown?.trim(), message);
    await shot(page, 'dashboard-login-error');
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
  });

  it('a member of two projects switches between them; quotas are shown per project', async () => {
    const page = await newPage();
    await logIn(page, pv.url, alice);
    assert.equal(await page.textContent('.usage[data-label=Instances] .usage-figures'), '0 of 10');
    await page.waitForSelector('select[aria-label=Project]:not([disabled])');
    assert.equal(await page.locator('select[aria-label=Project] option').count(), 2);
    await page.selectOption('select[aria-label=Project]', { label: 'demo2' });
    await page.waitForSelector('text=Project demo2: usage against quota.');
    const session = await storedSession(page);
    assert.equal(session.projectName, 'demo2');
  });

  it('launch shows the compute API\'s error for bad input, and changes nothing', async () => {
    const page = await newPage();
    await logIn(page, pv.url, alice);
    await page.click('nav >> text=Instances');
    await page.waitForSelector('[data-live=on]');
    await page.click('text=Launch instance');
    await page.fill('form[aria-label="Launch instance"] input[name=name]', 'toomany');
    await page.selectOption('select[name=image]', imageId);
    await page.selectOption('select[name=flavor]', flavorId);
    await page.fill('input[name=count]', '11');
    await page.click('form[aria-label="Launch instance"] button[type=submit]');
    const text = (await page.textContent('form[aria-label="Launch instance"] .error')) ?? '';
    assert.match(text, /Quota exceeded for instances/);
    await shot(page, 'dashboard-launch-error');
    const c = await ApiClient.login(pv.url, alice.username, alice.password, 'demo');
    const list = await c.request<{ servers: unknown[] }>('GET', '/compute/v2.1/servers');
    assert.deepEqual(list.body.servers, []);
  });

  it('instances change live: a server created elsewhere appears, goes BUILD → ACTIVE, and is stopped, without the page reloading', async () => {
    const page = await newPage();
    await logIn(page, pv.url, alice);
    await page.click('nav >> text=Instances');
    await page.waitForSelector('[data-live=on]');
    const sameDocument = await markDocument(page);
    const c = await ApiClient.login(pv.url, alice.username, alice.password, 'demo');
    const created = await c.request<{ server: { id: string } }>('POST', '/compute/v2.1/servers', { server: { name: 'pushed', imageRef: imageId, flavorRef: flavorId } });
    assert.equal(created.status, 202);
    await page.waitForSelector('tr[data-name=pushed] [data-status=BUILD]', { timeout: 10_000 });
    await page.waitForSelector('tr[data-name=pushed] [data-status=ACTIVE]', { timeout: 20_000 });
    await page.click('tr[data-name=pushed] button[data-action=stop]');
    await page.waitForSelector('tr[data-name=pushed] [data-status=SHUTOFF]', { timeout: 20_000 });
    assert.equal(await statusOf(page, 'pushed'), 'SHUTOFF');
    assert.ok(await sameDocument(), 'the page was never reloaded');
    // The detail page: action log with events (admins see events; members see the actions).
    await page.click('tr[data-name=pushed] a');
    await page.waitForSelector('table[aria-label="Action log"] tr[data-action-name=stop]');
    assert.ok(await page.$('table[aria-label="Action log"] tr[data-action-name=create]'));
    // Delete asks first.
    await page.click('button[data-action=delete]');
    await page.click('button[data-confirm=delete]');
    await page.waitForSelector('text=No instances.', { timeout: 20_000 });
  });

  it('the launch form sends name, image, flavor, zone, key pair and count; a failed build shows its fault', async () => {
    const c = await ApiClient.login(pv.url, alice.username, alice.password, 'demo');
    const kp = await c.request('POST', '/compute/v2.1/os-keypairs', { keypair: { name: 'alice-key' } });
    assert.equal(kp.status, 200, JSON.stringify(kp.body));
    // Room for no one: the fake node has 4096 GB of disk.
    const huge = await admin.request('POST', '/compute/v2.1/flavors', { flavor: { name: 'huge-disk', ram: 64, vcpus: 1, disk: 100000 } });
    assert.equal(huge.status, 200, JSON.stringify(huge.body));
    const page = await newPage();
    await logIn(page, pv.url, alice);
    await page.click('nav >> text=Instances');
    await page.waitForSelector('[data-live=on]');
    await page.click('text=Launch instance');
    const form = 'form[aria-label="Launch instance"]';
    await page.fill(`${form} input[name=name]`, 'pair');
    await page.selectOption(`${form} select[name=image]`, imageId);
    await page.selectOption(`${form} select[name=flavor]`, flavorId);
    await page.selectOption(`${form} select[name=zone]`, 'nova');
    await page.selectOption(`${form} select[name=keypair]`, 'alice-key');
    await page.fill(`${form} input[name=count]`, '2');
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector('tr[data-name=pair-1] [data-status=ACTIVE]', { timeout: 20_000 });
    await page.waitForSelector('tr[data-name=pair-2] [data-status=ACTIVE]', { timeout: 20_000 });
    const listed = await c.request<{ servers: { name: string; key_name: string; 'OS-EXT-AZ:availability_zone': string }[] }>('GET', '/compute/v2.1/servers/detail');
    assert.deepEqual(listed.body.servers.map((s) => `${s.name} ${s.key_name} ${s['OS-EXT-AZ:availability_zone']}`).sort(), ['pair-1 alice-key nova', 'pair-2 alice-key nova']);

    await page.click('text=Launch instance');
    await page.fill(`${form} input[name=name]`, 'nohost');
    await page.selectOption(`${form} select[name=image]`, imageId);
    await page.selectOption(`${form} select[name=flavor]`, { label: 'huge-disk — 1 VCPU, 64 MiB RAM, 100000 GB disk' });
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector('tr[data-name=nohost] [data-status=ERROR]', { timeout: 20_000 });
    await page.click('tr[data-name=nohost] a');
    await page.waitForSelector('[aria-label=Fault]');
    assert.match((await page.textContent('[aria-label=Fault]')) ?? '', /No valid host/);
    await shot(page, 'dashboard-instance-fault');
    for (const s of (await c.request<{ servers: { id: string }[] }>('GET', '/compute/v2.1/servers')).body.servers) await c.request('DELETE', `/compute/v2.1/servers/${s.id}`);
  });

  it('uploading a VMDK shows the disk facts the image service detected in it', async () => {
    const raw = join(pv.stateDir, 'small.raw');
    const vmdk = join(pv.stateDir, 'small.vmdk');
    writeFileSync(raw, Buffer.alloc(4 * 1024 * 1024, 7));
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized,adapter_type=lsilogic', raw, vmdk]);
    const page = await newPage();
    await logIn(page, pv.url, alice);
    await page.click('nav >> text=Images');
    await page.click('text=Upload image');
    await page.setInputFiles('input[name=file]', vmdk);
    assert.equal(await page.inputValue('select[name=disk_format]'), 'vmdk');
    await page.click('form[aria-label="Upload image"] button[type=submit]');
    await page.waitForSelector('[role=progressbar][aria-valuenow="100"]');
    await page.click('form[aria-label="Upload image"] >> text=Done');
    await page.click('tr[data-name="small.vmdk"] a');
    await page.waitForSelector('dd[data-fact="Virtual size"]');
    assert.equal(await page.textContent('dd[data-fact="Virtual size"]'), '4 MiB (4194304 bytes)');
    assert.equal(await page.textContent('dd[data-fact="VMDK disk type (vmware_disktype)"]'), 'streamOptimized');
    assert.equal(await page.textContent('dd[data-fact="Disk adapter (vmware_adaptertype)"]'), 'lsiLogic');
    await shot(page, 'dashboard-image-vmdk-facts');
  });

  it('an image is deleted from its page after a confirmation', async () => {
    const c = await ApiClient.login(pv.url, alice.username, alice.password, 'demo');
    const made = await c.request<{ id: string }>('POST', '/image/v2/images', { name: 'doomed', disk_format: 'raw', container_format: 'bare' });
    assert.equal(made.status, 201);
    const page = await newPage();
    await logIn(page, pv.url, alice);
    await page.click('nav >> text=Images');
    await page.click('tr[data-name=doomed] a');
    await page.click('button[data-action=delete-image]');
    await page.click('button[data-confirm=delete]');
    await page.waitForSelector('h1 >> text=Images');
    await page.waitForSelector('tr[data-name=base]');
    assert.equal(await page.$('tr[data-name=doomed]'), null);
    assert.equal((await c.request('GET', `/image/v2/images/${made.body.id}`)).status, 404);
  });

  it('the event stream is scoped to the caller\'s project; an admin may ask for all', async () => {
    const aliceApi = await ApiClient.login(pv.url, alice.username, alice.password, 'demo');
    const bobApi = await ApiClient.login(pv.url, bob.username, bob.password, 'other');
    const streams = {
      alice: await openStream(pv.url, aliceApi.token),
      bob: await openStream(pv.url, bobApi.token),
      bobAll: await openStream(pv.url, bobApi.token, true),
      adminAll: await openStream(pv.url, admin.token, true),
      admin: await openStream(pv.url, admin.token),
    };
    try {
      const created = await aliceApi.request<{ server: { id: string } }>('POST', '/compute/v2.1/servers', { server: { name: 'scoped', imageRef: imageId, flavorRef: flavorId } });
      const id = created.body.server.id;
      await eventually(async () => (streams.alice.ids().includes(id) && streams.adminAll.ids().includes(id) ? true : undefined), 'alice and admin(all) to hear of the server', 20_000);
      await eventually(async () => (streams.alice.statuses(id).includes('ACTIVE') ? true : undefined), 'alice to hear it became ACTIVE', 20_000);
      // Bob (another project, even asking for all) and the admin scoped to its own project hear nothing of it.
      assert.deepEqual(streams.bob.ids(), []);
      assert.deepEqual(streams.bobAll.ids(), []);
      assert.ok(!streams.admin.ids().includes(id));
      await aliceApi.request('DELETE', `/compute/v2.1/servers/${id}`);
      await eventually(async () => (streams.alice.statuses(id).includes('DELETED') ? true : undefined), 'alice to hear it was deleted', 20_000);
      assert.deepEqual(streams.bob.ids(), []);
    } finally {
      for (const s of Object.values(streams)) s.close();
    }
  });

  it('the event stream ends with `expired` once its token is revoked', async () => {
    const c = await ApiClient.login(pv.url, bob.username, bob.password, 'other');
    const stream = await openStream(pv.url, c.token);
    try {
      const revoked = await admin.request('DELETE', '/identity/v3/auth/tokens', undefined, { 'x-subject-token': c.token });
      assert.equal(revoked.status, 204);
      await eventually(async () => (stream.expired() ? true : undefined), 'the stream to say expired', 20_000);
      await eventually(async () => (stream.ended() ? true : undefined), 'the stream to end', 5_000);
    } finally {
      stream.close();
    }
  });

  it('log out revokes the token; a revoked token sends the page back to the login form', async () => {
    const page = await newPage();
    await logIn(page, pv.url, alice);
    const { token } = await storedSession(page);
    await page.click('text=Log out');
    await page.waitForSelector('form[aria-label="Log in"]');
    assert.equal(await page.evaluate("sessionStorage.getItem('polyvisor.session')"), null);
    const after = await fetch(`${pv.url}/compute/v2.1/servers`, { headers: { 'x-auth-token': token } });
    assert.equal(after.status, 401, 'the token was revoked');

    // Another session whose token is revoked behind its back (as when it expires).
    await logIn(page, pv.url, alice);
    const second = (await storedSession(page)).token;
    const revoked = await admin.request('DELETE', '/identity/v3/auth/tokens', undefined, { 'x-subject-token': second });
    assert.equal(revoked.status, 204);
    await page.click('nav >> text=Images');
    await page.waitForSelector('form[aria-label="Log in"]');
    assert.match((await page.textContent('.notice')) ?? '', /session has expired/);
    await shot(page, 'dashboard-login-expired');
  });

  it('no token ever appears in a URL the page asked for or in the server\'s logs; nothing is fetched from outside', async () => {
    const origin = new URL(pv.url).origin;
    const off = requested.filter((u) => !u.startsWith(origin) && !u.startsWith('about:') && !u.startsWith('data:'));
    assert.deepEqual(off, []);
    const tokens = [admin.token];
    for (const u of requested) for (const t of tokens) assert.ok(!u.includes(t), `token in ${u}`);
    // Every token issued in this run is a 32+ character opaque string; none shows in the logs.
    const aliceToken = (await ApiClient.login(pv.url, alice.username, alice.password, 'demo')).token;
    const page = await newPage();
    await page.goto(`${pv.url}/dashboard/`);
    const stored = { token: aliceToken, expiresAt: new Date(Date.now() + 3600_000).toISOString(), userId: 'x', userName: 'alice', projectId: 'x', projectName: 'demo', roles: ['member'], isAdmin: false };
    await page.evaluate(`sessionStorage.setItem('polyvisor.session', ${JSON.stringify(JSON.stringify(stored))})`);
    await page.reload();
    await page.click('nav >> text=Instances');
    await page.waitForSelector('[data-live=on]');
    for (const u of requested) assert.ok(!u.includes(aliceToken), `token in ${u}`);
    assert.ok(!pv.logs().includes(aliceToken), 'the token is not in the server logs');
    assert.ok(!pv.logs().includes(admin.token), 'the admin token is not in the server logs');
  });
});

interface Stream {
  expired(): boolean;
  ended(): boolean;
  ids(): string[];
  statuses(id: string): string[];
  close(): void;
}

/** Reads /dashboard/events as the page does (fetch, token in a header); resolves once it is `ready`. */
async function openStream(base: string, token: string, all = false): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(`${base}/dashboard/events${all ? '?all_projects=1' : ''}`, { headers: { 'x-auth-token': token }, signal: abort.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const changes: { id: string; status: string }[] = [];
  const reader = res.body?.getReader();
  assert.ok(reader);
  const decoder = new TextDecoder();
  let buffer = '';
  let expired = false;
  let ended = false;
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  void (async () => {
    try {
      for (;;) {
        const chunk: ReadableStreamReadResult<Uint8Array> = await reader.read();
        if (chunk.done) {
          ended = true;
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
          if (event === 'ready') readyResolve();
          if (event === 'expired') expired = true;
          if (event === 'instances') changes.push(...(JSON.parse(data) as { changes: { id: string; status: string }[] }).changes);
        }
      }
    } catch {
      // aborted
    }
  })();
  await ready;
  return {
    expired: () => expired,
    ended: () => ended,
    ids: () => [...new Set(changes.map((c) => c.id))],
    statuses: (id) => changes.filter((c) => c.id === id).map((c) => c.status),
    close: () => abort.abort(),
  };
}
