import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

/** A temp directory of disk images made by the real qemu-img (qemu-utils 7.2). */
export class ImageFixtures {
  readonly dir = mkdtempSync(join(tmpdir(), 'polyvisor-formats-'));

  path(name: string): string {
    return join(this.dir, name);
  }

  read(name: string): Buffer {
    return readFileSync(this.path(name));
  }

  qemuImg(...args: string[]): string {
    return execFileSync('qemu-img', args, { cwd: this.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** A raw disk with a recognisable pattern in some places and holes elsewhere. */
  raw(name: string, size: number, dense = false): string {
    const data = Buffer.alloc(size);
    if (dense) for (let i = 0; i < size; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    else for (let off = 0; off < size; off += 1024 * 1024) data.write(`block at ${off}`, off);
    writeFileSync(this.path(name), data);
    return this.path(name);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A minimal ISO 9660 image: system area, primary volume descriptor, terminator, data. */
export function makeIso(blocks: number, options: { lieBigEndian?: boolean } = {}): Buffer {
  const iso = Buffer.alloc(blocks * 2048);
  const pvd = iso.subarray(16 * 2048, 17 * 2048);
  pvd[0] = 1;
  pvd.write('CD001', 1, 'latin1');
  pvd[6] = 1;
  pvd.writeUInt32LE(blocks, 80);
  pvd.writeUInt32BE(options.lieBigEndian ? blocks + 1 : blocks, 84);
  pvd.writeUInt16LE(2048, 128);
  pvd.writeUInt16BE(2048, 130);
  const term = iso.subarray(17 * 2048, 18 * 2048);
  term[0] = 255;
  term.write('CD001', 1, 'latin1');
  return iso;
}

/**
 * Replaces the first grain of a qemu-img streamOptimized VMDK (at its overhead offset) with
 * a grain whose compressed bytes inflate to `inflated` bytes: more than a grain is a bomb.
 */
export function withBombGrain(vmdk: Buffer, inflated: number): Buffer {
  const overhead = Number(vmdk.readBigUInt64LE(64)) * 512;
  const compressed = deflateSync(Buffer.alloc(inflated), { level: 9 });
  const marker = Buffer.alloc(Math.ceil((12 + compressed.length) / 512) * 512);
  marker.writeBigUInt64LE(0n, 0);
  marker.writeUInt32LE(compressed.length, 8);
  compressed.copy(marker, 12);
  return Buffer.concat([vmdk.subarray(0, overhead), marker, Buffer.alloc(512)]);
}
