import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError, NotFoundError } from '../../errors.js';
import { DigestStream } from './digest-stream.js';
import type { ByteRange, ImageStore, PutOptions, PutResult } from './image-store.js';

const TEMP_PREFIX = '.upload-';
const VARIANTS = 'variants';
// Locations are names we made ourselves; anything else (a path, "..") is refused.
const LOCATION = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Images as files in one directory (`[glance_store] filesystem_store_datadir`). An upload is
 * written to a temporary file in the same directory and renamed into place only once it is
 * complete, hashed and accepted by every observer, so a reader never sees a partial image
 * and a failed upload leaves nothing behind.
 */
export class FileImageStore implements ImageStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  get directory(): string {
    return this.#dir;
  }

  /** Format variants (qcow2 ↔ VMDK ↔ raw) live next to the originals, named after them. */
  get variantsDirectory(): string {
    return join(this.#dir, VARIANTS);
  }

  localPath(location: string): string {
    return this.#path(location);
  }

  async put(data: Readable, options: PutOptions = {}): Promise<PutResult> {
    await mkdir(this.#dir, { recursive: true });
    const location = randomUUID();
    const temp = join(this.#dir, `${TEMP_PREFIX}${location}`);
    const digest = new DigestStream(options.observers ?? [], options.maxSize ?? Number.MAX_SAFE_INTEGER);
    try {
      const out = createWriteStream(temp, { flags: 'wx' });
      await pipeline(data, digest, out, options.signal ? { signal: options.signal } : {});
      await syncFile(temp);
      await rename(temp, this.#path(location));
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    return { location, size: digest.size, ...digest.digests() };
  }

  async removeStaleTemporaries(olderThanMs: number): Promise<number> {
    const names = await readdir(this.#dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of names.filter((n) => n.startsWith(TEMP_PREFIX))) {
      const path = join(this.#dir, name);
      // An upload in progress writes continually, so its file's mtime stays fresh.
      const st = await stat(path).catch(() => undefined);
      if (st === undefined || st.mtimeMs >= cutoff) continue;
      await unlink(path).catch(() => undefined);
      removed++;
    }
    return removed;
  }

  async open(location: string, range?: ByteRange): Promise<Readable> {
    const path = this.#path(location);
    try {
      await stat(path);
    } catch (err) {
      throw new NotFoundError('Image data', location, { cause: err });
    }
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async delete(location: string): Promise<void> {
    await unlink(this.#path(location)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    const variants = await readdir(this.variantsDirectory).catch(() => [] as string[]);
    await Promise.all(variants.filter((n) => n.startsWith(`${location}.`)).map((n) => rm(join(this.variantsDirectory, n), { force: true })));
  }

  #path(location: string): string {
    if (!LOCATION.test(location)) throw new InvalidInputError(`Not a file store location: ${location}`);
    return join(this.#dir, location);
  }
}

/** Data must be on disk before the rename publishes it, or a crash could leave a short image. */
async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
