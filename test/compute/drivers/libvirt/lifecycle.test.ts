import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InstanceRef, InstanceSpec } from '../../../../src/compute/drivers/driver.js';
import { LibvirtDriver } from '../../../../src/compute/drivers/libvirt/index.js';
import { PowerState } from '../../../../src/compute/states.js';
import { domstate, startTestLibvirtd, virsh, type TestLibvirtd } from '../../../support/libvirtd.js';
import { buildTestGuest, GUEST_MARKER, testGuestImage, waitForBoots } from '../../../support/test-guest.js';
import { testOptions } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(180_000);

/**
 * A real guest (Debian's cloud kernel, busybox init) through a private libvirtd: it boots,
 * prints its marker on the serial console, and every lifecycle action changes what
 * `virsh domstate` reports; reboots are proven by a new boot id on the console.
 */
describe('libvirt driver: a real guest through its lifecycle', () => {
  let lv: TestLibvirtd;
  let driver: LibvirtDriver;
  let ref: InstanceRef;
  let domain: string;
  let consoleLog: string;
  let instancesPath: string;

  before(async () => {
    lv = await startTestLibvirtd();
    const options = testOptions(lv, { waitSoftRebootSeconds: 60 });
    instancesPath = options.instancesPath;
    driver = new LibvirtDriver(options);
    await driver.init(t());
  });
  after(async () => {
    await driver.close();
    await lv.stop();
  });

  it('spawns: overlay on the cached base grown to the flavor, the guest prints its marker on the serial console', async () => {
    const image = await testGuestImage(await buildTestGuest(), { hypervisor_type: 'qemu' });
    const spec: InstanceSpec = {
      uuid: randomUUID(), node: 'kvm-test-host', driverInfo: {}, name: 'guest <one>', hostname: 'guest-one', projectId: 'p1', userId: 'u1',
      flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 256, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
      metadata: {}, keyData: null, userData: null, networks: 'auto',
    };
    const progress: number[] = [];
    const { driverInfo } = await driver.spawn(spec, image, t(), { onProgress: (p) => progress.push(p) });
    ref = { uuid: spec.uuid, node: spec.node, driverInfo };
    domain = String(driverInfo['domain']);
    consoleLog = join(instancesPath, spec.uuid, 'console.log');
    assert.equal(await domstate(lv.uri, domain), 'running');
    const ids = await waitForBoots(consoleLog, 1);
    assert.equal(ids.length, 1);
    assert.ok((await readFile(consoleLog, 'latin1')).includes(GUEST_MARKER));
    assert.equal(progress.at(-1), 100);

    // One base file per image, the instance disk a qcow2 overlay of it with the flavor's 1 GiB.
    const base = join(instancesPath, '_base', `${image.id}.raw`);
    assert.ok((await stat(base)).isFile());
    const info = JSON.parse(await execQemuImgInfo(join(instancesPath, spec.uuid, 'disk'))) as Record<string, unknown>;
    assert.equal(info['format'], 'qcow2');
    assert.equal(info['virtual-size'], 1024 ** 3);
    assert.equal(info['full-backing-filename'], base);

    // The domain: vCPUs, memory, virtio disk, a NIC, VNC and the console file, named after the uuid.
    const xml = await virsh(lv.uri, 'dumpxml', domain);
    assert.match(xml, /<vcpu placement='static'>1<\/vcpu>/);
    assert.match(xml, /<memory unit='KiB'>262144<\/memory>/);
    assert.match(xml, /<target dev='vda' bus='virtio'\/>/);
    assert.match(xml, /<interface type='user'>/);
    assert.match(xml, /<title>guest &lt;one&gt;<\/title>/);
  });

  it('getVncConsole answers the port libvirt picked, and a VNC server speaks there', async () => {
    const vnc = await driver.getVncConsole(ref, t());
    assert.equal(vnc.host, '127.0.0.1');
    assert.ok(vnc.port >= 5900, String(vnc.port));
    const banner = await new Promise<string>((res, rej) => {
      const s = createConnection({ host: vnc.host, port: vnc.port }, () => undefined);
      s.once('data', (d: Buffer) => {
        res(d.toString('latin1'));
        s.destroy();
      });
      s.once('error', rej);
    });
    assert.match(banner, /^RFB 003\.00\d/);
  });

  it('pause and unpause', async () => {
    await driver.pause(ref, t());
    assert.equal(await domstate(lv.uri, domain), 'paused');
    assert.equal((await driver.getInstanceState(ref, t())).powerState, PowerState.PAUSED);
    await driver.unpause(ref, t());
    assert.equal(await domstate(lv.uri, domain), 'running');
  });

  it('suspend is a managed save; resume restores the same boot', async () => {
    await driver.suspend(ref, t());
    assert.equal(await domstate(lv.uri, domain), 'shut off');
    assert.match(await virsh(lv.uri, 'dominfo', domain), /Managed save:\s+yes/);
    assert.equal((await driver.listInstanceStates(t())).get(ref.uuid)?.powerState, PowerState.SUSPENDED);
    await driver.resume(ref, t());
    assert.equal(await domstate(lv.uri, domain), 'running');
    assert.equal((await waitForBoots(consoleLog, 1)).length, 1, 'a resumed guest does not boot again');
  });

  it('power off asks the guest by ACPI first (it powers itself off), power on boots it again', async () => {
    await driver.powerOff(ref, { timeoutSeconds: 60 }, t());
    assert.equal(await domstate(lv.uri, domain), 'shut off');
    assert.match(await readFile(consoleLog, 'latin1'), /POLYVISOR-GUEST-POWEROFF/);
    await driver.powerOn(ref, t());
    assert.equal(await domstate(lv.uri, domain), 'running');
    await waitForBoots(consoleLog, 2);
  });

  it('soft reboot (ACPI, then start) and hard reboot each boot the guest again', async () => {
    await driver.reboot(ref, 'SOFT', t());
    assert.equal(await domstate(lv.uri, domain), 'running');
    await waitForBoots(consoleLog, 3);
    await driver.reboot(ref, 'HARD', t());
    assert.equal(await domstate(lv.uri, domain), 'running');
    const ids = await waitForBoots(consoleLog, 4);
    assert.equal(new Set(ids).size, 4, 'every boot has its own boot id');
  });

  it('destroy removes the domain and the instance files, and succeeds again', async () => {
    await driver.destroy(ref, t());
    await assert.rejects(domstate(lv.uri, domain), /failed to get domain|Domain not found/);
    await assert.rejects(stat(join(instancesPath, ref.uuid)), { code: 'ENOENT' });
    await driver.destroy(ref, t());
    assert.equal((await driver.getInstanceState(ref, t())).exists, false);
  });
});

function execQemuImgInfo(path: string): Promise<string> {
  return new Promise((res, rej) => {
    execFile('qemu-img', ['info', '--output=json', '-U', path], { encoding: 'utf8' }, (err, out) => (err === null ? res(out) : rej(new Error(`qemu-img info ${path}: ${err.message}`))));
  });
}
