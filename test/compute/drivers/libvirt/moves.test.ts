import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImageSource, InstanceRef, InstanceSpec } from '../../../../src/compute/drivers/driver.js';
import { LibvirtDriver } from '../../../../src/compute/drivers/libvirt/index.js';
import { domainOwner } from '../../../../src/compute/drivers/libvirt/domain-xml.js';
import type { FlavorSnapshot } from '../../../../src/compute/states.js';
import { domstate, startTestLibvirtd, virsh, type TestLibvirtd } from '../../../support/libvirtd.js';
import { bootIds, buildTestGuest, testGuestImage, waitForBoots } from '../../../support/test-guest.js';
import { testOptions } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(180_000);
const GiB = 1024 ** 3;

const SMALL: FlavorSnapshot = { id: '1', name: 'small', vcpus: 1, memory_mb: 128, root_gb: 2, ephemeral_gb: 0, swap: 0, extra_specs: {} };
const BIG: FlavorSnapshot = { id: '2', name: 'big', vcpus: 2, memory_mb: 192, root_gb: 3, ephemeral_gb: 1, swap: 16, extra_specs: {} };
const TINY: FlavorSnapshot = { id: '3', name: 'tiny', vcpus: 1, memory_mb: 128, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

/**
 * Resize and cold migration through a real libvirtd with one real guest, as the agent calls
 * the driver: source step, destination step, then confirm (source) or revert (destination
 * destroys, source restores). Four "hosts" share one libvirtd: kvm-a and kvm-b with their own
 * instances paths (disks copied from the source's path), kvm-c sharing kvm-b's path, kvm-d
 * that cannot see where the disks are kept.
 */
describe('libvirt driver: resize and cold migration of a real guest', () => {
  let lv: TestLibvirtd;
  let a: LibvirtDriver;
  let b: LibvirtDriver;
  let c: LibvirtDriver;
  let d: LibvirtDriver;
  let pathA: string;
  let pathB: string;
  let pathD: string;
  let image: ImageSource;
  let spec: InstanceSpec;
  let ref: InstanceRef;
  let domain: string;

  const dominfo = async (): Promise<{ cpus: number; memoryKib: number; state: string }> => {
    const out = await virsh(lv.uri, 'dominfo', domain);
    const field = (n: string): string => new RegExp(`^${n}:\\s*(.*?)\\s*$`, 'm').exec(out)?.[1] ?? '';
    return { cpus: Number(field('CPU\\(s\\)')), memoryKib: Number.parseInt(field('Max memory'), 10), state: field('State') };
  };

  before(async () => {
    lv = await startTestLibvirtd();
    pathA = join(lv.dir, 'host-a');
    pathB = join(lv.dir, 'host-b');
    a = new LibvirtDriver(testOptions(lv, { host: 'kvm-a', instancesPath: pathA, removeUnusedMinimumAgeSeconds: 0 }));
    b = new LibvirtDriver(testOptions(lv, { host: 'kvm-b', instancesPath: pathB }));
    c = new LibvirtDriver(testOptions(lv, { host: 'kvm-c', instancesPath: pathB }));
    pathD = join(lv.dir, 'host-d');
    d = new LibvirtDriver(testOptions(lv, { host: 'kvm-d', instancesPath: pathD }));
    for (const driver of [a, b, c, d]) await driver.init(t());
    image = await testGuestImage(await buildTestGuest(), { hypervisor_type: 'qemu' });
    spec = {
      uuid: randomUUID(), node: 'kvm-a', driverInfo: {}, name: 'mover', hostname: 'mover', projectId: 'p1', userId: 'u1',
      flavor: SMALL, metadata: {}, keyData: null, userData: null, networks: 'auto',
    };
    domain = `instance-${spec.uuid}`;
  });
  after(async () => {
    for (const driver of [a, b, c, d]) await driver.close();
    await lv.stop();
  });

  it('boots the guest on kvm-a with a 2 GB root disk', async () => {
    const { driverInfo } = await a.spawn(spec, image, t());
    ref = { uuid: spec.uuid, node: 'kvm-a', driverInfo };
    await waitForBoots(join(pathA, spec.uuid, 'console.log'), 1);
    assert.equal(await domstate(lv.uri, domain), 'running');
  });

  it('refuses a smaller root disk before anything changes', async () => {
    await assert.rejects(a.migrateDiskAndPowerOff(ref, { host: 'kvm-a', node: 'kvm-a' }, TINY, t()), /flavor tiny has a 1 GB root disk, smaller than .* 2\.0 GB one: a root disk cannot be shrunk/);
    assert.equal(await domstate(lv.uri, domain), 'running');
    assert.equal(existsSync(join(pathA, `${spec.uuid}_resize`)), false);
    assert.equal((await qemuImgInfo(join(pathA, spec.uuid, 'disk')))['virtual-size'], 2 * GiB);
    assert.equal((await bootIds(join(pathA, spec.uuid, 'console.log'))).length, 1, 'the guest was not restarted');
  });

  let keptHash = '';
  it('resizes on the same host to a bigger flavor: new vCPUs, memory, disks; the guest boots again', async (tc) => {
    const kept = join(pathA, `${spec.uuid}_resize`);
    let started = performance.now();
    await a.migrateDiskAndPowerOff(ref, { host: 'kvm-a', node: 'kvm-a' }, BIG, t());
    tc.diagnostic(`source step (ACPI power-off included): ${Math.round(performance.now() - started)} ms`);
    assert.match(await readFile(join(kept, 'console.log'), 'latin1'), /POLYVISOR-GUEST-POWEROFF/, 'the guest was asked to power off (ACPI)');
    assert.equal(existsSync(join(pathA, spec.uuid)), false);
    keptHash = await sha256(join(kept, 'disk'));
    // Run again, as after an agent restart: already handed over, nothing changes.
    await a.migrateDiskAndPowerOff(ref, { host: 'kvm-a', node: 'kvm-a' }, BIG, t());
    assert.equal(await sha256(join(kept, 'disk')), keptHash);

    started = performance.now();
    const { driverInfo } = await a.finishMigration({ ...spec, flavor: BIG, driverInfo: ref.driverInfo }, image, { powerOn: true }, t());
    tc.diagnostic(`destination step (to virsh start): ${Math.round(performance.now() - started)} ms`);
    assert.equal(driverInfo['instancesPath'], pathA);
    await waitForBoots(join(pathA, spec.uuid, 'console.log'), 1);
    const info = await dominfo();
    assert.deepEqual(info, { cpus: 2, memoryKib: 192 * 1024, state: 'running' });
    assert.equal((await qemuImgInfo(join(pathA, spec.uuid, 'disk')))['virtual-size'], 3 * GiB);
    assert.equal((await qemuImgInfo(join(pathA, spec.uuid, 'disk.local')))['virtual-size'], 1 * GiB);
    assert.equal((await qemuImgInfo(join(pathA, spec.uuid, 'disk.swap')))['virtual-size'], 16 * 1024 ** 2);
    assert.match(await virsh(lv.uri, 'domblklist', domain), /vdb\s+\S+disk\.local[\s\S]*vdc\s+\S+disk\.swap/);
    // The kept copy is untouched: still the 2 GB disk as it was.
    assert.equal((await qemuImgInfo(join(kept, 'disk')))['virtual-size'], 2 * GiB);
    assert.equal(await sha256(join(kept, 'disk')), keptHash);
    // Dropping the ephemeral disk is shrinking it: refused, the guest left running.
    await assert.rejects(a.migrateDiskAndPowerOff(ref, { host: 'kvm-a', node: 'kvm-a' }, { ...BIG, name: 'no-eph', ephemeral_gb: 0 }, t()), /flavor no-eph has a 0 GB ephemeral disk, smaller than .* 1 GB one: an ephemeral disk cannot be shrunk/);
    // And a second move while this one waits for confirm or revert: refused, naming the kept folder.
    await assert.rejects(a.migrateDiskAndPowerOff(ref, { host: 'kvm-a', node: 'kvm-a' }, BIG, t()), new RegExp(`${kept} \\(the copy an earlier resize`));
    assert.equal((await dominfo()).state, 'running');
  });

  it('reverts: the kept folder back, the old flavor, the same disk, the guest boots again', async () => {
    await a.destroy(ref, t()); // the destination's part of a revert (here the same host)
    await a.finishRevertMigration(ref, { powerOn: true }, t());
    assert.equal(await sha256(join(pathA, spec.uuid, 'disk')), keptHash, 'the disk is the one kept');
    assert.deepEqual(await dominfo(), { cpus: 1, memoryKib: 128 * 1024, state: 'running' });
    assert.equal((await qemuImgInfo(join(pathA, spec.uuid, 'disk')))['virtual-size'], 2 * GiB);
    assert.equal(existsSync(join(pathA, `${spec.uuid}_resize`)), false);
    assert.equal(existsSync(join(pathA, spec.uuid, 'disk.local')), false);
    assert.doesNotMatch(await virsh(lv.uri, 'domblklist', domain), /vdb/);
    await waitForBoots(join(pathA, spec.uuid, 'console.log'), 2);
  });

  it('cold-migrates kvm-a → kvm-b (other instances path): copied, on kvm-b\'s cached base, booted; kvm-a keeps its copy and base', async () => {
    await a.migrateDiskAndPowerOff(ref, { host: 'kvm-b', node: 'kvm-b' }, SMALL, t());
    const { driverInfo } = await b.finishMigration({ ...spec, node: 'kvm-b', driverInfo: ref.driverInfo }, image, { powerOn: true }, t());
    await waitForBoots(join(pathB, spec.uuid, 'console.log'), 1);
    assert.equal(await domstate(lv.uri, domain), 'running');
    assert.match(await virsh(lv.uri, 'domblklist', domain), new RegExp(`vda\\s+${join(pathB, spec.uuid, 'disk')}`));
    const disk = await qemuImgInfo(join(pathB, spec.uuid, 'disk'));
    assert.equal(disk['full-backing-filename'], join(pathB, '_base', `${image.id}.raw`));
    assert.equal(disk['virtual-size'], 2 * GiB);
    assert.ok(existsSync(join(pathA, `${spec.uuid}_resize`, 'disk')));
    // kvm-a's image-cache ageing (minimum age 0) keeps the base its kept copy needs for a revert
    // (the blank ephemeral and swap bases of the reverted resize, used by nothing now, go).
    const aged = await a.ageImageCache(t());
    assert.deepEqual([...aged.removed].sort(), ['ephemeral_1_ext4', 'swap_16']);
    assert.ok(existsSync(join(pathA, '_base', `${image.id}.raw`)));
    ref = { uuid: spec.uuid, node: 'kvm-b', driverInfo };
  });

  it('confirm removes the kept folder on kvm-a and leaves the guest on kvm-b running', async () => {
    await a.confirmMigration({ uuid: spec.uuid, node: 'kvm-a', driverInfo: {} }, t());
    assert.equal(existsSync(join(pathA, `${spec.uuid}_resize`)), false);
    assert.equal(await domstate(lv.uri, domain), 'running');
    assert.equal((await bootIds(join(pathB, spec.uuid, 'console.log'))).length, 1);
  });

  it('kvm-b → kvm-c sharing the instances path, stopped: moved through the shared path; revert restores kvm-b\'s copy', async () => {
    await b.migrateDiskAndPowerOff(ref, { host: 'kvm-c', node: 'kvm-c' }, BIG, t());
    const kept = join(pathB, `${spec.uuid}_resize`);
    const hash = await sha256(join(kept, 'disk'));
    await c.finishMigration({ ...spec, node: 'kvm-c', flavor: BIG, driverInfo: ref.driverInfo }, image, { powerOn: false }, t());
    // Run again, as after an agent restart in the middle of it: rebuilt from the kept folder, which stays as it was.
    await c.finishMigration({ ...spec, node: 'kvm-c', flavor: BIG, driverInfo: ref.driverInfo }, image, { powerOn: false }, t());
    assert.equal(await sha256(join(kept, 'disk')), hash);
    assert.deepEqual(await dominfo(), { cpus: 2, memoryKib: 192 * 1024, state: 'shut off' });
    assert.equal((await qemuImgInfo(join(pathB, spec.uuid, 'disk')))['virtual-size'], 3 * GiB);
    await c.destroy({ ...ref, node: 'kvm-c' }, t());
    await b.finishRevertMigration(ref, { powerOn: false }, t());
    assert.deepEqual(await dominfo(), { cpus: 1, memoryKib: 128 * 1024, state: 'shut off' });
    assert.equal(await sha256(join(pathB, spec.uuid, 'disk')), hash);
    assert.equal(existsSync(kept), false);
  });

  it('with the driver info lost (the agent clears it on a revert), a destination on the same libvirtd finds the kept folder from the source\'s domain', async () => {
    const owner = domainOwner(await virsh(lv.uri, 'dumpxml', '--inactive', domain));
    assert.deepEqual(owner, { host: 'kvm-b', instancesPath: pathB, rootDisk: join(pathB, spec.uuid, 'disk') });
    await b.migrateDiskAndPowerOff({ ...ref, driverInfo: {} }, { host: 'kvm-d', node: 'kvm-d' }, SMALL, t());
    assert.equal(await domstate(lv.uri, domain), 'shut off', 'the source keeps its domain until confirm, as Nova');
    await d.finishMigration({ ...spec, node: 'kvm-d', driverInfo: {} }, image, { powerOn: false }, t());
    assert.match(await virsh(lv.uri, 'domblklist', domain), new RegExp(`vda\\s+${join(pathD, spec.uuid, 'disk')}`));
    await d.destroy({ ...ref, node: 'kvm-d' }, t());
    await b.finishRevertMigration({ ...ref, driverInfo: {} }, { powerOn: false }, t());
    assert.match(await virsh(lv.uri, 'domblklist', domain), new RegExp(`vda\\s+${join(pathB, spec.uuid, 'disk')}`));
  });

  it('a destination that cannot read the kept disks fails clearly, and the kept copy reverts intact', async () => {
    await b.migrateDiskAndPowerOff(ref, { host: 'kvm-d', node: 'kvm-d' }, SMALL, t());
    const kept = join(pathB, `${spec.uuid}_resize`);
    const hash = await sha256(join(kept, 'disk'));
    // As if kvm-d had a libvirtd of its own: no source domain to read, no driver info.
    await virsh(lv.uri, 'undefine', domain);
    await assert.rejects(d.finishMigration({ ...spec, node: 'kvm-d', driverInfo: {} }, image, { powerOn: true }, t()), /not readable from host kvm-d .*kept on the source host/);
    assert.equal(await sha256(join(kept, 'disk')), hash);
    assert.equal(existsSync(join(pathD, spec.uuid)), false, 'the failed destination left nothing');
    await d.destroy({ ...ref, node: 'kvm-d' }, t());
    await b.finishRevertMigration(ref, { powerOn: false }, t());
    assert.equal(await domstate(lv.uri, domain), 'shut off');
    assert.equal(await sha256(join(pathB, spec.uuid, 'disk')), hash);
  });

  it('confirm on a source whose own definition is still there (separate libvirtds) undefines it; a destination\'s is left alone', async () => {
    // kvm-b → kvm-d: kvm-b's confirm leaves kvm-d's domain alone. Then back kvm-d → kvm-b, with
    // kvm-d's old definition put back as kvm-d's own libvirtd would still hold it: kvm-d's confirm undefines it.
    await b.migrateDiskAndPowerOff(ref, { host: 'kvm-d', node: 'kvm-d' }, SMALL, t());
    await d.finishMigration({ ...spec, node: 'kvm-d', driverInfo: ref.driverInfo }, image, { powerOn: false }, t());
    await b.confirmMigration(ref, t());
    assert.equal(domainOwner(await virsh(lv.uri, 'dumpxml', '--inactive', domain)).host, 'kvm-d', 'the destination\'s domain stays');
    assert.equal(existsSync(join(pathB, `${spec.uuid}_resize`)), false);
    const refD = { uuid: spec.uuid, node: 'kvm-d', driverInfo: {} };
    await d.migrateDiskAndPowerOff(refD, { host: 'kvm-b', node: 'kvm-b' }, SMALL, t());
    await b.finishMigration({ ...spec, node: 'kvm-b', driverInfo: {} }, image, { powerOn: false }, t());
    await virsh(lv.uri, 'define', join(pathD, `${spec.uuid}_resize`, 'libvirt.xml'));
    assert.equal(domainOwner(await virsh(lv.uri, 'dumpxml', '--inactive', domain)).host, 'kvm-d');
    await d.confirmMigration(refD, t());
    await assert.rejects(virsh(lv.uri, 'dominfo', domain), /failed to get domain|Domain not found/);
    assert.equal(existsSync(join(pathD, `${spec.uuid}_resize`)), false);
    assert.ok(existsSync(join(pathB, spec.uuid, 'disk')), 'the instance\'s files on kvm-b stay');
    await b.destroy(ref, t());
  });
});

function qemuImgInfo(path: string): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    execFile('qemu-img', ['info', '--output=json', '-U', path], { encoding: 'utf8' }, (err, out) => (err === null ? res(JSON.parse(out) as Record<string, unknown>) : rej(new Error(`qemu-img info ${path}: ${err.message}`))));
  });
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}
