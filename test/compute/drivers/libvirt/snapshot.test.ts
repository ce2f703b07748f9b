import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import type { InstanceRef, InstanceSpec } from '../../../../src/compute/drivers/driver.js';
import { LibvirtDriver } from '../../../../src/compute/drivers/libvirt/index.js';
import { domstate, startTestLibvirtd, type TestLibvirtd } from '../../../support/libvirtd.js';
import { buildTestGuest, GUEST_MARKER, testGuestImage, waitForBoots } from '../../../support/test-guest.js';
import { testOptions } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(180_000);

function qemuImgInfo(path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', ['info', '--output=json', path], (err, out) => (err ? reject(new Error(err.message)) : resolve(JSON.parse(out) as Record<string, unknown>)));
  });
}

/** createImage/shelve's snapshot, os-getConsoleOutput and trigger_crash_dump on a real guest through a private libvirtd. */
describe('libvirt driver: snapshot, console output and NMI', () => {
  let lv: TestLibvirtd;
  let driver: LibvirtDriver;
  let ref: InstanceRef;
  let domain: string;
  let instancesPath: string;
  let out: string;

  before(async () => {
    lv = await startTestLibvirtd();
    const options = testOptions(lv);
    instancesPath = options.instancesPath;
    driver = new LibvirtDriver(options);
    await driver.init(t());
    out = await mkdtemp(join(tmpdir(), 'pv-lv-snap-'));
    const image = await testGuestImage(await buildTestGuest(), { hypervisor_type: 'qemu' });
    const spec: InstanceSpec = {
      uuid: randomUUID(), node: 'kvm-test-host', driverInfo: {}, name: 'snap', hostname: 'snap', projectId: 'p1', userId: 'u1',
      flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 256, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
      metadata: {}, keyData: null, userData: null, networks: 'none',
    };
    const { driverInfo } = await driver.spawn(spec, image, t());
    ref = { uuid: spec.uuid, node: spec.node, driverInfo };
    domain = String(driverInfo['domain']);
    await waitForBoots(join(instancesPath, spec.uuid, 'console.log'), 1);
  });
  after(async () => {
    await driver.destroy(ref, t()).catch(() => undefined);
    await driver.close();
    await lv.stop();
    await rm(out, { recursive: true, force: true });
  });

  it('getConsoleOutput returns the serial console log, with the guest’s marker', async () => {
    const log = await driver.getConsoleOutput(ref, t());
    assert.ok(log.includes(GUEST_MARKER), log.slice(-500));
  });

  it('snapshot streams a standalone qcow2 of the root disk, resumes the guest and removes its staging file', async () => {
    const snap = await driver.snapshot(ref, t());
    assert.equal(snap.diskFormat, 'qcow2');
    assert.equal(await domstate(lv.uri, domain), 'running', 'the guest runs again once the copy is made');
    const file = join(out, 'snap.qcow2');
    await pipeline(snap.data, createWriteStream(file));
    await snap.release();
    const info = await qemuImgInfo(file);
    assert.equal(info['format'], 'qcow2');
    assert.equal(info['virtual-size'], 1024 ** 3);
    assert.equal(info['backing-filename'], undefined, 'flattened: no backing file');
    const left = (await readdir(join(instancesPath, ref.uuid))).filter((f) => f.startsWith('snapshot-'));
    assert.deepEqual(left, []);
  });

  it('triggerCrashDump injects an NMI into the running guest, which keeps running', async () => {
    await driver.triggerCrashDump(ref, t());
    assert.equal(await domstate(lv.uri, domain), 'running');
  });

  it('getConsoleOutput of an unknown instance fails with a clear error', async () => {
    await assert.rejects(driver.getConsoleOutput({ uuid: randomUUID(), node: 'kvm-test-host', driverInfo: {} }, t()), /has no console log yet/);
  });
});
