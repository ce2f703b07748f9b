import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnosticsFromDomstats } from '../../../../src/compute/drivers/libvirt/diagnostics.js';

/** `virsh domstats --vcpu --balloon --interface --block` of a one-vCPU guest, as libvirt 9 prints it. */
const SAMPLE = `Domain: 'instance-0c5e8a4b'
  balloon.current=131072
  balloon.maximum=131072
  vcpu.current=1
  vcpu.maximum=1
  vcpu.0.state=1
  vcpu.0.time=1830000000
  vcpu.0.wait=0
  net.count=1
  net.0.name=vnet3
  net.0.rx.bytes=90
  net.0.rx.pkts=1
  net.0.rx.errs=0
  net.0.rx.drop=0
  net.0.tx.bytes=1200
  net.0.tx.pkts=12
  net.0.tx.errs=0
  net.0.tx.drop=2
  block.count=2
  block.0.name=vda
  block.0.path=/var/lib/polyvisor/instances/x/disk
  block.0.rd.reqs=112
  block.0.rd.bytes=262144
  block.0.wr.reqs=488
  block.0.wr.bytes=5778432
  block.0.errors=-1
  block.1.name=vdb
  block.1.rd.reqs=3
  block.1.rd.bytes=4096
  block.1.wr.reqs=0
  block.1.wr.bytes=0
`;

describe('libvirt diagnostics from domstats', () => {
  it('maps vCPU times, balloon memory (MiB), NICs and disks to Nova’s standard format', () => {
    const d = diagnosticsFromDomstats(SAMPLE, 'running', 'qemu');
    assert.equal(d.driver, 'libvirt');
    assert.equal(d.hypervisor, 'qemu');
    assert.equal(d.num_cpus, 1);
    assert.deepEqual(d.cpu_details, [{ id: 0, time: 1830000000, utilisation: null }]);
    assert.deepEqual(d.memory_details, { maximum: 128, used: 128 });
    assert.equal(d.num_nics, 1);
    assert.equal(d.nic_details[0]?.['tx_drop'], 2);
    assert.equal(d.num_disks, 2);
    assert.deepEqual(d.disk_details[0], { read_bytes: 262144, read_requests: 112, write_bytes: 5778432, write_requests: 488, errors_count: -1 });
    assert.equal(d.disk_details[1]?.errors_count, null);
  });

  it('an empty output (no stats for a stopped domain) gives zero counts, not an error', () => {
    const d = diagnosticsFromDomstats("Domain: 'x'\n", 'shutdown', 'kvm');
    assert.equal(d.num_cpus, 0);
    assert.equal(d.num_disks, 0);
    assert.deepEqual(d.memory_details, { maximum: null, used: null });
  });
});
