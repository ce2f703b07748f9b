import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { domainXml, type DomainSpec } from '../../../../src/compute/drivers/libvirt/domain-xml.js';

const base: DomainSpec = {
  uuid: '7d0c2f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f', displayName: 'web <1> & "db"', projectId: 'p', userId: 'u',
  flavor: { id: '2', name: 'm1.small', vcpus: 2, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} },
  virtType: 'kvm', cpuMode: null, disk: { path: '/var/lib/nova/instances/x/disk', format: 'qcow2' },
  bridge: null, withNic: true, vncListen: '0.0.0.0', consoleLog: '/var/lib/nova/instances/x/console.log',
};

/** The domain XML alone (libvirtd-backed tests check what libvirt makes of it). */
describe('libvirt domain XML', () => {
  it('a NIC on the Linux bridge when one is configured, QEMU user networking otherwise, none for networks=none', () => {
    assert.match(domainXml({ ...base, bridge: 'br100' }), /<interface type="bridge">\s*<source bridge="br100"><\/source>|<interface type="bridge">\s*<source bridge="br100"\/>/);
    assert.match(domainXml({ ...base, bridge: 'br100' }), /<model type="virtio"/);
    assert.match(domainXml(base), /<interface type="user">/);
    assert.doesNotMatch(domainXml({ ...base, withNic: false }), /<interface/);
  });

  it('virt_type is the domain type; kvm without cpu_mode passes the host CPU through, [libvirt] cpu_mode wins', () => {
    assert.match(domainXml(base), /<domain type="kvm">/);
    assert.match(domainXml(base), /<cpu mode="host-passthrough"/);
    assert.match(domainXml({ ...base, cpuMode: 'host-model' }), /<cpu mode="host-model"/);
    const qemu = domainXml({ ...base, virtType: 'qemu' });
    assert.match(qemu, /<domain type="qemu">/);
    assert.doesNotMatch(qemu, /<cpu/);
  });

  it('VNC on a free port at [vnc] server_listen, none when [vnc] enabled is false', () => {
    assert.match(domainXml(base), /<graphics type="vnc" port="-1" autoport="yes" listen="0\.0\.0\.0">/);
    assert.doesNotMatch(domainXml({ ...base, vncListen: null }), /<graphics/);
  });

  it('the root disk is vda, the extra disks follow as virtio vdb, vdc; names are escaped', () => {
    const xml = domainXml({ ...base, extraDisks: [{ path: '/i/x/disk.local', dev: 'vdb' }, { path: '/i/x/disk.swap', dev: 'vdc' }] });
    const targets = [...xml.matchAll(/<target dev="(vd[a-z])" bus="virtio"/g)].map((m) => m[1]);
    assert.deepEqual(targets, ['vda', 'vdb', 'vdc']);
    assert.match(xml, /<source file="\/i\/x\/disk\.swap"/);
    assert.match(xml, /<title>web &lt;1&gt; &amp; &quot;db&quot;<\/title>|<title>web &lt;1&gt; &amp; "db"<\/title>/);
    assert.match(xml, /<vcpu placement="static">2<\/vcpu>/);
    assert.match(xml, /<memory unit="MiB">2048<\/memory>/);
  });
});
