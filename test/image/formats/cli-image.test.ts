import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, startPolyvisor, type PolyvisorProcess } from '../../support/polyvisor-process.js';
import { ImageFixtures } from './fixtures.js';

const execFileAsync = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const MiB = 1024 * 1024;

describe('polyvisor image upload and convert', () => {
  const fx = new ImageFixtures();
  let pv: PolyvisorProcess;
  let env: NodeJS.ProcessEnv;

  const polyvisor = async (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), ...args], { cwd: ROOT, env, timeout: 120_000 });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; code?: number };
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code ?? 1 };
    }
  };

  before(async () => {
    pv = await startPolyvisor();
    env = {
      ...process.env,
      OS_AUTH_URL: `${pv.url}/identity/v3`,
      OS_USERNAME: 'admin',
      OS_PASSWORD: ADMIN_PASSWORD,
      OS_PROJECT_NAME: 'admin',
    };
    fx.raw('disk.raw', 24 * MiB);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', 'disk.raw', 'disk.qcow2');
    fx.qemuImg('create', '-f', 'qcow2', '-b', 'disk.qcow2', '-F', 'qcow2', 'child.qcow2');
  });
  after(async () => {
    await pv.stop();
    fx.close();
  });

  it('converts qcow2 → streamOptimized VMDK → qcow2 with progress, keeping the disk identical', async () => {
    const toVmdk = await polyvisor('image', 'convert', fx.path('disk.qcow2'), fx.path('disk.vmdk'), '--to', 'vmdk', '--adapter-type', 'ide');
    assert.equal(toVmdk.code, 0, toVmdk.stderr);
    assert.match(toVmdk.stderr, /disk\.qcow2: a qcow2 \(version 3\) image, virtual size 24 MiB/);
    assert.match(toVmdk.stderr, /converting \|=+\| 100%/);
    assert.match(toVmdk.stdout, /disk\.vmdk: vmdk streamOptimized \(adapter ide\)/);
    assert.match(fx.qemuImg('info', '-f', 'vmdk', 'disk.vmdk'), /create type: streamOptimized/);
    const back = await polyvisor('image', 'convert', fx.path('disk.vmdk'), fx.path('back.qcow2'), '--to', 'qcow2');
    assert.equal(back.code, 0, back.stderr);
    assert.match(fx.qemuImg('compare', '-f', 'qcow2', '-F', 'raw', 'back.qcow2', 'disk.raw'), /Images are identical/);
  });

  it('refuses to convert an image with a backing file', async () => {
    const r = await polyvisor('image', 'convert', fx.path('child.qcow2'), fx.path('x.raw'), '--to', 'raw');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /backing file \("disk\.qcow2"\)/);
  });

  it('uploads with a progress bar, detecting the format and filling in VMware properties', async () => {
    const r = await polyvisor('image', 'upload', fx.path('disk.vmdk'), '--name', 'from-cli', '--property', 'vmware_ostype=ubuntu64Guest');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /uploading \|=+\| 100% 24\.\d\/24\.\d MiB|uploading \|=+\| 100%/);
    assert.match(r.stderr, /MiB\/s \| ETA/);
    assert.match(r.stdout, /image [0-9a-f-]{36} "from-cli" is active/);
    assert.match(r.stdout, /disk_format vmdk, virtual_size 25165824/);
    assert.match(r.stdout, /vmware_disktype streamOptimized/);
    assert.match(r.stdout, /vmware_adaptertype ide/);
    assert.ok(!(r.stdout + r.stderr).includes(ADMIN_PASSWORD), 'the password is never printed');
  });

  it('produces a stored image\'s variant ahead of a boot (the conversion task), once', async () => {
    const up = await polyvisor('image', 'upload', fx.path('disk.qcow2'), '--name', 'to-convert');
    assert.equal(up.code, 0, up.stderr);
    const id = /image ([0-9a-f-]{36})/.exec(up.stdout)?.[1] ?? '';
    const conf = ['--config-file', join(pv.stateDir, 'polyvisor.conf')];
    const first = await polyvisor(...conf, 'image', 'variant', id, '--to', 'vmdk');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`image ${id} \\(qcow2\\) as vmdk: [\\d.]+ MiB, ready in`));
    const variants = readdirSync(join(pv.stateDir, 'images', 'variants'));
    assert.equal(variants.length, 1);
    assert.match(variants[0] ?? '', /\.vmdk-streamOptimized-lsiLogic$/);
    const again = await polyvisor(...conf, 'image', 'variant', id, '--to', 'vmdk');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readdirSync(join(pv.stateDir, 'images', 'variants')), variants);
  });

  it('reports a refused upload with the service\'s message and removes the queued image', async () => {
    const r = await polyvisor('image', 'upload', fx.path('disk.qcow2'), '--name', 'lying', '--disk-format', 'vmdk');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /upload refused: 400 The file is a qcow2 \(version 3\) image, virtual size 24 MiB, not vmdk: set disk_format=qcow2/);
    const list = await pv.openstack(['image', 'list', '-f', 'value', '-c', 'Name']);
    assert.ok(!list.includes('lying'));
  });
});
