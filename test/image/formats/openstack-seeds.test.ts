import assert from 'node:assert/strict';
import { exec } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, startPolyvisor, type PolyvisorProcess } from '../../support/polyvisor-process.js';
import { ImageFixtures } from './fixtures.js';

const execAsync = promisify(exec);
const MiB = 1024 * 1024;

/**
 * The seeds' `openstack image create` commands, verbatim, run by Debian's openstack CLI
 * in a shell against `polyvisor serve`, on files made as the seeds say (qemu-img).
 */
describe('the seeds\' image commands with the real openstack CLI', () => {
  const fx = new ImageFixtures();
  let pv: PolyvisorProcess;
  let env: NodeJS.ProcessEnv;

  const sh = async (command: string): Promise<{ stdout: string; stderr: string; code: number }> => {
    try {
      const { stdout, stderr } = await execAsync(command, { cwd: fx.dir, env, shell: '/bin/bash', timeout: 120_000 });
      return { stdout, stderr, code: 0 };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; code?: number };
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code ?? 1 };
    }
  };
  const show = async (name: string): Promise<Record<string, unknown> & { properties: Record<string, unknown> }> => {
    const r = await sh(`openstack image show -f json ${name}`);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown> & { properties: Record<string, unknown> };
  };

  before(async () => {
    pv = await startPolyvisor();
    env = {
      ...process.env,
      HOME: fx.dir,
      OS_AUTH_URL: `${pv.url}/identity/v3`,
      OS_USERNAME: 'admin',
      OS_PASSWORD: ADMIN_PASSWORD,
      OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_IDENTITY_API_VERSION: '3',
      OS_INTERFACE: 'public',
      OS_CLOUD: '',
    };
    mkdirSync(join(fx.dir, 'Downloads'));
    fx.raw('ubuntu.raw', 16 * MiB);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', 'ubuntu.raw', 'Downloads/trusty-server-cloudimg-amd64-disk1.img');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', 'ubuntu.raw', 'ubuntuLTS-sparse.vmdk');
    fx.qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat,adapter_type=lsilogic', 'ubuntu.raw', 'ubuntuLTS.vmdk');
  });
  after(async () => {
    await pv.stop();
    fx.close();
  });

  it('Monolithic Sparse with vmware_disktype=sparse: the adapter type it left out is filled in from the file (ide)', async () => {
    const r = await sh(`openstack image create \\
--disk-format vmdk \\
--container-format bare \\
--property vmware_disktype="sparse" \\
--property vmware_ostype="ubuntu64Guest" \\
ubuntu-sparse < ubuntuLTS-sparse.vmdk`);
    assert.equal(r.code, 0, r.stderr);
    const img = await show('ubuntu-sparse');
    assert.equal(img['status'], 'active');
    assert.equal(img['virtual_size'], 16 * MiB);
    assert.equal(img.properties['vmware_disktype'], 'sparse');
    assert.equal(img.properties['vmware_adaptertype'], 'ide');
    assert.equal(img.properties['vmware_ostype'], 'ubuntu64Guest');
  });

  it('qemu-img convert of the trusty cloud image, uploaded as sparse/ide', async () => {
    const c = await sh(`qemu-img convert -f qcow2 ~/Downloads/trusty-server-cloudimg-amd64-disk1.img \\
-O vmdk trusty-server-cloudimg-amd64-disk1.vmdk`);
    assert.equal(c.code, 0, c.stderr);
    const r = await sh(`openstack image create \\
--container-format bare --disk-format vmdk \\
--property vmware_disktype="sparse" \\
--property vmware_adaptertype="ide" \\
trusty-cloud < trusty-server-cloudimg-amd64-disk1.vmdk`);
    assert.equal(r.code, 0, r.stderr);
    const img = await show('trusty-cloud');
    assert.equal(img['status'], 'active');
    assert.deepEqual([img.properties['vmware_disktype'], img.properties['vmware_adaptertype']], ['sparse', 'ide']);
  });

  it('the -flat.vmdk extent as preallocated lsiLogic, with and without hypervisor_type=vmware', async () => {
    for (const [name, extra] of [['ubuntu-thick-scsi', ''], ['ubuntu-thick-scsi-vmware', '--property hypervisor_type="vmware" \\\n']] as const) {
      const r = await sh(`openstack image create \\
--disk-format vmdk \\
--container-format bare \\
--property vmware_adaptertype="lsiLogic" \\
--property vmware_disktype="preallocated" \\
${extra}--property vmware_ostype="ubuntu64Guest" \\
${name} < ubuntuLTS-flat.vmdk`);
      assert.equal(r.code, 0, r.stderr);
      const img = await show(name);
      assert.equal(img['status'], 'active');
      assert.equal(img['virtual_size'], 16 * MiB);
      assert.deepEqual([img.properties['vmware_disktype'], img.properties['vmware_adaptertype']], ['preallocated', 'lsiLogic']);
    }
  });

  it('refuses lsiLogic claimed on the ide disk qemu-img made, and stores nothing of it', async () => {
    const r = await sh('openstack image create --disk-format vmdk --container-format bare --property vmware_adaptertype=lsiLogic wrong-bus < ubuntuLTS-sparse.vmdk');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /vmware_adaptertype is "lsiLogic": an IDE disk will not boot on a SCSI controller. Set vmware_adaptertype=ide/);
    // The CLI deletes the image it created when the upload fails; the store keeps only the four good uploads.
    const list = await sh('openstack image list -f json');
    assert.ok(!list.stdout.includes('wrong-bus'), list.stdout);
    assert.equal(readdirSync(join(pv.stateDir, 'images')).length, 4);
  });
});
