import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DriverError, type ImageSource, type InstanceRef, type InstanceSpec } from '../../../../src/compute/drivers/driver.js';
import { LibvirtDriver, type LibvirtDriverOptions } from '../../../../src/compute/drivers/libvirt/index.js';
import { domstate, startTestLibvirtd, virsh, type TestLibvirtd } from '../../../support/libvirtd.js';
import { buildTestGuest, GUEST_MARKER, testGuestImage, waitForBoots } from '../../../support/test-guest.js';
import { testOptions } from './support.js';

const t = (): AbortSignal => AbortSignal.timeout(180_000);

/** Connects to a TCP endpoint (a serial console, a VNC server); `text()` is everything received so far. */
async function openSerial(host: string, port: number): Promise<{ socket: Socket; text: () => string; until: (re: RegExp, ms?: number) => Promise<RegExpExecArray> }> {
  const socket = createConnection({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let got = '';
  const waiters = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    got += d.toString('latin1');
    for (const w of waiters) w();
  });
  const until = (re: RegExp, ms = 120_000): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(got);
        if (m === null) return;
        done();
        resolve(m);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${re} did not arrive on ${host}:${port} within ${ms} ms; got ${JSON.stringify(got)}`));
      }, ms);
      const onClose = (): void => {
        done();
        reject(new Error(`${host}:${port} closed before ${re} arrived; got ${JSON.stringify(got)}`));
      };
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
        socket.off('close', onClose);
      };
      waiters.add(check);
      socket.once('close', onClose);
      check();
    });
  return { socket, text: () => got, until };
}

/** Listens on host:port as "another program" holding a port of the range. */
async function occupy(host: string, port: number): Promise<Server> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, resolve);
  });
  return server;
}

const markerLine = new RegExp(`${GUEST_MARKER} ([0-9a-f-]{36})\\r?\\n`);

/**
 * [serial_console] enabled on a real libvirtd + QEMU: serial port 0 is a raw TCP server on a
 * port of port_range, and what the guest writes reaches a TCP client and console.log alike.
 * Ports: a free one, skipping ports other programs listen on and ports domains
 * (running or shut off) name; freed on delete; read back from libvirt after an agent restart.
 */
describe('libvirt driver: serial consoles on TCP ports of [serial_console] port_range', () => {
  let lv: TestLibvirtd;
  let options: LibvirtDriverOptions;
  let driver: LibvirtDriver;
  let image: ImageSource;
  let blocker: Server;
  // Three ports: the first held by another program, two for guests. Away from the test daemons' VNC ports (20000-60999).
  const low = 61000 + 3 * Math.floor(Math.random() * 1300);
  const host = '127.0.0.1';
  let first: InstanceRef;
  let second: InstanceRef;
  /** The two ports guests can have (the range's first is another program's): which one the first guest took, and the other. */
  let firstPort: number;
  let otherPort: number;

  const spec = (name: string): InstanceSpec => ({
    uuid: randomUUID(), node: 'kvm-test-host', driverInfo: {}, name, hostname: name, projectId: 'p1', userId: 'u1',
    flavor: { id: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 128, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
    metadata: {}, keyData: null, userData: null, networks: 'none',
  });
  const spawn = async (d: LibvirtDriver, name: string): Promise<InstanceRef> => {
    const s = spec(name);
    const { driverInfo } = await d.spawn(s, image, t());
    return { uuid: s.uuid, node: s.node, driverInfo };
  };
  const consoleLog = (ref: InstanceRef): string => join(options.instancesPath, ref.uuid, 'console.log');

  before(async () => {
    lv = await startTestLibvirtd();
    blocker = await occupy(host, low);
    options = testOptions(lv, { waitSoftRebootSeconds: 60, serialConsole: { listen: host, portRange: { min: low, max: low + 2 } } });
    driver = new LibvirtDriver(options);
    await driver.init(t());
    image = await testGuestImage(await buildTestGuest(), { hypervisor_type: 'qemu' });
  });
  after(async () => {
    await new Promise((r) => blocker?.close(r));
    await driver?.close();
    await lv?.stop();
  });

  it('a booted guest’s serial port over TCP carries what the guest writes, and console.log has the same text', async () => {
    first = await spawn(driver, 'serial-one');
    const endpoint = await driver.getSerialConsole(first, t());
    // The range's first port is another program's: the guest takes one of the other two.
    assert.equal(endpoint.host, host);
    assert.ok(endpoint.port === low + 1 || endpoint.port === low + 2, `port ${endpoint.port} of ${low}:${low + 2}`);
    firstPort = endpoint.port;
    otherPort = firstPort === low + 1 ? low + 2 : low + 1;
    const serial = await openSerial(endpoint.host, endpoint.port);
    try {
      const [line, bootId] = await serial.until(markerLine);
      assert.deepEqual(await waitForBoots(consoleLog(first), 1), [bootId]);
      const log = await driver.getConsoleOutput(first, t());
      assert.ok(log.includes(line.trimEnd()), `console log ${JSON.stringify(log)} lacks ${JSON.stringify(line)}`);
    } finally {
      serial.socket.destroy();
    }
    // VNC is untouched by the serial port: QEMU's VNC server greets on the port libvirt picked.
    const vnc = await driver.getVncConsole(first, t());
    const rfb = await openSerial(vnc.host, vnc.port);
    try {
      await rfb.until(/^RFB 003\.008\n/, 30_000);
    } finally {
      rfb.socket.destroy();
    }
    const xml = await virsh(lv.uri, 'dumpxml', `instance-${first.uuid}`);
    assert.match(xml, new RegExp(`<serial type='tcp'>\\s*<source mode='bind' host='127\\.0\\.0\\.1' service='${firstPort}'`));
    assert.match(xml, /<protocol type='raw'\/>/);
    assert.ok(xml.includes(`<log file='${consoleLog(first)}' append='on'/>`), xml);
  });

  it('a second guest gets the other free port; a spawn with the range used up fails clearly and leaves nothing behind; a delete frees its port', async () => {
    second = await spawn(driver, 'serial-two');
    assert.deepEqual(await driver.getSerialConsole(second, t()), { host, port: otherPort });

    const third = spec('serial-three');
    await assert.rejects(driver.spawn(third, image, t()), (err: unknown) => {
      assert.ok(err instanceof DriverError);
      assert.equal(err.code, 'serial_ports_exhausted');
      assert.equal(err.retryable, true, 'another host has ports of its own');
      assert.equal(
        err.message,
        `no free TCP port for the serial console of instance ${third.uuid}: [serial_console] port_range ${low}:${low + 2} on 127.0.0.1 has 3 ports, ` +
          '2 used by guests on this host and 1 by other programs; widen port_range or delete servers',
      );
      return true;
    });
    assert.ok(!(await virsh(lv.uri, 'list', '--all', '--name')).includes(third.uuid), 'no domain of the failed spawn');
    assert.ok(!existsSync(join(options.instancesPath, third.uuid)), 'no folder of the failed spawn');

    await driver.destroy(second, t());
    const again = await spawn(driver, 'serial-three');
    assert.deepEqual(await driver.getSerialConsole(again, t()), { host, port: otherPort });
    await driver.destroy(again, t());
  });

  it('after an agent restart a shut-off guest keeps its port (read from libvirt), and listens on it again when powered on', async () => {
    await driver.powerOff(first, { timeoutSeconds: 60 }, t());
    assert.equal(await domstate(lv.uri, `instance-${first.uuid}`), 'shut off');
    // Nothing listens on its port now; only the domain's definition says it is taken.
    const probe = await occupy(host, firstPort);
    await new Promise((r) => probe.close(r));

    // A new driver (an agent restart) knows nothing but what libvirt reports: one guest takes
    // the other port, and a second finds the range used up rather than taking the shut-off guest's.
    const restarted = new LibvirtDriver(options);
    await restarted.init(t());
    const other = await spawn(restarted, 'serial-four');
    assert.deepEqual(await restarted.getSerialConsole(other, t()), { host, port: otherPort });
    await assert.rejects(spawn(restarted, 'serial-five'), /\[serial_console\] port_range \d+:\d+ on 127\.0\.0\.1 has 3 ports, 2 used by guests on this host and 1 by other programs/);
    await restarted.destroy(other, t());

    await restarted.powerOn(first, t());
    const endpoint = await restarted.getSerialConsole(first, t());
    assert.deepEqual(endpoint, { host, port: firstPort });
    const serial = await openSerial(endpoint.host, endpoint.port);
    try {
      const [, bootId] = await serial.until(markerLine);
      const ids = await waitForBoots(consoleLog(first), 2);
      assert.equal(ids.length, 2);
      assert.equal(ids[1], bootId, 'the boot the socket saw is the one console.log appended');
      assert.notEqual(ids[0], bootId);
    } finally {
      serial.socket.destroy();
    }
    await restarted.close();
  });

  it('with [serial_console] disabled, serial port 0 writes only to console.log and there is no serial console', async () => {
    const fileOnly = new LibvirtDriver(testOptions(lv));
    await fileOnly.init(t());
    const ref = await spawn(fileOnly, 'file-only');
    try {
      const xml = await virsh(lv.uri, 'dumpxml', `instance-${ref.uuid}`);
      assert.match(xml, /<serial type='file'>/);
      assert.doesNotMatch(xml, /type='tcp'/);
      await assert.rejects(fileOnly.getSerialConsole(ref, t()), (err: unknown) => err instanceof DriverError && err.code === 'console_unavailable' && /has no serial console/.test(err.message));
    } finally {
      await fileOnly.destroy(ref, t());
      await fileOnly.close();
    }
  });
});
