import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { configFromText, loadConfig } from '../../src/config/load.js';
import { sampleConfig } from '../../src/config/sample.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'polyvisor-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('nova.conf loader', () => {
  it('gives Nova defaults when nothing is configured', () => {
    const { config } = configFromText('');
    assert.equal(config.DEFAULT.compute_driver, 'fake.FakeDriver');
    assert.equal(config.DEFAULT.reserved_host_memory_mb, 512);
    assert.equal(config.DEFAULT.default_availability_zone, 'nova');
    assert.equal(config.DEFAULT.instance_name_template, 'instance-%08x');
    assert.equal(config.vmware.use_linked_clone, true);
    assert.equal(config.vmware.vnc_port, 5900);
    assert.equal(config.image_cache.remove_unused_original_minimum_age_seconds, 86400);
    assert.equal(config.scheduler.max_attempts, 3);
  });

  it("accepts the seeds' [DEFAULT]/[vmware] block verbatim, with repeated cluster_name", () => {
    const { config } = configFromText(
      [
        '[DEFAULT]',
        'compute_driver = vmwareapi.VMwareVCDriver',
        'reserved_host_memory_mb = 0',
        '[vmware]',
        'host_ip = 10.0.0.5',
        'host_username = administrator@vsphere.local',
        'host_password = s3cret',
        'cluster_name = Cluster1',
        'cluster_name = Cluster2',
        'datastore_regex = nas.*',
        'wsdl_location=file:///vmware-sdk/SDK/vsphere-ws/wsdl/vim25/vimService.wsdl',
      ].join('\n'),
      'nova.conf',
    );
    assert.equal(config.DEFAULT.compute_driver, 'vmwareapi.VMwareVCDriver');
    assert.deepEqual(config.vmware.cluster_name, ['Cluster1', 'Cluster2']);
    assert.equal(config.vmware.datastore_regex, 'nas.*');
    assert.equal(config.DEFAULT.reserved_host_memory_mb, 0);
  });

  it('names file, line, section and option of an unknown option, with a suggestion', () => {
    const file = write('typo.conf', '[vmware]\nhost_ip = x\ncluster_nmae = C1\n');
    const err = configError(() => loadConfig([file]));
    assert.match(err.message, /typo\.conf:3/);
    assert.match(err.message, /unknown option "cluster_nmae" in section \[vmware\]/);
    assert.match(err.message, /did you mean "cluster_name"/);
    assert.deepEqual(err.details, { file, section: 'vmware', option: 'cluster_nmae' });
  });

  it('refuses an unknown section and lists the known ones', () => {
    const err = configError(() => configFromText('[vmwar]\nhost_ip = x\n', 'x.conf'));
    assert.match(err.message, /unknown section \[vmwar\]/);
    assert.match(err.message, /\[vmware\]/);
  });

  it('refuses a value of the wrong type and says what was expected', () => {
    assert.match(configError(() => configFromText('[DEFAULT]\nreserved_host_memory_mb = lots\n')).message, /reserved_host_memory_mb = "lots" is invalid: expected an integer/);
    assert.match(configError(() => configFromText('[vmware]\ninsecure = maybe\n')).message, /expected a boolean/);
    assert.match(configError(() => configFromText('[DEFAULT]\ncompute_driver = hyperv.HyperVDriver\n')).message, /expected one of fake\.FakeDriver/);
    assert.match(configError(() => configFromText('[api]\nport = 70000\n')).message, /expected a number <= 65535/);
  });

  it('never shows a secret in an error', () => {
    const err = configError(() => configFromText('[vmware]\nhost_password = hunter2\nhost_port = abc\n'));
    assert.doesNotMatch(err.message, /hunter2/);
  });

  it('parses booleans, lists, continuation lines and substitutions as oslo.config does', () => {
    const { config } = configFromText(
      [
        '[DEFAULT]',
        'state_path = /srv/pv',
        'debug = Yes',
        '# a comment',
        '; another',
        '[filter_scheduler]',
        'enabled_filters = ComputeFilter,',
        '  RamFilter',
        '[glance_store]',
        'filesystem_store_datadir = $state_path/img',
      ].join('\n'),
    );
    assert.equal(config.DEFAULT.debug, true);
    assert.deepEqual(config.filter_scheduler.enabled_filters, ['ComputeFilter', 'RamFilter']);
    assert.equal(config.glance_store.filesystem_store_datadir, '/srv/pv/img');
  });

  it('reads image-cache options from [DEFAULT], where older releases had them, with a notice', () => {
    const loaded = configFromText('[DEFAULT]\nremove_unused_base_images = False\nremove_unused_original_minimum_age_seconds = 3600\n');
    assert.equal(loaded.config.image_cache.remove_unused_base_images, false);
    assert.equal(loaded.config.image_cache.remove_unused_original_minimum_age_seconds, 3600);
    assert.ok(loaded.notices.some((n) => n.includes('deprecated')));
  });

  it('accepts sections of the OpenStack services Polyvisor replaces, with a notice', () => {
    const loaded = configFromText('[DEFAULT]\ntransport_url = rabbit://x\n[keystone_authtoken]\nauth_url = http://k:5000\n[DEFAULT]\nlibvirt_type = vmwareapi\n');
    assert.ok(loaded.notices.some((n) => n.includes('[keystone_authtoken] auth_url')));
    assert.ok(loaded.notices.some((n) => n.includes('transport_url')));
    assert.equal(loaded.config.libvirt.virt_type, 'kvm');
  });

  it('lets later files override earlier ones', () => {
    const a = write('a.conf', '[DEFAULT]\nhost = a\n');
    const b = write('b.conf', '[DEFAULT]\nhost = b\n');
    assert.equal(loadConfig([a, b]).config.DEFAULT.host, 'b');
    assert.match(configError(() => loadConfig([join(dir, 'missing.conf')])).message, /cannot read configuration file .*missing\.conf: ENOENT/);
  });

  it('prints a sample that the loader itself accepts once uncommented', () => {
    const sample = sampleConfig();
    assert.match(sample, /#reserved_host_memory_mb = 512/);
    // Keep section headers and every option whose default is a real value (not a <placeholder>).
    const lines = sample.split('\n').filter((l) => l.startsWith('[') || (/^#\w+ = /.test(l) && !l.includes('<')));
    const text = lines.map((l) => (l.startsWith('#') ? l.slice(1) : l)).join('\n');
    const loaded = configFromText(text, 'sample.conf');
    assert.equal(loaded.config.DEFAULT.reserved_host_memory_mb, 512);
    assert.equal(loaded.config.vmware.vnc_port_total, 10000);
  });
});
