import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PowerState } from '../../src/compute/states.js';
import { libvirtComputeConf, startTestLibvirtd, virsh, type TestLibvirtd } from '../support/libvirtd.js';
import { startCompute, type ComputeProcess } from '../support/polyvisor-compute.js';
import { eventually, startPolyvisor, type PolyvisorProcess } from '../support/polyvisor-process.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { buildTestGuest, waitForBoots } from '../support/test-guest.js';
import { startTestVcsim, type TestVcsim } from '../vsphere/vcsim-harness.js';
import { spawnLogs, vmwareConf } from './vmware-support.js';

/**
 * Issue 6's "one cloud, two hypervisors" through the whole product: `polyvisor serve` with the
 * VMware driver on vcsim (host e2e-host) and a second process, `polyvisor compute` with the
 * libvirt driver on a private libvirtd under TCG (host kvm-host), sharing one PostgreSQL
 * database (LISTEN/NOTIFY wakes the other process). Driven by the real openstack CLI.
 *
 * Every VMware boot is cheap (vcsim); every libvirt boot is a real TCG guest, so CI runs
 * POLYVISOR_MIXED_LIBVIRT_BOOTS of them (default 4); set it to 20 for the full acceptance.
 */
const VMWARE_BOOTS = 20;
const LIBVIRT_BOOTS = Number(process.env['POLYVISOR_MIXED_LIBVIRT_BOOTS'] ?? '4');
const KVM_HOST = 'kvm-host';
const VMWARE_HOST = 'e2e-host';

interface ListedServer {
  ID: string;
  Name: string;
  Status: string;
  Host: string;
  'Availability Zone': string;
  'Task State'?: string | null;
  'Power State': number;
}

describe('one cloud, two hypervisors: VMware (vcsim) and libvirt (TCG) side by side', () => {
  let pg: TestPostgres;
  let sim: TestVcsim;
  let lv: TestLibvirtd;
  let pv: PolyvisorProcess;
  let kvm: ComputeProcess;
  let guestFile: string;

  const consoleLog = (uuid: string): string => join(lv.dir, 'instances', uuid, 'console.log');
  const servers = (prefix: string): Promise<ListedServer[]> => pv.openstackJson<ListedServer[]>(['server', 'list', '--long', '--name', `^${prefix}`]);
  /** Creates `count` servers named `prefix-N` at once and waits until none is building. */
  const bootMany = async (prefix: string, image: string, count: number, extra: readonly string[] = []): Promise<ListedServer[]> => {
    await pv.openstack(['server', 'create', '--image', image, '--flavor', 'tcg.tiny', '--min', String(count), '--max', String(count), ...extra, prefix]);
    return eventually(async () => {
      const listed = await servers(prefix);
      return listed.length === count && listed.every((s) => s.Status === 'ACTIVE' || s.Status === 'ERROR') ? listed : undefined;
    }, `${count} servers ${prefix} to leave BUILD`, 240_000, 250);
  };
  /** The fault message of each server that is not ACTIVE (empty when all are): the failure says why. */
  const failures = async (listed: readonly ListedServer[]): Promise<string[]> =>
    Promise.all(
      listed
        .filter((s) => s.Status !== 'ACTIVE')
        .map(async (s) => `${s.Name} ${s.Status}: ${JSON.stringify((await pv.openstackJson<{ fault?: unknown }>(['server', 'show', s.ID])).fault)}`),
    );
  /**
   * Deletes servers and waits until the API no longer lists them. Not `server delete --wait`:
   * the CLI's wait gives up (exit 0, and skips the servers after it) on a server whose status is
   * ERROR, which an ERROR server keeps while its delete runs, as in Nova.
   */
  const deleteAll = async (listed: readonly ListedServer[]): Promise<void> => {
    if (listed.length === 0) return;
    await pv.openstack(['server', 'delete', ...listed.map((s) => s.ID)]);
    const ids = new Set(listed.map((s) => s.ID));
    await eventually(async () => {
      const left = (await pv.openstackJson<ListedServer[]>(['server', 'list', '--long'])).filter((s) => ids.has(s.ID));
      return left.length === 0 ? true : undefined;
    }, `${ids.size} servers to be deleted`, 180_000, 500);
  };
  /** The failed events of a server's `action` (what `openstack server event show` gives an admin): the reasons, one a line. */
  const failedEvents = async (id: string, action: string): Promise<string> => {
    const actions = await pv.openstackJson<{ 'Request ID': string; Action: string }[]>(['server', 'event', 'list', id]);
    const reasons = await Promise.all(
      actions
        .filter((x) => x.Action === action)
        .map(async (x) => {
          const shown = await pv.openstackJson<{ events?: { result?: string | null; traceback?: string | null }[] }>(['server', 'event', 'show', id, x['Request ID']]);
          return (shown.events ?? []).filter((e) => e.result === 'Error').map((e) => e.traceback ?? '');
        }),
    );
    return reasons.flat().join('\n');
  };
  const ourDomains = async (): Promise<string[]> => (await virsh(lv.uri, 'list', '--all', '--name')).split('\n').filter((n) => n.startsWith('instance-')).sort();

  before(async () => {
    [pg, sim, lv, guestFile] = await Promise.all([startPostgres(), startTestVcsim({ clusters: 2, hostsPerCluster: 2 }), startTestLibvirtd(), buildTestGuest()]);
    const databaseUrl = await pg.createDatabase();
    pv = await startPolyvisor({ databaseUrl, conf: vmwareConf(sim) });
    kvm = await startCompute({
      host: KVM_HOST,
      databaseUrl,
      conf: libvirtComputeConf(lv, {
        defaults: [
          // Many 1-vCPU test guests on a 2-core CI machine (Nova's default ratio 4 allows 8).
          'cpu_allocation_ratio = 16',
          // After libvirtd comes back, the agent's next power sync sets the API straight.
          'sync_power_state_interval = 2',
        ],
        // The API process's image store: the agent reads image files (and their variants) from it.
        imageStore: join(pv.stateDir, 'images'),
      }),
    });
    await pv.openstack(['flavor', 'create', '--ram', '128', '--disk', '1', '--vcpus', '1', 'tcg.tiny']);
    for (const [name, props] of [['guest-vmware', ['--property', 'hypervisor_type=vmware']], ['guest-qemu', ['--property', 'hypervisor_type=qemu']], ['guest-any', []]] as const) {
      await pv.openstack(['image', 'create', '--disk-format', 'raw', '--container-format', 'bare', ...props, '--file', guestFile, name]);
    }
  });
  after(async () => {
    await kvm?.stop();
    await pv?.stop();
    await Promise.all([lv?.stop(), sim?.stop()]);
    await pg?.stop();
  });

  it('openstack hypervisor list shows both types: the 2 vCenter clusters and the libvirt host', async () => {
    const hv = await eventually(async () => {
      const listed = await pv.openstackJson<{ 'Hypervisor Hostname': string; 'Hypervisor Type': string; State: string }[]>(['hypervisor', 'list', '--long']);
      return listed.length === 3 ? listed : undefined;
    }, 'three hypervisors');
    const byType = hv.map((h) => `${h['Hypervisor Type']} ${h.State}`).sort();
    assert.deepEqual(byType, ['QEMU up', 'VMware vCenter Server up', 'VMware vCenter Server up']);
    assert.ok(hv.some((h) => h['Hypervisor Hostname'] === KVM_HOST), JSON.stringify(hv));
    const services = await pv.openstackJson<{ Binary: string; Host: string; State: string }[]>(['compute', 'service', 'list', '--service', 'nova-compute']);
    assert.deepEqual(services.map((s) => `${s.Host} ${s.State}`).sort(), [`${VMWARE_HOST} up`, `${KVM_HOST} up`].sort());
  });

  it('one availability zone per hypervisor, made by host aggregates', async () => {
    await pv.openstack(['aggregate', 'create', '--zone', 'vmware-zone', '--property', 'hypervisor_type=vmware', 'vmware-agg']);
    await pv.openstack(['aggregate', 'add', 'host', 'vmware-agg', VMWARE_HOST]);
    await pv.openstack(['aggregate', 'create', '--zone', 'kvm-zone', '--property', 'hypervisor_type=qemu', 'kvm-agg']);
    await pv.openstack(['aggregate', 'add', 'host', 'kvm-agg', KVM_HOST]);
    const zones = await pv.openstackJson<{ 'Zone Name': string; 'Zone Status': string; 'Host Name': string }[]>(['availability', 'zone', 'list', '--compute', '--long']);
    const hostsByZone = new Map<string, Set<string>>();
    for (const z of zones) if (z['Zone Name'] !== 'internal') (hostsByZone.get(z['Zone Name']) ?? hostsByZone.set(z['Zone Name'], new Set()).get(z['Zone Name']))?.add(z['Host Name']);
    assert.deepEqual(Object.fromEntries([...hostsByZone].map(([k, v]) => [k, [...v]])), { 'kvm-zone': [KVM_HOST], 'vmware-zone': [VMWARE_HOST] });
  });

  it(`${VMWARE_BOOTS} boots of an image tagged hypervisor_type=vmware all land on VMware`, async () => {
    const listed = await bootMany('vmw', 'guest-vmware', VMWARE_BOOTS);
    assert.deepEqual(await failures(listed), []);
    assert.deepEqual([...new Set(listed.map((s) => `${s.Host} ${s['Availability Zone']}`))], [`${VMWARE_HOST} vmware-zone`]);
    assert.deepEqual(await ourDomains(), [], 'libvirt defined no domain for them');
    await deleteAll(listed);
  });

  it(`${LIBVIRT_BOOTS} boots of an image tagged hypervisor_type=qemu all land on libvirt and print the guest's marker`, async () => {
    const listed = await bootMany('kvm', 'guest-qemu', LIBVIRT_BOOTS);
    assert.deepEqual(await failures(listed), []);
    assert.deepEqual([...new Set(listed.map((s) => `${s.Host} ${s['Availability Zone']}`))], [`${KVM_HOST} kvm-zone`]);
    assert.deepEqual(await ourDomains(), listed.map((s) => `instance-${s.ID}`).sort());
    // Real guests: each prints its boot marker on its serial console (TCG shares 2 cores).
    await Promise.all(listed.map((s) => waitForBoots(consoleLog(s.ID), 1, 60_000 + 15_000 * LIBVIRT_BOOTS)));
    await deleteAll(listed);
    assert.deepEqual(await ourDomains(), []);
  });

  it('a tagged image asked into the other hypervisor\'s zone finds no host (ERROR), and nothing is created there', async () => {
    const [server] = await bootMany('wrong-zone', 'guest-qemu', 1, ['--availability-zone', 'vmware-zone']);
    assert.equal(server?.Status, 'ERROR');
    const shown = await pv.openstackJson<{ fault?: { message?: string } }>(['server', 'show', server?.ID ?? '']);
    assert.match(JSON.stringify(shown.fault), /No valid host/);
    await deleteAll(server ? [server] : []);
  });

  it('an untagged image lands where the weighers send it and boots there; in each zone it boots in that hypervisor\'s format', async () => {
    const [anywhere] = await bootMany('any', 'guest-any', 1);
    assert.equal(anywhere?.Status, 'ACTIVE');
    assert.ok(anywhere.Host === KVM_HOST || anywhere.Host === VMWARE_HOST, anywhere.Host);
    const [onKvm] = await bootMany('any-kvm', 'guest-any', 1, ['--availability-zone', 'kvm-zone']);
    const [onVmware] = await bootMany('any-vmw', 'guest-any', 1, ['--availability-zone', 'vmware-zone']);
    assert.equal(onKvm?.Status, 'ACTIVE');
    assert.equal(onKvm.Host, KVM_HOST);
    assert.equal(onVmware?.Status, 'ACTIVE');
    assert.equal(onVmware.Host, VMWARE_HOST);
    // The libvirt guest really boots from the raw image's bits.
    await waitForBoots(consoleLog(onKvm.ID), 1);
    // VMware boots only vmdk disks: ACTIVE there means the agent got the image's vmdk variant.
    const spawned = spawnLogs(pv).find((l) => l.instance === onVmware.ID);
    assert.ok(spawned, 'the VMware driver logged the spawn');
    await deleteAll([anywhere, onKvm, onVmware]);
    assert.deepEqual(await ourDomains(), []);
  });

  it('kill -9 libvirtd during 10 operations through the API, restart it: every server ends consistent and virsh list --all agrees with the API', async () => {
    const before = await bootMany('crash', 'guest-qemu', 5);
    assert.deepEqual(await failures(before), []);
    const [a, b, c, d, e] = before.map((s) => s.ID).sort();
    const ops: (readonly string[])[] = [
      ['server', 'stop', a ?? ''],
      ['server', 'pause', b ?? ''],
      ['server', 'reboot', '--hard', c ?? ''],
      ['server', 'suspend', d ?? ''],
      ['server', 'delete', e ?? ''],
      ...[1, 2, 3, 4, 5].map((n) => ['server', 'create', '--image', 'guest-qemu', '--flavor', 'tcg.tiny', `crash-new-${n}`]),
    ];
    // Each call returns once the API accepted it; the agent is then at work when the daemon dies
    // (how far it got depends on the machine's load: every phase must end consistent).
    await Promise.all(ops.map((op) => pv.openstack(op)));
    await lv.kill9();
    await assert.rejects(virsh(lv.uri, 'version'), 'libvirtd is down');
    await lv.restart();

    const virshPower: Record<string, number> = { running: PowerState.RUNNING, paused: PowerState.PAUSED, 'shut off': PowerState.SHUTDOWN, saved: PowerState.SUSPENDED };
    const settled = await eventually(async () => {
      const listed = await servers('crash');
      // Settled: no server building or with a task in flight (the delete retried until libvirtd answered: gone).
      if (listed.length !== 9 || listed.some((s) => s.Status === 'BUILD' || (s['Task State'] ?? null) !== null)) return undefined;
      const domains = new Map(
        (await virsh(lv.uri, 'list', '--all', '--managed-save')).split('\n').map((l) => /^\s*\S+\s+instance-(\S+)\s+(.+?)\s*$/.exec(l)).filter((m) => m !== null).map((m) => [m[1] ?? '', m[2] ?? '']),
      );
      // Every server, ERROR ones included (power sync records their power state too): the API's
      // power state is what virsh says (no domain: NOSTATE 0), and no domain belongs to no server.
      const api = Object.fromEntries(listed.map((s) => [s.ID, `${s.Status} ${s['Power State']}`]));
      const seen = Object.fromEntries(listed.map((s) => {
        const state = domains.get(s.ID);
        return [s.ID, `${s.Status} ${state === undefined ? PowerState.NOSTATE : (virshPower[state] ?? state)}`];
      }));
      assert.deepEqual(seen, api, 'virsh list --all and the API agree on every server and its power state');
      const strangers = [...domains.keys()].filter((id) => !listed.some((s) => s.ID === id));
      if (strangers.length > 0) {
        // Not one of these servers: it must belong to another live server (an earlier test's).
        const all = new Set((await pv.openstackJson<ListedServer[]>(['server', 'list', '--long'])).map((s) => s.ID));
        assert.deepEqual(strangers.filter((id) => !all.has(id)), [], 'no domain outlives its server');
      }
      return listed;
    }, 'servers to settle after the libvirtd crash', 120_000, 500);
    // Where each may end. An operation the crash interrupted leaves the server as it was (ACTIVE)
    // and its action's event failed, saying why (the server's fault too, which the API shows only
    // for ERROR, as Nova's does); a build it interrupted ends in ERROR with a fault (or,
    // rescheduled, finds no other host); and a guest that libvirt found shut off after its
    // restart (a hard reboot cut between its destroy and its start, a managed save cut halfway)
    // is stopped by power sync (SHUTOFF, as virsh says).
    const target: Record<string, [status: string, action: string]> = {
      [a ?? '']: ['SHUTOFF', 'stop'],
      [b ?? '']: ['PAUSED', 'pause'],
      [c ?? '']: ['ACTIVE', 'reboot'],
      [d ?? '']: ['SUSPENDED', 'suspend'],
    };
    for (const s of settled) {
      const [want, action] = target[s.ID] ?? ['ACTIVE', 'create'];
      assert.ok([want, 'ACTIVE', 'SHUTOFF', 'ERROR'].includes(s.Status), `${s.Name}: ${s.Status}, expected ${want}, or ACTIVE, SHUTOFF or ERROR after the crash`);
      if (s.Status === want || s.Status === 'SHUTOFF') continue;
      if (s.Status === 'ERROR') {
        const shown = await pv.openstackJson<{ fault?: { message?: string } }>(['server', 'show', s.ID]);
        assert.match(shown.fault?.message ?? '', /libvirt|No valid host/, `${s.Name} is ${s.Status}, not ${want}: its fault says why`);
      } else {
        assert.match(await failedEvents(s.ID, action), /libvirt/, `${s.Name} is ${s.Status}, not ${want}: its ${action} action failed, saying why`);
      }
    }
    // Every server deletes, ERROR ones included: their domains and files go with them.
    await deleteAll(settled);
    assert.deepEqual(await ourDomains(), []);
    const left = (await readdir(join(lv.dir, 'instances')).catch(() => [] as string[])).filter((f) => f !== '_base');
    assert.deepEqual(left, [], 'no instance folder is left');
  });
});
