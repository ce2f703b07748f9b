import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configFromText } from '../../../../src/config/load.js';
import { DriverError } from '../../../../src/compute/drivers/driver.js';
import { VmwareDriver, vmwareOptionsFromConfig, vmwareUrl } from '../../../../src/compute/drivers/vmware/index.js';
import { startTestVcsim, type TestVcsim } from '../../../vsphere/vcsim-harness.js';

describe('VMware driver configuration', () => {
  it('the seeds\' [DEFAULT]/[vmware] block, values filled in, works verbatim', () => {
    const { config, notices } = configFromText(`
[DEFAULT]
compute_driver = vmwareapi.VMwareVCDriver
reserved_host_memory_mb = 0

[vmware]
host_ip = 10.0.0.5
host_username = svc-openstack@vsphere.local
host_password = s3cret!
cluster_name = Prod-A
cluster_name = Prod-B
datastore_regex = nas.*
wsdl_location = https://10.0.0.5/sdk/vimService.wsdl
`);
    const o = vmwareOptionsFromConfig(config);
    assert.equal(o.hostIp, '10.0.0.5');
    assert.equal(vmwareUrl(o), 'https://10.0.0.5:443/sdk');
    assert.deepEqual(o.clusterNames, ['Prod-A', 'Prod-B']);
    assert.ok(o.datastoreRegex?.test('nas-01'));
    assert.equal(o.datastoreRegex?.test('local-01'), false);
    assert.equal(o.useLinkedClone, true);
    assert.equal(o.cacheFolder, 'vmware_base');
    assert.equal(o.portGroup, 'br100');
    assert.equal(o.vncPort, 5900);
    assert.equal(o.removeUnusedBaseImages, true);
    assert.equal(o.removeUnusedMinimumAgeSeconds, 86400);
    assert.ok(notices.some((n) => /wsdl_location/.test(n)), `a notice explains wsdl_location is not needed: ${notices.join(' | ')}`);
  });

  it('cache_prefix, integration_bridge and the old [DEFAULT] image-cache options', () => {
    const { config } = configFromText(`
[DEFAULT]
remove_unused_base_images = False
remove_unused_original_minimum_age_seconds = 3600
[vmware]
host_ip = vc.example.org
host_username = u
host_password = p
cluster_name = C
cache_prefix = shared-
integration_bridge = br-int
use_linked_clone = False
`);
    const o = vmwareOptionsFromConfig(config);
    assert.equal(o.cacheFolder, 'shared-vmware_base');
    assert.equal(o.portGroup, 'br-int');
    assert.equal(o.useLinkedClone, false);
    assert.equal(o.removeUnusedBaseImages, false);
    assert.equal(o.removeUnusedMinimumAgeSeconds, 3600);
  });

  it('a missing host_ip or password, or a bad datastore_regex, names the option', () => {
    assert.throws(() => vmwareOptionsFromConfig(configFromText('[vmware]\nhost_username = u\nhost_password = p\n').config), (e: unknown) => e instanceof DriverError && /\[vmware\] host_ip is required/.test(e.message));
    assert.throws(() => vmwareOptionsFromConfig(configFromText('[vmware]\nhost_ip = h\nhost_username = u\n').config), /\[vmware\] host_password is required/);
    assert.throws(() => vmwareOptionsFromConfig(configFromText('[vmware]\nhost_ip = h\nhost_username = u\nhost_password = p\ndatastore_regex = nas[\n').config), /datastore_regex = nas\[ is not a valid regular expression/);
  });
});

describe('VMware driver connection options', () => {
  let sim: TestVcsim;
  before(async () => {
    sim = await startTestVcsim({ clusters: 1 });
  });
  after(() => sim.stop());

  const conf = (extra: string): string => `
[vmware]
host_ip = ${new URL(sim.url).hostname}
host_port = ${new URL(sim.url).port}
host_username = ${sim.username}
host_password = ${sim.password}
cluster_name = DC0_C0
${extra}
`;

  it('ca_file trusts the vCenter certificate', async () => {
    const d = new VmwareDriver(vmwareOptionsFromConfig(configFromText(conf(`ca_file = ${sim.caFile ?? ''}`)).config));
    await d.init(AbortSignal.timeout(20_000));
    assert.equal((await d.listNodes(AbortSignal.timeout(5000))).length, 1);
    await d.close();
  });

  it('without ca_file an unknown certificate is refused; insecure = True accepts it', async () => {
    const strict = new VmwareDriver(vmwareOptionsFromConfig(configFromText(conf('')).config));
    await assert.rejects(strict.init(AbortSignal.timeout(20_000)), (e: unknown) => e instanceof DriverError && /cannot connect to vCenter .*certificate/i.test(e.message));
    const insecure = new VmwareDriver(vmwareOptionsFromConfig(configFromText(conf('insecure = True')).config));
    await insecure.init(AbortSignal.timeout(20_000));
    await insecure.close();
  });
});
