import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, stat, utimes } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configFromText } from '../../../../src/config/load.js';
import type { InstanceRef, InstanceSpec } from '../../../../src/compute/drivers/driver.js';
import { LibvirtDriver, libvirtOptionsFromConfig, LibvirtStartupError, type LibvirtDriverOptions } from '../../../../src/compute/drivers/libvirt/index.js';
import type { FlavorSnapshot } from '../../../../src/compute/states.js';
import { startTestLibvirtd, virsh, type TestLibvirtd } from '../../../support/libvirtd.js';
import { rawImage } from '../contract.js';
import { testOptions } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(120_000);
const GiB = 1024 ** 3;

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, out, stderr) => (err === null ? res(out) : rej(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`))));
  });
}
const qemuImgInfo = async (path: string): Promise<Record<string, unknown>> => JSON.parse(await run('qemu-img', ['info', '--output=json', '-U', path])) as Record<string, unknown>;

/**
 * The Driver items of issue 6 that need no booting guest (a blank raw image is enough; the
 * lifecycle test boots a real one): [libvirt] virt_type / connection_uri, the image cache
 * (one base per image) and its ageing, overlays grown to the flavor's root disk, the flavor's
 * ephemeral and swap disks, VNC on [vnc] server_listen, host resources from libvirt.
 */
describe('libvirt driver: configuration, disks, image cache and its ageing, host resources', () => {
  let lv: TestLibvirtd;
  let driver: LibvirtDriver;
  let options: LibvirtDriverOptions;
  const image = rawImage(1024 * 1024);
  const otherImage = rawImage(2 * 1024 * 1024);

  const spec = (flavor: Partial<FlavorSnapshot> = {}): InstanceSpec => {
    const uuid = randomUUID();
    return {
      uuid, node: 'kvm-test-host', driverInfo: {}, name: `disks-${uuid.slice(0, 8)}`, hostname: 'disks', projectId: 'p', userId: 'u',
      flavor: { id: 'f', name: 'm1.disks', vcpus: 2, memory_mb: 192, root_gb: 2, ephemeral_gb: 0, swap: 0, extra_specs: {}, ...flavor },
      metadata: {}, keyData: null, userData: null, networks: 'auto',
    };
  };
  const spawn = async (s: InstanceSpec, img = image): Promise<InstanceRef> => ({ uuid: s.uuid, node: s.node, driverInfo: (await driver.spawn(s, img, t())).driverInfo });

  before(async () => {
    lv = await startTestLibvirtd();
    // VNC listens on [vnc] server_listen: a loopback address other than the default proves it is used.
    options = testOptions(lv, { vncListen: '127.0.0.2', vncProxyclientAddress: '127.0.0.2' });
    driver = new LibvirtDriver(options);
    await driver.init(t());
  });
  after(async () => {
    await driver.close();
    await lv.stop();
  });

  it('reads [libvirt] virt_type and connection_uri from nova.conf (and the deprecated [DEFAULT] libvirt_type)', () => {
    const o = libvirtOptionsFromConfig(configFromText('[libvirt]\nvirt_type = qemu\nconnection_uri = qemu:///system?socket=/x/sock\n').config);
    assert.equal(o.virtType, 'qemu');
    assert.equal(o.connectionUri, 'qemu:///system?socket=/x/sock');
    const d = libvirtOptionsFromConfig(configFromText('[DEFAULT]\n').config);
    assert.equal(d.virtType, 'kvm');
    assert.equal(d.connectionUri, 'qemu:///system');
    assert.equal(libvirtOptionsFromConfig(configFromText('[DEFAULT]\nlibvirt_type = qemu\n').config).virtType, 'qemu');
  });

  it('an unreachable connection_uri fails init with an error naming the option', async () => {
    const bad = new LibvirtDriver({ ...options, connectionUri: `qemu:///system?socket=${join(lv.dir, 'no-such-sock')}` });
    await assert.rejects(bad.init(t()), (e: unknown) => e instanceof LibvirtStartupError && /\[libvirt\] connection_uri = qemu:\/\/\/system\?socket=.*no-such-sock/.test(e.message));
  });

  it('host resources come from libvirt: vCPUs and memory as virsh nodeinfo says, QEMU version as virsh version says', async () => {
    const [node] = await driver.listNodes(t());
    const info = await virsh(lv.uri, 'nodeinfo');
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(info)?.[1]);
    assert.equal(node?.hypervisorType, 'QEMU');
    assert.equal(node.vcpus, field('CPU\\(s\\)'));
    assert.equal(node.memoryMb, Math.floor(field('Memory size') / 1024));
    const version = /Running hypervisor:\s*QEMU\s+(\d+)\.(\d+)\.(\d+)/.exec(await virsh(lv.uri, 'version'));
    assert.equal(node.hypervisorVersion, Number(version?.[1]) * 1_000_000 + Number(version?.[2]) * 1_000 + Number(version?.[3]));
    assert.equal(node.cpuInfo['virt_type'], options.virtType);
    assert.ok(node.localGb > 0);
  });

  it('one base per image, a qcow2 overlay per instance grown to root_gb; ephemeral_gb and swap become vdb (ext4) and vdc (swap)', async () => {
    const a = spec({ ephemeral_gb: 1, swap: 64 });
    const b = spec();
    const [ra, rb] = [await spawn(a), await spawn(b)];
    const domain = `instance-${a.uuid}`;
    assert.equal(await virsh(lv.uri, 'domstate', domain), 'running');

    const base = join(options.instancesPath, '_base', `${image.id}.raw`);
    const cached = (await readdir(join(options.instancesPath, '_base'))).filter((f) => !f.startsWith('.')).sort();
    assert.deepEqual(cached, [`${image.id}.raw`, 'ephemeral_1_ext4', 'swap_64'].sort(), 'two instances of one image share one base file');
    for (const r of [ra, rb]) {
      const root = await qemuImgInfo(join(options.instancesPath, r.uuid, 'disk'));
      assert.equal(root['format'], 'qcow2');
      assert.equal(root['full-backing-filename'], base);
      assert.equal(root['virtual-size'], 2 * GiB, 'the root disk is grown to the flavor\'s root_gb');
    }
    const eph = await qemuImgInfo(join(options.instancesPath, a.uuid, 'disk.local'));
    assert.equal(eph['virtual-size'], GiB);
    assert.equal(eph['full-backing-filename'], join(options.instancesPath, '_base', 'ephemeral_1_ext4'));
    const swap = await qemuImgInfo(join(options.instancesPath, a.uuid, 'disk.swap'));
    assert.equal(swap['virtual-size'], 64 * 1024 ** 2);
    // What the guest finds on them: an ext4 file system labelled ephemeral0, and a swap area.
    assert.match(await run('blkid', [join(options.instancesPath, '_base', 'ephemeral_1_ext4')]), /LABEL="ephemeral0".*TYPE="ext4"/);
    assert.match(await run('blkid', [join(options.instancesPath, '_base', 'swap_64')]), /TYPE="swap"/);
    const blk = (await virsh(lv.uri, 'domblklist', domain)).split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(blk.map(([dev, path]) => `${dev} ${path}`), [
      `vda ${join(options.instancesPath, a.uuid, 'disk')}`,
      `vdb ${join(options.instancesPath, a.uuid, 'disk.local')}`,
      `vdc ${join(options.instancesPath, a.uuid, 'disk.swap')}`,
    ]);
    assert.deepEqual((await virsh(lv.uri, 'domblklist', `instance-${b.uuid}`)).split('\n').map((l) => l.trim().split(/\s+/)[0]), ['vda'], 'no extra disks when the flavor has none');

    // The domain: virt_type, the flavor's vCPUs and memory, virtio disks and NIC (user networking: no bridge here).
    const xml = await virsh(lv.uri, 'dumpxml', domain);
    assert.match(xml, new RegExp(`<domain type='${options.virtType}'`));
    assert.match(xml, /<vcpu placement='static'>2<\/vcpu>/);
    assert.match(xml, /<memory unit='KiB'>196608<\/memory>/);
    assert.match(xml, /<interface type='user'>[\s\S]*?<model type='virtio'\/>/);
    assert.match(xml, /<serial type='file'>\s*<source path='[^']*\/console\.log'/);
    await driver.destroy(ra, t());
    await driver.destroy(rb, t());
  });

  it('VNC listens on [vnc] server_listen, on a port libvirt picked', async () => {
    const r = await spawn(spec());
    const xml = await virsh(lv.uri, 'dumpxml', `instance-${r.uuid}`);
    assert.match(xml, /<graphics type='vnc' port='\d+' autoport='yes' listen='127\.0\.0\.2'>/);
    const vnc = await driver.getVncConsole(r, t());
    assert.equal(vnc.host, '127.0.0.2');
    const banner = await new Promise<string>((res, rej) => {
      const s = createConnection({ host: '127.0.0.2', port: vnc.port });
      s.once('data', (d: Buffer) => {
        res(d.toString('latin1'));
        s.destroy();
      });
      s.once('error', rej);
    });
    assert.match(banner, /^RFB 003\.00\d/);
    await driver.destroy(r, t());
  });

  it('image-cache ageing: bases in use stay; an unused one goes once older than the minimum age, not before, and only when removal is on', async () => {
    const inUse = await spawn(spec({ swap: 32 }));
    const gone = await spawn(spec(), otherImage);
    await driver.destroy(gone, t());
    const cacheDir = join(options.instancesPath, '_base');
    const unusedBase = join(cacheDir, `${otherImage.id}.raw`);
    const usedBase = join(cacheDir, `${image.id}.raw`);

    // Unused but young (the default minimum age is a day): kept.
    const young = await driver.ageImageCache(t());
    assert.deepEqual(young.removed, []);
    assert.ok((await stat(unusedBase)).isFile());
    assert.equal(young.inUse, 2, 'the image base and the swap base of the running instance');

    // Unused for longer than the minimum age: removed, together with the blank bases no instance uses any more.
    const old = new Date(Date.now() - 2 * 86400 * 1000);
    for (const f of await readdir(cacheDir)) await utimes(join(cacheDir, f), old, old);
    const keeper = new LibvirtDriver({ ...options, removeUnusedBaseImages: false });
    await keeper.init(t());
    const kept = await keeper.ageImageCache(t());
    assert.deepEqual(kept.removed, [], 'remove_unused_base_images = false keeps everything');
    assert.ok((await stat(unusedBase)).isFile());
    for (const f of await readdir(cacheDir)) await utimes(join(cacheDir, f), old, old);
    const aged = await driver.ageImageCache(t());
    assert.deepEqual([...aged.removed].sort(), [`${otherImage.id}.raw`, 'ephemeral_1_ext4', 'swap_64'].sort());
    await assert.rejects(stat(unusedBase), { code: 'ENOENT' });
    assert.ok((await stat(usedBase)).mtimeMs > old.getTime() + 86400 * 1000, 'a base in use has its last use refreshed');
    assert.ok((await stat(join(cacheDir, 'swap_32'))).isFile());

    // The running instance still boots from its base after the pass.
    await driver.reboot(inUse, 'HARD', t());
    assert.equal(await virsh(lv.uri, 'domstate', `instance-${inUse.uuid}`), 'running');
    await driver.destroy(inUse, t());
  });
});
