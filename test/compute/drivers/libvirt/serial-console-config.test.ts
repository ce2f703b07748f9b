import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configFromText } from '../../../../src/config/load.js';
import { domainXml, serialTcpOf, tcpPortsOf, type DomainSpec } from '../../../../src/compute/drivers/libvirt/domain-xml.js';
import { libvirtOptionsFromConfig } from '../../../../src/compute/drivers/libvirt/index.js';
import { ConfigError } from '../../../../src/errors.js';

const base: DomainSpec = {
  uuid: '7d0c2f4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f', displayName: 'web', projectId: 'p', userId: 'u',
  flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
  virtType: 'qemu', cpuMode: null, disk: { path: '/i/x/disk', format: 'qcow2' },
  bridge: null, withNic: false, vncListen: '127.0.0.1', consoleLog: '/i/x/console.log',
};

const options = (text: string) => libvirtOptionsFromConfig(configFromText(`[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n${text}`).config);

/** What libvirt 9 answers in a running domain's live XML for our TCP serial port (trimmed). */
const LIVE = `<domain type='qemu' id='1'><name>instance-x</name><devices>
  <serial type='tcp'><source mode='bind' host='10.0.0.5' service='10003' tls='no'/><protocol type='raw'/>
    <log file='/i/x/console.log' append='on'/><target type='isa-serial' port='0'><model name='isa-serial'/></target><alias name='serial0'/></serial>
  <serial type='tcp'><source mode='connect' host='10.0.0.9' service='4555'/><target type='isa-serial' port='1'/></serial>
  <console type='tcp'><source mode='bind' host='10.0.0.5' service='10003' tls='no'/><protocol type='raw'/><target type='serial' port='0'/></console>
  <channel type='tcp'><source mode='bind' host='127.0.0.1' service='10007'/><target type='virtio' name='org.example.0'/></channel>
  <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'/>
</devices></domain>`;

describe('libvirt serial console: [serial_console] options and the domain XML', () => {
  it('reads Nova\'s [serial_console] port_range and proxyclient_address, with Nova\'s defaults', () => {
    assert.deepEqual(options('').serialConsole, { listen: '127.0.0.1', portRange: { min: 10000, max: 20000 } });
    assert.deepEqual(options('[serial_console]\nport_range = 11000:11009\nproxyclient_address = 10.0.0.5\n').serialConsole, {
      listen: '10.0.0.5', portRange: { min: 11000, max: 11009 },
    });
    assert.deepEqual(options('[serial_console]\nport_range = 12000:12000\n').serialConsole?.portRange, { min: 12000, max: 12000 });
    assert.equal(options('[serial_console]\nenabled = false\nport_range = whatever\n').serialConsole, undefined);
  });

  it('refuses a port_range that is no "<min>:<max>" of TCP ports, naming the option and the value', () => {
    const refused = (value: string, why: RegExp): void => {
      assert.throws(() => options(`[serial_console]\nport_range = ${value}\n`), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, new RegExp(`^\\[serial_console\\] port_range = "${value}" is invalid: `));
        assert.match(err.message, why);
        return true;
      });
    };
    refused('10000-20000', /expected "<min>:<max>", two TCP port numbers such as 10000:20000/);
    refused('10000', /expected "<min>:<max>"/);
    refused('0:100', /ports must be between 1 and 65535/);
    refused('60000:70000', /ports must be between 1 and 65535/);
    refused('20000:10000', /the first port \(20000\) is above the last \(10000\)/);
    assert.throws(() => options('[serial_console]\nproxyclient_address =\n'), /\[serial_console\] proxyclient_address is empty/);
  });

  it('with a serial console, serial port 0 and its console are a raw TCP server that logs to console.log', () => {
    const xml = domainXml({ ...base, serialTcp: { host: '10.0.0.5', port: 10003 } });
    assert.match(xml, /<serial type="tcp">\s*<source mode="bind" host="10\.0\.0\.5" service="10003"><\/source>|<serial type="tcp">\s*<source mode="bind" host="10\.0\.0\.5" service="10003"\/>/);
    assert.match(xml, /<protocol type="raw"/);
    assert.match(xml, /<log file="\/i\/x\/console\.log" append="on"/);
    assert.match(xml, /<console type="tcp">/);
    assert.deepEqual(serialTcpOf(xml), { host: '10.0.0.5', port: 10003 });
    assert.deepEqual(tcpPortsOf(xml), [10003]);
  });

  it('without one, serial port 0 only writes to console.log (as before)', () => {
    for (const xml of [domainXml(base), domainXml({ ...base, serialTcp: null })]) {
      assert.match(xml, /<serial type="file">\s*<source path="\/i\/x\/console\.log" append="on"/);
      assert.match(xml, /<console type="file">/);
      assert.doesNotMatch(xml, /tcp/);
      assert.equal(serialTcpOf(xml), undefined);
      assert.deepEqual(tcpPortsOf(xml), []);
    }
  });

  it('reads serial port 0\'s endpoint and every listening TCP port from libvirt\'s live XML (client-mode chardevs and VNC are not ours to count)', () => {
    assert.deepEqual(serialTcpOf(LIVE), { host: '10.0.0.5', port: 10003 });
    assert.deepEqual(tcpPortsOf(LIVE).sort(), [10003, 10007]);
  });
});
