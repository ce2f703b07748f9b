import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filtersFromConfig } from '../../../src/compute/scheduler/filters/index.js';
import { matchExtraSpec } from '../../../src/compute/scheduler/filters/extra-specs-ops.js';
import { parseVersionPredicate, versionToString } from '../../../src/compute/scheduler/filters/version-predicate.js';
import { HostSelector, noValidHostMessage } from '../../../src/compute/scheduler/host-selector.js';
import { HostState } from '../../../src/compute/scheduler/host-state.js';
import type { RequestSpec } from '../../../src/compute/scheduler/request-spec.js';
import { weighersFromConfig } from '../../../src/compute/scheduler/weighers/index.js';
import type { SchedulerNodeRow } from '../../../src/db/repos/compute-nodes.js';
import { ConfigError } from '../../../src/errors.js';
import { testConfig } from '../agent/harness.js';

let nextId = 1;
function host(name: string, over: Partial<SchedulerNodeRow> = {}, service = { disabled: false, up: true }): HostState {
  const row: SchedulerNodeRow = {
    id: nextId++,
    uuid: name,
    service_id: 1,
    hypervisor_hostname: name,
    hypervisor_type: 'QEMU',
    hypervisor_version: 7002000,
    host_ip: '10.0.0.1',
    cpu_info: '{"arch":"x86_64","vendor":"Intel"}',
    availability_zone: null,
    vcpus: 16,
    memory_mb: 32768,
    local_gb: 500,
    vcpus_used: 0,
    memory_mb_used: 0,
    local_gb_used: 0,
    running_vms: 0,
    cpu_allocation_ratio: 1,
    ram_allocation_ratio: 1,
    disk_allocation_ratio: 1,
    reserved_host_memory_mb: 0,
    reserved_host_disk_mb: 0,
    reserved_host_cpus: 0,
    capabilities: '{"architecture":"x86_64"}',
    deleted: 0,
    created_at: '',
    updated_at: '',
    host: `host-${name}`,
    service_disabled: 0,
    service_forced_down: 0,
    service_last_seen_at: null,
    ...over,
  };
  const h = new HostState();
  h.update(row, service);
  return h;
}

function spec(over: Partial<RequestSpec> = {}, extraSpecs: Record<string, string> = {}): RequestSpec {
  const flavor = { id: '1', name: 'f', vcpus: 2, memory_mb: 1024, root_gb: 10, ephemeral_gb: 0, swap: 0, extra_specs: extraSpecs };
  return { instanceUuid: 'i', flavor, vcpus: 2, memoryMb: 1024, diskGb: 10, availabilityZone: null, imageProperties: {}, retryNodes: new Set(), ...over };
}

function selector(extra = ''): HostSelector {
  const c = testConfig('x', extra);
  return new HostSelector(filtersFromConfig(c.filter_scheduler.enabled_filters), weighersFromConfig(c.filter_scheduler), { defaultAvailabilityZone: 'nova' });
}

const source = (hosts: HostState[]) => ({ hosts, generation: 1 });
const names = (hs: HostState[]) => hs.map((h) => h.nodename);

describe('scheduler filters', () => {
  it('ComputeFilter drops nodes whose service is down or disabled', () => {
    const hs = [host('up'), host('down', {}, { disabled: false, up: false }), host('off', {}, { disabled: true, up: true })];
    assert.deepEqual(names(selector().select(source(hs), spec(), 5)), ['up']);
  });

  it('resource filters apply capacity × ratio − reserved − used', () => {
    const hs = [
      host('ram-full', { memory_mb: 2048, reserved_host_memory_mb: 1100 }),
      host('ram-ratio', { memory_mb: 800, ram_allocation_ratio: 1.5 }),
      host('cpu-full', { vcpus: 4, vcpus_used: 3 }),
      host('cpu-reserved', { vcpus: 4, reserved_host_cpus: 3 }),
      host('disk-full', { local_gb: 10, reserved_host_disk_mb: 1 }),
    ];
    const s = new HostSelector(filtersFromConfig(['RamFilter', 'CoreFilter', 'DiskFilter']), [], { defaultAvailabilityZone: 'nova' });
    assert.deepEqual(names(s.select(source(hs), spec(), 5)), ['ram-ratio']);
    const results = s.explain(hs, spec());
    assert.deepEqual(results, [
      { name: 'RamFilter', start: 5, end: 4 },
      { name: 'CoreFilter', start: 4, end: 2 },
      { name: 'DiskFilter', start: 2, end: 1 },
    ]);
  });

  it('AvailabilityZoneFilter uses the default zone and the zone:host:node forms', () => {
    const hs = [host('a1', { availability_zone: 'az1' }), host('d1'), host('d2')];
    const s = selector();
    assert.deepEqual(names(s.select(source(hs), spec({ availabilityZone: 'az1' }), 5)), ['a1']);
    assert.deepEqual(names(s.select(source(hs), spec({ availabilityZone: 'nova' }), 5)).sort(), ['d1', 'd2']);
    assert.deepEqual(names(s.select(source(hs), spec({ availabilityZone: 'nova:host-d2' }), 5)), ['d2']);
    assert.deepEqual(names(s.select(source(hs), spec({ availabilityZone: 'nova::d1' }), 5)), ['d1']);
    assert.deepEqual(names(s.select(source(hs), spec({ availabilityZone: 'elsewhere' }), 5)), []);
  });

  it('ImagePropertiesFilter matches hypervisor type, architecture and version', () => {
    const hs = [host('kvm'), host('vc', { hypervisor_type: 'VMware vCenter Server', hypervisor_version: 6005000 }), host('arm', { capabilities: '{"architecture":"aarch64"}' })];
    const s = selector();
    const pick = (props: Record<string, string>) => names(s.select(source(hs), spec({ imageProperties: props }), 5)).sort();
    assert.deepEqual(pick({ hypervisor_type: 'vmware' }), ['vc']);
    assert.deepEqual(pick({ hypervisor_type: 'kvm' }), ['arm', 'kvm']);
    assert.deepEqual(pick({ img_hv_type: 'qemu', architecture: 'amd64' }), ['kvm']);
    assert.deepEqual(pick({ hw_architecture: 'arm64' }), ['arm']);
    assert.deepEqual(pick({ hypervisor_version_requires: '>=6.0, <7' }), ['vc']);
    assert.deepEqual(pick({ hypervisor_version_requires: '>=7.1' }), ['arm', 'kvm']);
    assert.deepEqual(pick({ hypervisor_version_requires: 'about seven' }), [], 'an unreadable requirement matches nothing');
  });

  it('ComputeCapabilitiesFilter reads capabilities: and unscoped extra specs, and ignores other scopes', () => {
    const hs = [host('intel'), host('amd', { cpu_info: '{"arch":"x86_64","vendor":"AMD"}' })];
    const s = selector();
    const pick = (es: Record<string, string>) => names(s.select(source(hs), spec({}, es), 5)).sort();
    assert.deepEqual(pick({ 'capabilities:cpu_info:vendor': 'AMD' }), ['amd']);
    assert.deepEqual(pick({ 'capabilities:hypervisor_type': 's== QEMU', 'hw:cpu_policy': 'dedicated' }), ['amd', 'intel']);
    assert.deepEqual(pick({ vcpus_total: '>= 32' }), []);
    assert.deepEqual(pick({ 'capabilities:cpu_info:vendor': '<or> AMD <or> Hygon' }), ['amd']);
  });

  it('AvailabilityZoneFilter pins the requested host and node (2.74, and zone:host as stored)', () => {
    const hs = [host('d1'), host('d2')];
    const s = selector();
    assert.deepEqual(names(s.select(source(hs), spec({ requestedHost: 'host-d2' }), 5)), ['d2']);
    assert.deepEqual(names(s.select(source(hs), spec({ requestedNode: 'd1' }), 5)), ['d1']);
    assert.deepEqual(names(s.select(source(hs), spec({ availabilityZone: 'elsewhere', requestedHost: 'host-d1' }), 5)), []);
  });

  it('ServerGroup filters: affinity to the members\' hosts, anti-affinity up to max_server_per_host', () => {
    const hs = [host('d1'), host('d2'), host('d3')];
    const s = selector();
    const group = (policy: 'affinity' | 'anti-affinity', hosts: [string, number][], rules: Record<string, number> = {}) => ({ uuid: 'g', policy, rules, hosts: new Map(hosts) });
    assert.deepEqual(names(s.select(source(hs), spec({ group: group('affinity', [['host-d2', 1]]) }), 5)), ['d2']);
    assert.deepEqual(names(s.select(source(hs), spec({ group: group('affinity', []) }), 5)).length, 3, 'the first member may go anywhere');
    assert.deepEqual(names(s.select(source(hs), spec({ group: group('anti-affinity', [['host-d2', 1]]) }), 5)).sort(), ['d1', 'd3']);
    assert.deepEqual(names(s.select(source(hs), spec({ group: group('anti-affinity', [['host-d2', 1], ['host-d1', 2]], { max_server_per_host: 2 }) }), 5)).sort(), ['d2', 'd3']);
  });

  it('DifferentHostFilter keeps away from the hinted servers\' hosts, SameHostFilter keeps to them', () => {
    const hs = [host('d1'), host('d2'), host('d3')];
    const s = selector();
    assert.deepEqual(names(s.select(source(hs), spec({ differentHosts: new Set(['host-d2']) }), 5)).sort(), ['d1', 'd3']);
    assert.deepEqual(names(s.select(source(hs), spec({ sameHosts: new Set(['host-d3']) }), 5)), ['d3']);
    assert.equal(names(s.select(source(hs), spec({ differentHosts: new Set() }), 5)).length, 3, 'a hint naming no placed server constrains nothing');
  });

  it('excludes nodes already tried for the build', () => {
    const hs = [host('n1'), host('n2')];
    assert.deepEqual(names(selector().select(source(hs), spec({ retryNodes: new Set(['n1']) }), 5)), ['n2']);
  });
});

describe('scheduler weighers', () => {
  const hs = () => [host('small', { memory_mb: 8192, vcpus: 64 }), host('big', { memory_mb: 65536, vcpus: 8 }), host('mid', { memory_mb: 32768, vcpus: 16 })];

  it('spreads by free RAM by default and stacks with a negative multiplier', () => {
    assert.deepEqual(names(selector().select(source(hs()), spec(), 3)), ['big', 'mid', 'small']);
    assert.deepEqual(names(selector('[filter_scheduler]\nram_weight_multiplier = -1.0\n').select(source(hs()), spec(), 3)), ['small', 'mid', 'big']);
  });

  it('normalises several weighers as Nova does', () => {
    // RAM: big 1, mid ≈0.43, small 0; CPU×2: small 2, mid ≈0.29, big 0 → small, big, mid.
    const s = selector('[filter_scheduler]\nweight_classes = RAMWeigher,CPUWeigher\ncpu_weight_multiplier = 2.0\n');
    assert.deepEqual(names(s.select(source(hs()), spec(), 3)), ['small', 'big', 'mid']);
  });

  it('keeps the weight order as claims change a host', () => {
    const s = selector();
    const all = hs();
    const src = source(all);
    assert.equal(s.select(src, spec(), 1)[0]?.nodename, 'big');
    const big = all[1] as HostState;
    big.memoryMbUsed = 60000;
    s.changed(big);
    assert.deepEqual(names(s.select(src, spec(), 3)), ['mid', 'small', 'big']);
  });

  it('rejects unknown filter and weigher names with a config error naming the option', () => {
    assert.throws(() => filtersFromConfig(['RamFilter', 'NoSuchFilter']), (e: unknown) => e instanceof ConfigError && /enabled_filters: unknown filter "NoSuchFilter"/.test(e.message));
    assert.throws(() => weighersFromConfig(testConfig('x', '[filter_scheduler]\nweight_classes = Bogus\n').filter_scheduler), ConfigError);
    assert.equal(filtersFromConfig(['nova.scheduler.filters.ram_filter.RamFilter'])[0]?.name, 'RamFilter');
    assert.equal(weighersFromConfig(testConfig('x', '[filter_scheduler]\nweight_classes = nova.scheduler.weights.all_weighers\n').filter_scheduler).length, 3);
  });
});

describe('scheduler helpers', () => {
  it('compares extra specs with Nova\'s operators', () => {
    assert.ok(matchExtraSpec('8', '= 4'));
    assert.ok(!matchExtraSpec('2', '= 4'));
    assert.ok(matchExtraSpec('abc', 's== abc'));
    assert.ok(matchExtraSpec('sse avx', '<all-in> avx sse'));
    assert.ok(matchExtraSpec('x', 'x'));
    assert.ok(!matchExtraSpec(undefined, '>= 1'));
  });

  it('reads version predicates and Nova\'s integer versions', () => {
    assert.equal(versionToString(6005000), '6.5.0');
    assert.ok(parseVersionPredicate('>=6.0')?.('6.5.0'));
    assert.ok(!parseVersionPredicate('>6.5')?.('6.5.0'));
    assert.equal(parseVersionPredicate('~6'), null);
  });

  it('says which filters removed nodes in the fault message', () => {
    assert.equal(
      noValidHostMessage([
        { name: 'ComputeFilter', start: 3, end: 3 },
        { name: 'RamFilter', start: 3, end: 0 },
      ]),
      'No valid host was found. There are not enough hosts available. RamFilter removed 3 of 3.',
    );
    assert.match(noValidHostMessage([{ name: 'ComputeFilter', start: 0, end: 0 }]), /No compute nodes are registered/);
  });
});
