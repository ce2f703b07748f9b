import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestLibvirtd, testVirtType, virsh, type TestLibvirtd } from '../support/libvirtd.js';
import { startCompute, type ComputeProcess } from '../support/polyvisor-compute.js';
import { eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { buildTestGuest, waitForBoots } from '../support/test-guest.js';

/**
 * Resize and cold migration of a real KVM/QEMU guest through the whole product, with Debian's
 * `openstack` CLI: `polyvisor serve` (API, scheduler; allow_resize_to_same_host = True) and
 * two `polyvisor compute` processes with the libvirt driver on one private libvirtd under
 * TCG, each with its own instances_path (kvm-1, kvm-2), sharing one PostgreSQL database.
 */
const HOSTS = ['kvm-1', 'kvm-2'] as const;

interface Server {
  id: string;
  status: string;
  flavor: string;
  'OS-EXT-SRV-ATTR:host': string;
}

describe('openstack server resize / migrate of a libvirt guest (two libvirt hosts)', () => {
  let pg: TestPostgres;
  let lv: TestLibvirtd;
  let pv: PolyvisorProcess;
  const computes = new Map<string, ComputeProcess>();
  let startKvm: (host: string) => Promise<ComputeProcess>;

  const instancesPath = (host: string): string => join(lv.dir, `instances-${host}`);
  const consoleLog = (host: string, id: string): string => join(instancesPath(host), id, 'console.log');
  const dominfo = async (id: string): Promise<{ cpus: number; memoryKib: number; state: string }> => {
    const out = await virsh(lv.uri, 'dominfo', `instance-${id}`);
    const field = (n: string): string => new RegExp(`^${n}:\\s*(.*?)\\s*$`, 'm').exec(out)?.[1] ?? '';
    return { cpus: Number(field('CPU\\(s\\)')), memoryKib: Number.parseInt(field('Max memory'), 10), state: field('State') };
  };
  const show = (id: string): Promise<Server> => pv.openstackJson<Server>(['server', 'show', id]);
  /** Waits for `status`; a server in ERROR ends the wait at once, its fault in the failure. */
  const until = async (id: string, status: string): Promise<Server> => {
    const s = await eventually(async () => {
      const shown = await show(id);
      return shown.status === status || shown.status === 'ERROR' ? shown : undefined;
    }, `server ${id} to be ${status}`, 240_000, 500);
    assert.equal(s.status, status, JSON.stringify(s));
    return s;
  };

  before(async () => {
    let guestFile: string;
    [pg, lv, guestFile] = await Promise.all([startPostgres(), startTestLibvirtd(), buildTestGuest()]);
    const databaseUrl = await pg.createDatabase();
    pv = await startPolyvisor({ databaseUrl, conf: '[DEFAULT]\nallow_resize_to_same_host = True\n' });
    startKvm = (host) =>
      startCompute({
        host,
        databaseUrl,
        conf: [
          '[DEFAULT]', 'compute_driver = libvirt.LibvirtDriver', `instances_path = ${instancesPath(host)}`, 'reserved_host_memory_mb = 0', 'cpu_allocation_ratio = 16',
          '[libvirt]', `virt_type = ${testVirtType()}`, `connection_uri = ${lv.uri}`,
          '[glance_store]', `filesystem_store_datadir = ${join(pv.stateDir, 'images')}`,
        ].join('\n'),
      });
    for (const host of HOSTS) computes.set(host, await startKvm(host));
    await pv.openstack(['flavor', 'create', '--ram', '128', '--disk', '1', '--vcpus', '1', 'tcg.small']);
    await pv.openstack(['flavor', 'create', '--ram', '192', '--disk', '2', '--vcpus', '2', 'tcg.big']);
    await pv.openstack(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--property', 'hypervisor_type=qemu', '--file', guestFile, 'guest']);
    // The API process's own fake compute host is disabled: move targets are not filtered by
    // hypervisor type (only live migration's are), so a resize could otherwise pick it.
    await pv.openstack(['compute', 'service', 'set', '--disable', 'e2e-host', 'nova-compute']);
    // Both libvirt hosts report themselves able to migrate before the first move is asked.
    await eventually(async () => {
      const hv = await pv.openstackJson<{ 'Hypervisor Hostname': string; 'Hypervisor Type': string }[]>(['hypervisor', 'list']);
      return hv.filter((h) => h['Hypervisor Type'] === 'QEMU').length === 2 ? true : undefined;
    }, 'two QEMU hypervisors');
  });
  after(async () => {
    if (process.env['POLYVISOR_E2E_LOGS'] === '1') for (const c of computes.values()) process.stderr.write(c.logs());
    for (const c of computes.values()) await c.stop();
    await pv?.stop();
    await lv?.stop();
    await pg?.stop();
  });

  it('resize to a bigger flavor, revert, then cold-migrate and confirm: virsh, qemu-img and the guest agree with the API', async () => {
    const created = await pv.openstackJson<Server>(['server', 'create', '--flavor', 'tcg.small', '--image', 'guest', '--wait', 'mover']);
    const id = created.id;
    const first = created['OS-EXT-SRV-ATTR:host'];
    assert.ok((HOSTS as readonly string[]).includes(first), first);
    await waitForBoots(consoleLog(first, id), 1);

    // The other host disabled: the resize stays on this one ([DEFAULT] allow_resize_to_same_host, as with one KVM host).
    const second = HOSTS.find((h) => h !== first) ?? '';
    await pv.openstack(['compute', 'service', 'set', '--disable', second, 'nova-compute']);
    await pv.openstack(['server', 'resize', '--flavor', 'tcg.big', '--wait', id]);
    const resized = await until(id, 'VERIFY_RESIZE');
    await pv.openstack(['compute', 'service', 'set', '--enable', second, 'nova-compute']);
    assert.match(resized.flavor, /tcg\.big/);
    assert.equal(resized['OS-EXT-SRV-ATTR:host'], first);
    assert.deepEqual(await dominfo(id), { cpus: 2, memoryKib: 192 * 1024, state: 'running' });
    assert.equal(await virtualSize(join(instancesPath(first), id, 'disk')), 2 * 1024 ** 3);
    await waitForBoots(consoleLog(first, id), 1, 180_000);
    assert.ok(existsSync(join(instancesPath(first), `${id}_resize`, 'disk')), 'the source keeps its copy until confirm');

    await pv.openstack(['server', 'resize', 'revert', id]);
    const reverted = await until(id, 'ACTIVE');
    assert.equal(reverted['OS-EXT-SRV-ATTR:host'], first);
    assert.match(reverted.flavor, /tcg\.small/);
    assert.deepEqual(await dominfo(id), { cpus: 1, memoryKib: 128 * 1024, state: 'running' });
    assert.equal(existsSync(join(instancesPath(first), `${id}_resize`)), false);
    assert.equal(await virtualSize(join(instancesPath(first), id, 'disk')), 1024 ** 3);
    await waitForBoots(consoleLog(first, id), 2, 180_000);

    await pv.openstack(['server', 'migrate', '--wait', id]);
    const migrated = await until(id, 'VERIFY_RESIZE');
    const other = migrated['OS-EXT-SRV-ATTR:host'];
    assert.equal(other, second, 'a cold migration goes to another host');
    await waitForBoots(consoleLog(other, id), 1, 180_000);
    assert.match(await virsh(lv.uri, 'domblklist', `instance-${id}`), new RegExp(`vda\\s+${join(instancesPath(other), id, 'disk')}`));
    await pv.openstack(['server', 'resize', 'confirm', id]);
    const confirmed = await until(id, 'ACTIVE');
    assert.equal(confirmed['OS-EXT-SRV-ATTR:host'], other);
    await eventually(async () => (existsSync(join(instancesPath(first), `${id}_resize`)) ? undefined : true), 'the kept copy to go on confirm');
    assert.equal(existsSync(join(instancesPath(first), id)), false);
    assert.equal((await dominfo(id)).state, 'running');

    const migrations = await pv.openstackJson<{ Status: string; Type?: string; 'Migration Type'?: string }[]>(['server', 'migration', 'list']);
    assert.deepEqual(migrations.map((m) => m.Status).sort(), ['confirmed', 'reverted']);

    await pv.openstack(['server', 'delete', '--wait', id]);
    await assert.rejects(virsh(lv.uri, 'dominfo', `instance-${id}`), /failed to get domain|Domain not found/);
  });

  it('a cold migration whose destination agent is killed (-9) waits with the disk kept on the source, and finishes when that agent starts again', async () => {
    const created = await pv.openstackJson<Server>(['server', 'create', '--flavor', 'tcg.small', '--image', 'guest', '--wait', 'crashy']);
    const id = created.id;
    const source = created['OS-EXT-SRV-ATTR:host'];
    const dest = HOSTS.find((h) => h !== source) ?? '';
    await waitForBoots(consoleLog(source, id), 1);
    // The API claims the destination when it accepts the move; its agent dies right after.
    await pv.openstack(['server', 'migrate', id]);
    const killed = computes.get(dest);
    assert.ok(killed);
    const exited = new Promise<void>((r) => (killed.child.exitCode !== null || killed.child.signalCode !== null ? r() : killed.child.once('exit', () => r())));
    killed.child.kill('SIGKILL');
    await exited;
    // The source still does its step: the guest off, its folder kept; the server waits in RESIZE for the destination.
    const waiting = await eventually(async () => {
      const shown = await pv.openstackJson<Server & { 'OS-EXT-STS:task_state': string | null }>(['server', 'show', id]);
      return shown['OS-EXT-STS:task_state'] === 'resize_migrated' ? shown : undefined;
    }, 'the source step to hand the server over', 120_000, 500);
    assert.equal(waiting.status, 'RESIZE');
    assert.equal(waiting['OS-EXT-SRV-ATTR:host'], dest);
    assert.ok(existsSync(join(instancesPath(source), `${id}_resize`, 'disk')));
    assert.equal((await dominfo(id)).state, 'shut off');
    await killed.stop();
    computes.set(dest, await startKvm(dest));
    // Its start-up recovery resumes the move's task.
    await until(id, 'VERIFY_RESIZE');
    await waitForBoots(consoleLog(dest, id), 1, 180_000);
    assert.equal((await dominfo(id)).state, 'running');
    await pv.openstack(['server', 'resize', 'confirm', id]);
    await until(id, 'ACTIVE');
    await eventually(async () => (existsSync(join(instancesPath(source), `${id}_resize`)) ? undefined : true), 'the kept copy to go on confirm');
    await pv.openstack(['server', 'delete', '--wait', id]);
  });
});

function virtualSize(path: string): Promise<number> {
  return new Promise((res, rej) => {
    execFile('qemu-img', ['info', '--output=json', '-U', path], { encoding: 'utf8' }, (err, out) =>
      err === null ? res((JSON.parse(out) as { 'virtual-size': number })['virtual-size']) : rej(new Error(`qemu-img info ${path}: ${err.message}`)));
  });
}
