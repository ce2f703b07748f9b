import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeDriver } from '../../../src/compute/drivers/fake/index.js';
import { localBootTime } from '../../../src/compute/drivers/libvirt/resources.js';
import { nodeResources } from '../../../src/compute/drivers/vmware/resources.js';
import type { ComputeTarget, HostFacts } from '../../../src/compute/drivers/vmware/topology.js';

/** The boot times drivers report for os-hypervisors uptime. */
describe('driver boot times', () => {
  it('the fake driver reports when it started', async () => {
    const before = Date.now();
    const d = new FakeDriver({ nodes: 1, vcpus: 1, memory_mb: 64, local_gb: 1, hypervisor_type: 'fake', spawn_delay_ms: 0, operation_delay_ms: 0, host: 'h' });
    const [node] = await d.listNodes(AbortSignal.timeout(5_000));
    const t = Date.parse(node?.bootTime ?? '');
    assert.ok(t >= before - 1000 && t <= Date.now(), `boot time ${node?.bootTime ?? 'missing'}`);
  });

  it('libvirt reports the local host\'s boot time, and none for a remote libvirtd', () => {
    const local = Date.parse(localBootTime('qemu:///system').bootTime ?? '');
    assert.ok(local < Date.now() && local > Date.parse('2000-01-01'), 'a past boot time');
    assert.deepEqual(localBootTime('qemu+ssh://root@kvm1/system'), {});
  });

  it('VMware reports the longest-running usable host of the cluster', () => {
    const host = (name: string, usable: boolean, bootTime?: string): HostFacts => ({
      ref: { type: 'HostSystem', value: name },
      name,
      usable,
      cpuThreads: 4,
      cpuCores: 2,
      memoryBytes: 1024 ** 3,
      cpuModel: 'x',
      vendor: 'y',
      ...(bootTime === undefined ? {} : { bootTime }),
    });
    const target = (hosts: HostFacts[]): ComputeTarget => ({
      ref: { type: 'ClusterComputeResource', value: 'c1' },
      name: 'c1',
      nodename: 'c1.vc',
      datacenter: { ref: { type: 'Datacenter', value: 'dc' }, name: 'dc', vmFolder: { type: 'Folder', value: 'vm' } },
      resourcePool: { type: 'ResourcePool', value: 'rp' },
      hosts,
      datastores: [],
      networks: [],
    });
    const opts = { version: '7.0.3', hostIp: '10.0.0.1', regex: null };
    const r = nodeResources(target([host('a', true, '2026-01-02T00:00:00.000Z'), host('b', true, '2026-01-01T00:00:00.000Z'), host('c', false, '2025-01-01T00:00:00.000Z')]), opts);
    assert.equal(r.bootTime, '2026-01-01T00:00:00.000Z');
    assert.equal(nodeResources(target([host('a', true)]), opts).bootTime, undefined);
  });
});
