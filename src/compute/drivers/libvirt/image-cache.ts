import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DriverError, type ImageSource } from '../driver.js';
import { createSparseFile, type BlankDisk } from './blank-disks.js';
import { diskInfo } from './qemu-img.js';

export interface BaseImage {
  readonly path: string;
  readonly format: 'qcow2' | 'raw';
  readonly virtualSize: number;
}

const FORMATS = ['qcow2', 'raw'] as const;

/**
 * The compute host's image cache: one base file per image, `<dir>/<image id>.<format>`,
 * shared read-only by the overlays of every instance booted from it. A download goes to a
 * temporary name and is renamed once checked, so a crash never leaves a half base file
 * under the real name; concurrent spawns of one image share one download. The flavors'
 * formatted blank disks (ephemeral, swap) have one base each per size here too.
 */
export class ImageCache {
  readonly #dir: string;
  readonly #inflight = new Map<string, Promise<BaseImage>>();
  /** Base file paths a spawn is using before its overlay exists (ageing leaves them alone). */
  readonly #held = new Map<string, number>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  get dir(): string {
    return this.#dir;
  }

  /**
   * Marks `path` in use until the returned release is called: a spawn holds its bases from
   * fetch until its overlays name them, so an ageing pass in between cannot remove them.
   */
  hold(path: string): () => void {
    this.#held.set(path, (this.#held.get(path) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#held.get(path) ?? 1) - 1;
      if (n <= 0) this.#held.delete(path);
      else this.#held.set(path, n);
    };
  }

  /** True when a spawn holds `path`. */
  busy(path: string): boolean {
    return this.#held.has(path);
  }

  /** The formatted raw base of a blank disk (ephemeral or swap), created once per kind and size. */
  blank(disk: BlankDisk, signal: AbortSignal): Promise<BaseImage> {
    const key = disk.baseName;
    const running = this.#inflight.get(key);
    if (running !== undefined) return running;
    const p = this.#blank(disk, signal).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #blank(disk: BlankDisk, signal: AbortSignal): Promise<BaseImage> {
    const final = join(this.#dir, disk.baseName);
    const found = await stat(final).catch(() => undefined);
    if (found !== undefined) {
      const now = new Date();
      await utimes(final, now, now).catch(() => undefined);
      return { path: final, format: 'raw', virtualSize: found.size };
    }
    await mkdir(this.#dir, { recursive: true });
    const part = join(this.#dir, `.${disk.baseName}.${randomUUID()}.part`);
    try {
      await createSparseFile(part, disk.sizeBytes);
      await disk.format(part, signal);
      await rename(part, final);
      return { path: final, format: 'raw', virtualSize: disk.sizeBytes };
    } catch (err) {
      await rm(part, { force: true });
      if (err instanceof DriverError) throw err;
      throw new DriverError('disk_error', `the ${disk.file} base ${disk.baseName} could not be created: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /**
   * Nova's image cache manager pass over this cache: a base file named by `used` gets its
   * modification time refreshed (its "last used"); one no overlay uses, unchanged for at
   * least `minimumAgeSeconds`, is removed when `removeUnused` is set. Files a spawn holds
   * count as used; downloads in progress (temporary `.part` files) are left to their writers.
   */
  async age(used: ReadonlySet<string>, removeUnused: boolean, minimumAgeSeconds: number): Promise<{ removed: string[]; keptYoung: number; inUse: number }> {
    const removed: string[] = [];
    let keptYoung = 0;
    let inUse = 0;
    const now = Date.now();
    for (const name of await readdir(this.#dir).catch(() => [] as string[])) {
      if (name.startsWith('.')) continue;
      const path = join(this.#dir, name);
      const st = await stat(path).catch(() => undefined);
      if (st === undefined || !st.isFile()) continue;
      if (used.has(path) || this.busy(path)) {
        inUse++;
        const t = new Date();
        await utimes(path, t, t).catch(() => undefined);
        continue;
      }
      const ageSeconds = (now - st.mtimeMs) / 1000;
      if (removeUnused && ageSeconds >= minimumAgeSeconds) {
        await rm(path, { force: true });
        removed.push(name);
      } else keptYoung++;
    }
    return { removed, keptYoung, inUse };
  }

  /** The base file of `image`, downloading it first when it is not cached. */
  fetch(image: ImageSource, signal: AbortSignal, onProgress?: (percent: number) => void): Promise<BaseImage> {
    if (!/^[A-Za-z0-9._-]+$/.test(image.id)) throw new DriverError('invalid_image', `image id ${JSON.stringify(image.id)} cannot name a cache file`);
    const running = this.#inflight.get(image.id);
    if (running !== undefined) return running;
    const p = this.#fetch(image, signal, onProgress).finally(() => this.#inflight.delete(image.id));
    this.#inflight.set(image.id, p);
    return p;
  }

  async #cached(imageId: string, signal: AbortSignal): Promise<BaseImage | undefined> {
    for (const format of FORMATS) {
      const path = join(this.#dir, `${imageId}.${format}`);
      const found = await stat(path).catch(() => undefined);
      if (found === undefined) continue;
      const now = new Date();
      await utimes(path, now, now).catch(() => undefined); // last use, for ageing
      const info = await diskInfo(path, signal);
      return { path, format, virtualSize: info.virtualSize };
    }
    return undefined;
  }

  async #fetch(image: ImageSource, signal: AbortSignal, onProgress?: (percent: number) => void): Promise<BaseImage> {
    const hit = await this.#cached(image.id, signal);
    if (hit !== undefined) return hit;
    // Stored qcow2 or raw bits are used as they are; anything else comes as the image service's qcow2 variant.
    const format: 'qcow2' | 'raw' = image.diskFormat === 'raw' ? 'raw' : 'qcow2';
    await mkdir(this.#dir, { recursive: true });
    const final = join(this.#dir, `${image.id}.${format}`);
    const part = join(this.#dir, `.${image.id}.${randomUUID()}.part`);
    try {
      let stream;
      try {
        stream = await image.open(format, signal);
      } catch (err) {
        throw new DriverError('image_unavailable', `image ${image.id} could not be read from the image service: ${err instanceof Error ? err.message : String(err)}`, { cause: err, retryable: true });
      }
      let done = 0;
      const total = image.size ?? 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          done += chunk.length;
          if (onProgress !== undefined && total > 0) onProgress(Math.min(99, Math.floor((done * 100) / total)));
          cb(null, chunk);
        },
      });
      await pipeline(stream, counter, createWriteStream(part, { flags: 'wx' }), { signal });
      // Check what arrived: the declared format, and no backing file (a qcow2 naming a host file would expose it to the guest).
      const info = await diskInfo(part, signal);
      if (info.format !== format) throw new DriverError('invalid_image', `image ${image.id} was expected as ${format} but its content is ${info.format}`);
      if (info.backingFile !== null) throw new DriverError('invalid_image', `image ${image.id} has a backing file (${info.backingFile}); refused`);
      await rename(part, final);
      return { path: final, format, virtualSize: info.virtualSize };
    } catch (err) {
      await rm(part, { force: true });
      if (err instanceof DriverError) throw err;
      throw new DriverError('image_unavailable', `image ${image.id} could not be cached: ${err instanceof Error ? err.message : String(err)}`, { cause: err, retryable: true });
    }
  }
}
