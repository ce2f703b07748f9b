import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { buildDashboard, createMember, logIn, markDocument, shot, statusOf, type Member } from '../support/dashboard.js';
import { ApiClient } from '../support/http-client.js';
import { libvirtComputeConf, startTestLibvirtd, type TestLibvirtd } from '../support/libvirtd.js';
import { startCompute, type ComputeProcess } from '../support/polyvisor-compute.js';
import { ADMIN, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { buildTestGuest, waitForBoots } from '../support/test-guest.js';
import { startTestVcsim, type TestVcsim } from '../vsphere/vcsim-harness.js';
import { vmwareConf } from './vmware-support.js';

/**
 * Issue 8's acceptance through a browser: Debian's Chromium driven by playwright-core
 * against one real deployment shared by every test of this file — `polyvisor serve` with
 * the VMware driver on vcsim (host e2e-host, zone vmware-zone) and `polyvisor compute` with
 * the libvirt driver on a private libvirtd (host kvm-host, zone kvm-zone), two processes on
 * one PostgreSQL database, so the instance feed sees changes made by another process.
 * Screenshots of each page go to test-results/screenshots/dashboard-*.png.
 */
const KVM_HOST = 'kvm-host';

/** The little of a canvas the console check reads (the test code is typed without the DOM). */
interface CanvasLike {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}
const VMWARE_HOST = 'e2e-host';

describe('dashboard acceptance: a browser against vcsim and libvirt', () => {
  let pg: TestPostgres;
  let sim: TestVcsim;
  let lv: TestLibvirtd;
  let pv: PolyvisorProcess;
  let kvm: ComputeProcess;
  let tb: TestBrowser;
  let guestFile: string;
  let admin: ApiClient;
  let alice: Member;
  let bob: Member;
  let ctx: BrowserContext;
  let page: Page;
  let imageId = '';
  const servers: Record<string, string> = {};

  before(async () => {
    [pg, sim, lv, guestFile, tb] = await Promise.all([
      startPostgres(),
      startTestVcsim({ clusters: 2, hostsPerCluster: 1 }),
      startTestLibvirtd(),
      buildTestGuest(),
      launchBrowser(),
      buildDashboard(),
    ]).then(([a, b, c, d, e]) => [a, b, c, d, e] as const);
    const databaseUrl = await pg.createDatabase();
    pv = await startPolyvisor({ databaseUrl, conf: vmwareConf(sim) });
    kvm = await startCompute({
      host: KVM_HOST,
      databaseUrl,
      conf: libvirtComputeConf(lv, { imageStore: join(pv.stateDir, 'images') }),
    });
    admin = await ApiClient.login(pv.url, ADMIN.username, ADMIN.password, ADMIN.project);
    for (const [zone, host] of [['kvm-zone', KVM_HOST], ['vmware-zone', VMWARE_HOST]] as const) {
      const agg = await admin.request<{ aggregate: { id: number } }>('POST', '/compute/v2.1/os-aggregates', { aggregate: { name: `${zone}-agg`, availability_zone: zone } });
      assert.equal(agg.status, 200, JSON.stringify(agg.body));
      const added = await admin.request('POST', `/compute/v2.1/os-aggregates/${agg.body.aggregate.id}/action`, { add_host: { host } });
      assert.equal(added.status, 200, JSON.stringify(added.body));
    }
    const flavor = await admin.request('POST', '/compute/v2.1/flavors', { flavor: { name: 'tcg.tiny', ram: 128, vcpus: 1, disk: 1 } });
    assert.equal(flavor.status, 200, JSON.stringify(flavor.body));
    alice = await createMember(admin, 'alice', 'alice-Pw-1', ['demo']);
    bob = await createMember(admin, 'bob', 'bob-Pw-1', ['other']);
    ctx = await tb.browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
  });
  after(async () => {
    await ctx?.close().catch(() => undefined);
    await tb?.close();
    await kvm?.stop();
    await pv?.stop();
    await Promise.all([lv?.stop(), sim?.stop()]);
    await pg?.stop();
  });

  /** Fills and sends the launch form; returns the new server's id once its row shows. */
  const launch = async (name: string, zone: string): Promise<string> => {
    await page.click('nav >> text=Instances');
    await page.waitForSelector('[data-live=on]');
    await page.click('text=Launch instance');
    const form = 'form[aria-label="Launch instance"]';
    await page.fill(`${form} input[name=name]`, name);
    await page.selectOption(`${form} select[name=image]`, imageId);
    await page.selectOption(`${form} select[name=flavor]`, { label: 'tcg.tiny — 1 VCPU, 128 MiB RAM, 1 GB disk' });
    await page.selectOption(`${form} select[name=zone]`, zone);
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector(form, { state: 'detached' });
    const row = await page.waitForSelector(`tr[data-name="${name}"]`);
    const id = await row.getAttribute('data-server-id');
    assert.ok(id);
    servers[name] = id;
    return id;
  };

  it('alice logs in and uploads the bootable test guest through the page, with a progress bar', { timeout: 120_000 }, async () => {
    await page.goto(`${pv.url}/`);
    await shot(page, 'dashboard-login');
    await logIn(page, pv.url, alice);
    await shot(page, 'dashboard-overview');
    await page.click('nav >> text=Images');
    await page.click('text=Upload image');
    await page.setInputFiles('input[name=file]', guestFile);
    await page.fill('form[aria-label="Upload image"] input[name=name]', 'test-guest');
    assert.equal(await page.inputValue('select[name=disk_format]'), 'raw', 'the format is guessed from the file name');
    // Every value the progress bar shows, as the page shows it.
    await page.evaluate(`window.__progress = [];
      new MutationObserver(() => {
        const bar = document.querySelector('[role=progressbar]');
        if (bar) window.__progress.push(Number(bar.getAttribute('aria-valuenow')));
      }).observe(document.body, { subtree: true, childList: true, attributes: true });`);
    await page.click('form[aria-label="Upload image"] button[type=submit]');
    await page.waitForSelector('[role=progressbar][aria-valuenow="100"]', { timeout: 60_000 });
    await shot(page, 'dashboard-image-upload');
    const seen = await page.evaluate<number[]>('window.__progress');
    assert.ok(seen.length > 0 && seen.at(-1) === 100, `progress seen: ${JSON.stringify(seen)}`);
    assert.deepEqual([...seen].sort((a, b) => a - b), seen, 'the bar only moves forward');
    await page.click('form[aria-label="Upload image"] >> text=Done');
    const row = await page.waitForSelector('tr[data-name="test-guest"]');
    imageId = (await row.getAttribute('data-image-id')) ?? '';
    await page.waitForSelector('tr[data-name="test-guest"] >> text=active');
    await shot(page, 'dashboard-images');
    // The image's page: the disk facts the image service detected, and its properties.
    await page.click('tr[data-name="test-guest"] a');
    await page.waitForSelector('dd[data-fact="Disk format"]');
    assert.equal(await page.textContent('dd[data-fact="Disk format"]'), 'raw');
    assert.equal(await page.textContent('dd[data-fact="Virtual size"]'), '18.6 MiB (19501056 bytes)');
    await page.fill('input[aria-label="New property name"]', 'os_distro');
    await page.fill('input[aria-label="New property value"]', 'busybox');
    await page.click('text=Save properties');
    await page.waitForSelector('tr[data-prop=os_distro]');
    await shot(page, 'dashboard-image-detail');
    const api = await ApiClient.login(pv.url, alice.username, alice.password, alice.project);
    const img = await api.request<Record<string, unknown>>('GET', `/image/v2/images/${imageId}`);
    assert.equal(img.body['status'], 'active');
    assert.equal(img.body['os_distro'], 'busybox');
    assert.equal(img.body['visibility'], 'private');
  });

  it('launches an instance on libvirt and sees it become ACTIVE without reloading', { timeout: 300_000 }, async () => {
    await page.click('nav >> text=Instances');
    await page.waitForSelector('[data-live=on]');
    const sameDocument = await markDocument(page);
    const id = await launch('web-kvm', 'kvm-zone');
    await page.waitForSelector('tr[data-name="web-kvm"] [data-status=ACTIVE]', { timeout: 240_000 });
    assert.ok(await sameDocument(), 'the status changed in place: the page never reloaded');
    assert.equal(await page.textContent('tr[data-name="web-kvm"] td[data-field=zone]'), 'kvm-zone');
    await shot(page, 'dashboard-instances');
    await page.click('tr[data-name="web-kvm"] a');
    await page.waitForSelector('table[aria-label="Action log"] tr[data-action-name=create]');
    await shot(page, 'dashboard-instance-detail');
    await page.click('text=← Instances');
    // The guest really booted (its marker on the serial console).
    await waitForBoots(join(lv.dir, 'instances', id, 'console.log'), 1, 180_000);
  });

  it('opens the libvirt guest\'s console from the dashboard; the screenshot shows the guest\'s console text', { timeout: 120_000 }, async () => {
    const [popup] = await Promise.all([ctx.waitForEvent('page'), page.click('tr[data-name="web-kvm"] button[data-action=console]')]);
    // The tab opens at the click, then goes to the URL POST /servers/{id}/remote-consoles gave.
    await popup.waitForURL(/\/console\//, { timeout: 30_000 });
    assert.ok(popup.url().startsWith(`${pv.url}/console/`), `the console page of this API process: ${popup.url()}`);
    await popup.waitForSelector('#status[data-state=connected]', { timeout: 30_000 });
    // Wait until the guest's screen is drawn: the canvas holds light (text) pixels on the dark screen.
    await popup.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): CanvasLike | null } }).document;
      const c = doc.querySelector('canvas');
      const g = c === null || c.width < 100 ? null : c.getContext('2d');
      if (c === null || g === null) return false;
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 16) if ((d[i] ?? 0) > 128) lit++;
      return lit > 200;
    }, undefined, { timeout: 30_000 });
    await shot(popup, 'dashboard-console');
    await popup.close();
  });

  it('launches and stops an instance on vcsim', { timeout: 180_000 }, async () => {
    await launch('web-vmw', 'vmware-zone');
    await page.waitForSelector('tr[data-name="web-vmw"] [data-status=ACTIVE]', { timeout: 120_000 });
    assert.equal(await page.textContent('tr[data-name="web-vmw"] td[data-field=zone]'), 'vmware-zone');
    // Actions follow the state: an ACTIVE server can be stopped, not started.
    assert.ok(await page.isDisabled('tr[data-name="web-vmw"] button[data-action=start]'));
    await page.click('tr[data-name="web-vmw"] button[data-action=stop]');
    await page.waitForSelector('tr[data-name="web-vmw"] [data-status=SHUTOFF]', { timeout: 60_000 });
    assert.ok(await page.isEnabled('tr[data-name="web-vmw"] button[data-action=start]'));
    assert.equal(await statusOf(page, 'web-kvm'), 'ACTIVE');
    await shot(page, 'dashboard-instances-vmware-stopped');
    const api = await ApiClient.login(pv.url, alice.username, alice.password, alice.project);
    const shown = await api.request<{ server: { status: string; 'OS-EXT-STS:power_state': number } }>('GET', `/compute/v2.1/servers/${servers['web-vmw'] ?? ''}`);
    assert.equal(shown.body.server.status, 'SHUTOFF');
  });

  it('a member of another project sees none of it: no instances, no private images', { timeout: 60_000 }, async () => {
    const other = await tb.browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const p = await other.newPage();
      await logIn(p, pv.url, bob);
      assert.match((await p.textContent('.usage[data-label=Instances] .usage-figures')) ?? '', /^0 of /);
      await p.click('nav >> text=Instances');
      await p.waitForSelector('[data-live=on]');
      await p.waitForSelector('text=No instances.');
      assert.equal(await p.$('tr[data-server-id]'), null);
      await shot(p, 'dashboard-other-project-instances');
      await p.click('nav >> text=Images');
      await p.waitForSelector('h1 >> text=Images');
      await p.waitForLoadState('networkidle');
      assert.equal(await p.$(`tr[data-image-id="${imageId}"]`), null, 'alice\'s private image is not listed');
      await shot(p, 'dashboard-other-project-images');
      // Nor can bob open them by id.
      await p.goto(`${pv.url}/dashboard/#/instances/${servers['web-kvm'] ?? ''}`);
      await p.waitForSelector('.error');
      assert.match((await p.textContent('.error')) ?? '', /could not be found/i);
    } finally {
      await other.close();
    }
  });

  it('an admin sees every hypervisor (one per vCenter cluster, and the KVM host) with usage charts, the flavors and the compute services', { timeout: 60_000 }, async () => {
    const p = await ctx.newPage();
    await p.goto(`${pv.url}/dashboard/`);
    await p.evaluate("sessionStorage.clear()");
    await logIn(p, pv.url, ADMIN);
    await p.click('nav >> text=Hypervisors');
    await p.waitForSelector(`[data-hypervisor="${KVM_HOST}"]`);
    assert.equal(await p.locator('[data-hypervisor]').count(), 3);
    const types = (await p.locator('[data-hypervisor] [data-field=type]').allTextContents()).sort();
    assert.deepEqual(types, ['QEMU', 'VMware vCenter Server', 'VMware vCenter Server']);
    const kvmCard = `[data-hypervisor="${KVM_HOST}"]`;
    assert.match((await p.textContent(`${kvmCard} .usage[data-label=VCPUs] .usage-figures`)) ?? '', /^1 of \d+/, 'the KVM host shows the running guest\'s vCPU');
    await shot(p, 'dashboard-hypervisors');
    await p.click('nav >> text=Flavors');
    await p.waitForSelector('tr[data-name="tcg.tiny"]');
    await shot(p, 'dashboard-flavors');
    await p.click('nav >> text=Compute services');
    await p.waitForSelector(`tr[data-host="${KVM_HOST}"][data-binary=nova-compute]`);
    await p.waitForSelector(`tr[data-host="${VMWARE_HOST}"][data-binary=nova-compute]`);
    await shot(p, 'dashboard-services');
    await p.click('nav >> text=Instances');
    await p.check('text=All projects');
    await p.waitForSelector('tr[data-name="web-kvm"]');
    await shot(p, 'dashboard-instances-all-projects');
    await p.close();
  });
});
