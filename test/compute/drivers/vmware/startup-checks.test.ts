import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VmwareDriver, VmwareStartupError } from '../../../../src/compute/drivers/vmware/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';
import { startRewritingProxy } from './rewriting-proxy.js';
import { simOptions } from './support.js';

async function initError(driver: VmwareDriver): Promise<Error> {
  try {
    await driver.init(AbortSignal.timeout(30_000));
  } catch (err) {
    return err as Error;
  } finally {
    await driver.close();
  }
  assert.fail('init() succeeded');
}

describe('VMware driver start-up checks', () => {
  let sim: TestVcsim;
  before(async () => {
    sim = await startTestVcsim({ clusters: 2, hostsPerCluster: 2 });
  });
  after(() => sim.stop());

  it('starts with the seeds\' settings (two clusters, no regex)', async () => {
    const driver = new VmwareDriver(simOptions(sim));
    await driver.init(AbortSignal.timeout(30_000));
    await driver.close();
  });

  it('wrong credentials: names the user and the options, never the password', async () => {
    const err = await initError(new VmwareDriver(simOptions(sim, { password: 'not-the-password-xyz' })));
    assert.ok(err instanceof VmwareStartupError);
    assert.match(err.message, /refused the login of user/);
    assert.match(err.message, /host_username or host_password/);
    assert.doesNotMatch(err.message, /not-the-password-xyz/);
    assert.doesNotMatch(JSON.stringify(err), /not-the-password-xyz/);
  });

  it('a cluster_name that does not exist: lists the clusters that do', async () => {
    const err = await initError(new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0', 'Prod'] })));
    assert.ok(err instanceof VmwareStartupError);
    assert.equal(err.message, '[vmware] cluster_name "Prod" not found in vCenter; existing clusters: "DC0_C0", "DC0_C1"');
  });

  it('no cluster_name against a vCenter: lists the clusters', async () => {
    const err = await initError(new VmwareDriver(simOptions(sim, { clusterNames: [] })));
    assert.match(err.message, /cluster_name is required.*"DC0_C0", "DC0_C1"/);
  });

  it('a datastore_regex matching no datastore: lists the cluster\'s datastores', async () => {
    const err = await initError(new VmwareDriver(simOptions(sim, { datastoreRegex: /^nas.*/ })));
    assert.ok(err instanceof VmwareStartupError);
    assert.equal(err.message, 'cluster DC0_C0 has no datastore matching [vmware] datastore_regex = ^nas.*; its datastores: "LocalDS_0"');
  });

  it('missing privileges: each one named, as the vSphere client shows it', async () => {
    const denied = ['VirtualMachine.Interact.PowerOn', 'Datastore.AllocateSpace'];
    const proxy = await startRewritingProxy(sim.url, sim.caFile, (method, body) => {
      if (method !== 'HasPrivilegeOnEntities') return body;
      let out = body;
      for (const id of denied) out = out.replace(new RegExp(`(<privId>${id.replace(/\./g, '\\.')}</privId>\\s*<isGranted>)true`, 'g'), '$1false');
      return out;
    });
    try {
      const opts = simOptions(sim, { hostIp: proxy.url });
      const { caFile: _ca, ...plain } = opts;
      const err = await initError(new VmwareDriver(plain));
      assert.ok(err instanceof VmwareStartupError, String(err));
      assert.match(err.message, /lacks 2 required privilege\(s\) on datacenter DC0/);
      assert.match(err.message, /VirtualMachine\.Interact\.PowerOn \(Virtual Machine > Interaction > Power On\)/);
      assert.match(err.message, /Datastore\.AllocateSpace \(Datastore > Allocate space\)/);
      assert.deepEqual(err.details?.['missing'], ['Datastore.AllocateSpace', 'VirtualMachine.Interact.PowerOn']);
    } finally {
      await proxy.close();
    }
  });
});

describe('VMware driver start-up checks: version', () => {
  let old: TestVcsim;
  before(async () => {
    old = await startTestVcsim({ version: '5.1.0' });
  });
  after(() => old.stop());

  it('a vCenter older than 5.5.0 is refused with its version', async () => {
    const err = await initError(new VmwareDriver(simOptions(old, { clusterNames: ['DC0_C0'] })));
    assert.ok(err instanceof VmwareStartupError);
    assert.match(err.message, /reports version 5\.1\.0; Polyvisor needs vCenter 5\.5\.0 or newer/);
  });
});
