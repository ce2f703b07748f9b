import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import type { ImageSource, InstanceSpec } from '../../../src/compute/drivers/driver.js';
import { FakeDriver } from '../../../src/compute/drivers/fake/index.js';

const IMAGE: ImageSource = { id: 'img', name: null, diskFormat: 'raw', containerFormat: 'bare', size: 0, virtualSize: 0, properties: {}, open: async () => Readable.from([]) };
const signal = AbortSignal.timeout(10_000);
const SPEC: InstanceSpec = {
  uuid: 'vm-1', node: 'h1-fake-1', driverInfo: {}, name: 'instance-vm-1', hostname: 'vm', projectId: 'p', userId: 'u',
  flavor: { id: '1', name: 'f', vcpus: 1, memory_mb: 64, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
  metadata: {}, keyData: null, userData: null, networks: 'none',
};

/** Reads exactly n bytes from the socket (or fails when it closes first). */
function reader(socket: Socket): (n: number) => Promise<Buffer> {
  let buf = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  let closed = false;
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    waiting?.();
  });
  socket.on('close', () => {
    closed = true;
    waiting?.();
  });
  return async (n) => {
    while (buf.length < n) {
      if (closed) throw new Error(`connection closed with ${buf.length} of ${n} bytes`);
      await new Promise<void>((r) => (waiting = r));
    }
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
}

describe('fake driver: VNC console', () => {
  it('serves RFB 3.8 with security None and a blank framebuffer, until the VM stops', async () => {
    const d = new FakeDriver({ nodes: 1, vcpus: 8, memory_mb: 4096, local_gb: 100, hypervisor_type: 'fake', spawn_delay_ms: 0, operation_delay_ms: 0, host: 'h1' });
    await d.spawn(SPEC, IMAGE, signal);
    const c = await d.getVncConsole(SPEC, signal);
    assert.equal(c.host, '127.0.0.1');
    assert.deepEqual(await d.getVncConsole(SPEC, signal), c, 'the same server while the VM runs');

    const socket = connect(c.port, c.host);
    await once(socket, 'connect');
    const read = reader(socket);
    assert.equal((await read(12)).toString('latin1'), 'RFB 003.008\n');
    socket.write('RFB 003.008\n');
    assert.deepEqual([...(await read(2))], [1, 1], 'one security type: None');
    socket.write(Buffer.from([1]));
    assert.deepEqual([...(await read(4))], [0, 0, 0, 0], 'security result OK');
    socket.write(Buffer.from([1]));
    const init = await read(24);
    const [w, h, nameLength] = [init.readUInt16BE(0), init.readUInt16BE(2), init.readUInt32BE(20)];
    assert.equal(init[4], 32, 'bits per pixel');
    assert.equal((await read(nameLength)).toString(), 'instance-vm-1');
    // SetEncodings (raw) then a non-incremental FramebufferUpdateRequest for the whole screen.
    socket.write(Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]));
    const req = Buffer.alloc(10);
    req.writeUInt8(3, 0);
    req.writeUInt16BE(w, 6);
    req.writeUInt16BE(h, 8);
    socket.write(req);
    const update = await read(16);
    assert.equal(update[0], 0, 'FramebufferUpdate');
    assert.equal(update.readUInt16BE(2), 1);
    assert.deepEqual([update.readUInt16BE(8), update.readUInt16BE(10), update.readInt32BE(12)], [w, h, 0]);
    const pixels = await read(w * h * 4);
    assert.ok(pixels.every((b) => b === 0), 'a blank screen');

    const closed = once(socket, 'close');
    await d.powerOff(SPEC, { timeoutSeconds: 1 }, signal);
    await closed;
    await assert.rejects(d.getVncConsole(SPEC, signal), /not running/);
    const refused = connect(c.port, c.host);
    await assert.rejects(once(refused, 'connect'), /ECONNREFUSED/);

    await d.powerOn(SPEC, signal);
    const again = await d.getVncConsole(SPEC, signal);
    await d.destroy(SPEC, signal);
    const gone = connect(again.port, again.host);
    await assert.rejects(once(gone, 'connect'), /ECONNREFUSED/);
    await d.close();
  });
});
