import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A minimal RFB (VNC) server for the fake driver's consoles, so that the console proxy and
 * noVNC (and tempest's test_novnc) have a real endpoint: RFB 3.8 (3.7 and 3.3 too when the
 * client asks for them), security type None, a blank framebuffer of `width`×`height` sent
 * raw-encoded in the client's pixel format on each non-incremental FramebufferUpdateRequest
 * (nothing ever changes, so incremental requests get no answer). Key, pointer and cut-text
 * events are read and ignored. Listens on loopback only: the console proxy runs on the same
 * machine as the fake hypervisor.
 */
export class FakeVncServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #name: string;
  readonly #width: number;
  readonly #height: number;

  private constructor(name: string, width: number, height: number) {
    this.#name = name;
    this.#width = width;
    this.#height = height;
    this.#server = createServer((socket) => this.#session(socket));
  }

  /** Starts a server on 127.0.0.1 with a port the system picks. */
  static async start(name: string, size: { width: number; height: number } = { width: 320, height: 200 }): Promise<FakeVncServer> {
    const s = new FakeVncServer(name, size.width, size.height);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', reject);
      s.#server.listen(0, '127.0.0.1', () => {
        s.#server.off('error', reject);
        // A fake console never keeps the process alive (tests may end without closing the driver).
        s.#server.unref();
        resolve();
      });
    });
    return s;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and ends open sessions. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #session(socket: Socket): void {
    this.#sockets.add(socket);
    socket.unref();
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let stage: 'version' | 'security' | 'init' | 'normal' = 'version';
    let minor = 8;
    let bytesPerPixel = 4;
    socket.write('RFB 003.008\n');
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (stage === 'version') {
          if (buf.length < 12) return;
          const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(buf.subarray(0, 12).toString('latin1'));
          buf = buf.subarray(12);
          if (!m || m[1] !== '003') return void socket.destroy();
          minor = Math.min(Number(m[2]), 8);
          if (minor < 7) {
            // 3.3: the server decides; None needs no further exchange.
            minor = 3;
            socket.write(u32(1));
            stage = 'init';
          } else {
            socket.write(Buffer.from([1, 1]));
            stage = 'security';
          }
          continue;
        }
        if (stage === 'security') {
          if (buf.length < 1) return;
          const chosen = buf[0];
          buf = buf.subarray(1);
          if (chosen !== 1) {
            const reason = Buffer.from('only security type None is offered', 'latin1');
            if (minor >= 8) socket.end(Buffer.concat([u32(1), u32(reason.length), reason]));
            else socket.destroy();
            return;
          }
          if (minor >= 8) socket.write(u32(0));
          stage = 'init';
          continue;
        }
        if (stage === 'init') {
          if (buf.length < 1) return;
          buf = buf.subarray(1); // shared flag: every session sees the same blank screen
          socket.write(this.#serverInit());
          stage = 'normal';
          continue;
        }
        const len = clientMessageLength(buf);
        if (len === undefined) return;
        if (len < 0) return void socket.destroy();
        if (buf.length < len) return;
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        if (msg[0] === 0) bytesPerPixel = Math.max(1, (msg[4] ?? 32) >> 3);
        if (msg[0] === 3 && msg[1] === 0) socket.write(this.#update(bytesPerPixel));
      }
    });
  }

  #serverInit(): Buffer {
    const name = Buffer.from(this.#name, 'utf8');
    const head = Buffer.alloc(24);
    head.writeUInt16BE(this.#width, 0);
    head.writeUInt16BE(this.#height, 2);
    // Pixel format: 32 bpp, depth 24, little-endian, true colour, 8 bits per channel (RGB at 16/8/0).
    Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(head, 4);
    head.writeUInt32BE(name.length, 20);
    return Buffer.concat([head, name]);
  }

  /** One raw rectangle covering the whole (black) framebuffer. */
  #update(bytesPerPixel: number): Buffer {
    const head = Buffer.alloc(16);
    head.writeUInt8(0, 0);
    head.writeUInt16BE(1, 2);
    head.writeUInt16BE(0, 4);
    head.writeUInt16BE(0, 6);
    head.writeUInt16BE(this.#width, 8);
    head.writeUInt16BE(this.#height, 10);
    head.writeInt32BE(0, 12);
    return Buffer.concat([head, Buffer.alloc(this.#width * this.#height * bytesPerPixel)]);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** Length of the client message at the head of `buf`; undefined: incomplete; −1: unknown type. */
function clientMessageLength(buf: Buffer): number | undefined {
  if (buf.length < 1) return undefined;
  switch (buf[0]) {
    case 0: // SetPixelFormat
      return buf.length >= 20 ? 20 : undefined;
    case 2: // SetEncodings
      return buf.length >= 4 ? 4 + 4 * buf.readUInt16BE(2) : undefined;
    case 3: // FramebufferUpdateRequest
      return 10;
    case 4: // KeyEvent
      return 8;
    case 5: // PointerEvent
      return 6;
    case 6: // ClientCutText
      return buf.length >= 8 ? 8 + buf.readUInt32BE(4) : undefined;
    default:
      return -1;
  }
}
