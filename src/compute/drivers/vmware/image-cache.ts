import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough, Readable, Writable } from 'node:stream';
import { DatastoreFileNotFoundError, isFault, type Client, type DatastoreLocation, type ManagedObjectReference } from '../../../vsphere/index.js';
import type { Logger } from '../../../log.js';
import { DriverError, type ImageSource } from '../driver.js';
import { descriptorCapacity, flatDescriptor } from './vmdk-descriptor.js';

/** A disk or ISO in the datastore image cache, ready to boot from. */
export interface CachedImage {
  readonly kind: 'disk' | 'iso';
  /** "[datastore] <cache folder>/<image id>/<image id>.vmdk" (or .iso). */
  readonly path: string;
  readonly capacityBytes: number;
  /** Whether this call moved the image's bytes (false: it was cached already). */
  readonly transferred: boolean;
}

export interface CacheTarget {
  readonly datacenter: { readonly ref: ManagedObjectReference; readonly name: string };
  readonly datastore: string;
}

/** How an image's bits become a cached datastore disk. */
type Layout = 'flat' | 'convert' | 'iso';

/** vmware_disktype (Nova: preallocated by default) and disk_format → how the bits are stored. */
export function imageLayout(image: ImageSource): Layout {
  if (image.diskFormat === 'iso') return 'iso';
  if (image.diskFormat === 'raw') return 'flat';
  if (image.diskFormat !== 'vmdk' && image.diskFormat !== null) {
    throw new DriverError('invalid_image', `image ${image.id} has disk_format ${image.diskFormat}; the VMware driver boots vmdk, raw and iso images`);
  }
  const type = image.properties['vmware_disktype'] ?? 'preallocated';
  switch (type) {
    case 'preallocated':
    case 'thin':
    case 'eagerZeroedThick':
      return 'flat';
    case 'sparse':
    case 'streamOptimized':
      return 'convert';
    default:
      throw new DriverError('invalid_image', `image property vmware_disktype = ${type} is not one of preallocated, thin, sparse, streamOptimized`);
  }
}

/**
 * One image cache per datastore, `[ds] <cache_prefix>vmware_base/<image id>/`, shared by
 * every agent that uses the datastore. The descriptor `<id>.vmdk` is written last, so its
 * presence means "complete". Concurrent requests for one image on one datastore share
 * one transfer; a process remembers what it found cached, so a warm boot costs nothing here.
 */
export class ImageCache {
  readonly #inflight = new Map<string, Promise<CachedImage>>();
  readonly #known = new Map<string, { image: CachedImage; at: number }>();

  /**
   * `knownTtlMs`: how long this process trusts that an entry it saw is still there. Another
   * agent's ageing may remove an entry unused for the minimum age, so the TTL stays below it.
   */
  constructor(
    private readonly client: Client,
    private readonly folder: string,
    private readonly log: Logger,
    private readonly knownTtlMs = 600_000,
    /** How long to wait for another agent's transfer before taking the entry over (at least). */
    private readonly lockTimeoutMs = 120_000,
  ) {}

  /** The folder of an image's cache entry, without datastore. */
  imageFolder(imageId: string): string {
    return `${this.folder}/${imageId}`;
  }

  /** Whether this process is moving (or converting) the image onto the datastore right now. */
  busy(datastore: string, imageId: string): boolean {
    for (const k of this.#inflight.keys()) if (k.endsWith(`|${datastore}|${imageId}`)) return true;
    return false;
  }

  /** Writes a small file (a marker) in the cache. */
  mark(target: CacheTarget, path: string, text: string, signal: AbortSignal): Promise<void> {
    return this.#writeSmall(target, path, text, signal);
  }

  /** Forgets what this process knows of an entry (after ageing removed it). */
  forget(datastore: string, imageId: string): void {
    for (const k of [...this.#known.keys()]) if (k.endsWith(`|${datastore}|${imageId}`)) this.#known.delete(k);
  }

  async ensure(target: CacheTarget, image: ImageSource, adapterType: string, options: { signal: AbortSignal; onProgress?: (fraction: number) => void }): Promise<CachedImage> {
    const key = `${target.datacenter.name}|${target.datastore}|${image.id}`;
    const known = this.#known.get(key);
    if (known !== undefined && Date.now() - known.at < this.knownTtlMs) return { ...known.image, transferred: false };
    let p = this.#inflight.get(key);
    if (p === undefined) {
      p = this.#load(target, image, adapterType, options).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
      const got = await p;
      this.#known.set(key, { image: got, at: Date.now() });
      return got;
    }
    return { ...(await p), transferred: false };
  }

  async #load(target: CacheTarget, image: ImageSource, adapterType: string, options: { signal: AbortSignal; onProgress?: (fraction: number) => void }): Promise<CachedImage> {
    const found = await this.#lookup(target, image, options.signal);
    if (found !== undefined) return found;
    const won = await this.#claim(target, image, options.signal);
    if (!won) {
      const other = await this.#waitForOther(target, image, options.signal);
      if (other !== undefined) return other;
      // The other agent never finished (it died mid-transfer): take its entry over.
      this.log.warn({ image: image.id, datastore: target.datastore }, 'taking over a cache entry another agent left unfinished');
      await this.#removeEntry(target, image.id);
      if (!(await this.#claim(target, image, options.signal))) {
        const late = await this.#waitForOther(target, image, options.signal);
        if (late !== undefined) return late;
        throw new DriverError('image_cache_busy', `the cache entry of image ${image.id} on ${target.datastore} stays unfinished`, { retryable: true });
      }
    }
    try {
      return await this.#transfer(target, image, adapterType, options);
    } catch (err) {
      // A failed transfer leaves nothing behind: the entry is ours alone until its descriptor exists.
      await this.#removeEntry(target, image.id);
      throw err;
    }
  }

  async #removeEntry(target: CacheTarget, imageId: string): Promise<void> {
    await this.client.fileManager().deleteFile(`[${target.datastore}] ${this.imageFolder(imageId)}`, target.datacenter.ref, { signal: AbortSignal.timeout(60_000) }).catch((e: unknown) => {
      if (!isFault(e, 'FileNotFound')) this.log.warn({ err: e, image: imageId }, 'could not remove a cache entry');
    });
  }

  /**
   * Claims the right to transfer an image onto a datastore, across every agent sharing
   * it: MakeDirectory of the entry's folder (without parents) succeeds for one caller only.
   */
  async #claim(target: CacheTarget, image: ImageSource, signal: AbortSignal): Promise<boolean> {
    const fm = this.client.fileManager();
    const dir = `[${target.datastore}] ${this.imageFolder(image.id)}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fm.makeDirectory(dir, target.datacenter.ref, { createParents: false, signal });
        return true;
      } catch (err) {
        if (isFault(err, 'FileAlreadyExists')) return false;
        if (!isFault(err, 'FileNotFound') || attempt > 0) throw err;
        // The cache folder itself does not exist yet.
        await fm.makeDirectory(`[${target.datastore}] ${this.folder}`, target.datacenter.ref, { createParents: true, signal }).catch((e: unknown) => {
          if (!isFault(e, 'FileAlreadyExists')) throw e;
        });
      }
    }
    return false;
  }

  /**
   * Another agent is transferring the image: wait for its descriptor, checking with a
   * backoff (there is no event for "a file appeared"), until a deadline that allows the
   * transfer at 10 MiB/s (at least lockTimeoutMs). Undefined if it never completes.
   */
  async #waitForOther(target: CacheTarget, image: ImageSource, signal: AbortSignal): Promise<CachedImage | undefined> {
    const deadline = Date.now() + Math.max(this.lockTimeoutMs, ((image.size ?? 0) / (10 * 1024 * 1024)) * 1000);
    let delay = 50;
    while (Date.now() < deadline) {
      await sleep(delay, undefined, { signal });
      delay = Math.min(2000, delay * 1.5);
      const found = await this.#lookup(target, image, signal);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** The entry, when its descriptor (or ISO marker) shows it complete. */
  async #lookup(target: CacheTarget, image: ImageSource, signal: AbortSignal): Promise<CachedImage | undefined> {
    const layout = imageLayout(image);
    const dir = this.imageFolder(image.id);
    const name = layout === 'iso' ? `${image.id}.iso` : `${image.id}.vmdk`;
    const marker = layout === 'iso' ? `${dir}/${image.id}.iso.complete` : `${dir}/${name}`;
    const found = await this.#readSmall(target, marker, signal);
    if (found === undefined) return undefined;
    const capacity = layout === 'iso' ? 0 : (descriptorCapacity(found) ?? image.virtualSize ?? image.size ?? 0);
    return { kind: layout === 'iso' ? 'iso' : 'disk', path: `[${target.datastore}] ${dir}/${name}`, capacityBytes: capacity, transferred: false };
  }

  async #transfer(target: CacheTarget, image: ImageSource, adapterType: string, options: { signal: AbortSignal; onProgress?: (fraction: number) => void }): Promise<CachedImage> {
    const layout = imageLayout(image);
    const dir = this.imageFolder(image.id);
    const name = layout === 'iso' ? `${image.id}.iso` : `${image.id}.vmdk`;
    const marker = layout === 'iso' ? `${dir}/${image.id}.iso.complete` : `${dir}/${name}`;
    const path = `[${target.datastore}] ${dir}/${name}`;
    const size = image.size;
    if (size === null) throw new DriverError('invalid_image', `image ${image.id} has no size: it has no data to boot from`);
    this.log.info({ image: image.id, datastore: target.datastore, bytes: size, layout }, 'caching image on datastore');
    const loc = (p: string): DatastoreLocation => ({ datacenter: target.datacenter.name, datastore: target.datastore, path: p });
    const progress = (bytes: number): void => options.onProgress?.(size === 0 ? 1 : bytes / size);
    const upload = async (p: string): Promise<void> => {
      const stream = await image.open(null, options.signal);
      await this.client.files.upload(loc(p), stream, { size, signal: options.signal, onProgress: progress });
    };
    if (layout === 'iso') {
      await upload(`${dir}/${name}`);
      await this.#writeSmall(target, marker, `${new Date().toISOString()}\n`, options.signal);
      return { kind: 'iso', path, capacityBytes: 0, transferred: true };
    }
    if (layout === 'flat') {
      await upload(`${dir}/${image.id}-flat.vmdk`);
      await this.#writeSmall(target, marker, flatDescriptor(image.id, size, adapterType), options.signal);
      return { kind: 'disk', path, capacityBytes: size, transferred: true };
    }
    // sparse / streamOptimized: upload to a temporary folder, let vSphere convert it to a
    // thin disk once (CopyVirtualDisk), and cache the converted disk. The sparse header
    // (its first sector) gives the disk's capacity, read as the bytes go by.
    const tmp = `${dir}/tmp-${randomUUID()}`;
    const tmpDisk = `[${target.datastore}] ${tmp}/${image.id}-src.vmdk`;
    let header: Buffer | undefined;
    let converted = false;
    try {
      const source = await image.open(null, options.signal);
      const tap = new PassThrough({ highWaterMark: 1 << 20 });
      source.once('data', (chunk: Buffer) => (header ??= chunk.subarray(0, 512)));
      source.on('error', (err) => tap.destroy(err));
      source.pipe(tap);
      await this.client.files.upload(loc(`${tmp}/${image.id}-src.vmdk`), tap, { size, signal: options.signal, onProgress: progress });
      await this.#convert(target, tmpDisk, path, adapterType, options.signal);
      converted = true;
    } catch (err) {
      // vcsim models only flat disks and fails the conversion with a file fault: then the
      // image service's raw variant is streamed as the flat extent instead (more bytes,
      // same result). Anything else is a real failure.
      if (!isFault(err, 'FileFault') && !isFault(err, 'NotImplemented')) throw err;
      this.log.warn({ err, image: image.id, datastore: target.datastore }, 'vSphere could not convert the sparse disk; caching the raw image instead');
    } finally {
      await this.client.fileManager().deleteFile(`[${target.datastore}] ${tmp}`, target.datacenter.ref, { signal: options.signal }).catch((err: unknown) => {
        if (!isFault(err, 'FileNotFound')) this.log.warn({ err, path: tmp }, 'could not remove the temporary image folder');
      });
    }
    if (converted) {
      const text = await this.#readSmall(target, marker, options.signal);
      return { kind: 'disk', path, capacityBytes: (text === undefined ? undefined : descriptorCapacity(text)) ?? image.virtualSize ?? size, transferred: true };
    }
    const capacity = image.virtualSize ?? sparseCapacity(header);
    if (capacity === undefined) throw new DriverError('invalid_image', `image ${image.id} is not a sparse VMDK (no KDMV header) and has no virtual size`);
    const raw = await image.open('raw', options.signal);
    await this.client.files.upload(loc(`${dir}/${image.id}-flat.vmdk`), raw, { size: capacity, signal: options.signal, onProgress: (b) => options.onProgress?.(capacity === 0 ? 1 : b / capacity) });
    await this.#writeSmall(target, marker, flatDescriptor(image.id, capacity, adapterType), options.signal);
    return { kind: 'disk', path, capacityBytes: capacity, transferred: true };
  }

  async #convert(target: CacheTarget, source: string, dest: string, adapterType: string, signal: AbortSignal): Promise<void> {
    const vdm = this.client.virtualDiskManager();
    const destSpec = { _type: 'VirtualDiskSpec', diskType: 'thin', adapterType: adapterType === 'ide' ? 'ide' : adapterType === 'busLogic' ? 'busLogic' : 'lsiLogic' };
    try {
      await vdm.copyVirtualDisk(source, dest, target.datacenter.ref, { destSpec, signal });
    } catch (err) {
      // vcsim (and some vCenter versions) refuse a destSpec on vCenter: copy as is.
      if (!isFault(err, 'NotImplemented')) throw err;
      await vdm.copyVirtualDisk(source, dest, target.datacenter.ref, { signal });
    }
  }

  async #readSmall(target: CacheTarget, path: string, signal: AbortSignal): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let total = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        total += chunk.length;
        // A descriptor is a few hundred bytes; never hold a big file in memory.
        if (total <= 64 * 1024) chunks.push(chunk);
        cb();
      },
    });
    try {
      await this.client.files.download({ datacenter: target.datacenter.name, datastore: target.datastore, path }, sink, { signal });
      return Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      if (err instanceof DatastoreFileNotFoundError) return undefined;
      throw err;
    }
  }

  async #writeSmall(target: CacheTarget, path: string, text: string, signal: AbortSignal): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    await this.client.files.upload({ datacenter: target.datacenter.name, datastore: target.datastore, path }, Readable.from([body]), { size: body.length, signal });
  }
}

/** The capacity (bytes) in a hosted sparse / streamOptimized VMDK header ("KDMV", sectors at offset 12). */
export function sparseCapacity(header: Buffer | undefined): number | undefined {
  if (header === undefined || header.length < 20 || header.toString('latin1', 0, 4) !== 'KDMV') return undefined;
  return Number(header.readBigUInt64LE(12)) * 512;
}
