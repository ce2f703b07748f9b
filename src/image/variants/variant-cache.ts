import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { abortReason, convertImage, type ConvertTarget, type QemuFormat } from '../convert/qemu-img.js';

export interface VariantSource {
  /** The original's store location: variants are named after it, so they die with it. */
  readonly location: string;
  /** A local file holding the original (read in place by qemu-img). */
  readonly path: string;
  readonly format: QemuFormat;
}

export interface Variant {
  readonly path: string;
  readonly size: number;
  /** False when an earlier request had produced it already. */
  readonly created: boolean;
}

/**
 * Per-format variants of stored images, kept next to the originals
 * (`<store>/variants/<location>.<format>[-<subformat>][-<adapter>]`), produced once with
 * qemu-img and reused by every later request. Concurrent requests for the same variant
 * share one conversion; a caller giving up does not cancel it for the others. The store
 * removes an original's variants with it.
 */
export class VariantCache {
  readonly #dir: string;
  readonly #qemuImg: string | undefined;
  readonly #inflight = new Map<string, Promise<Variant>>();

  constructor(dir: string, options: { qemuImg?: string } = {}) {
    this.#dir = dir;
    this.#qemuImg = options.qemuImg;
  }

  get directory(): string {
    return this.#dir;
  }

  static fileName(location: string, target: ConvertTarget): string {
    const parts: string[] = [target.format];
    if (target.format === 'vmdk') parts.push(target.subformat ?? 'streamOptimized', target.adapterType ?? 'lsiLogic');
    return `${location}.${parts.join('-')}`;
  }

  async ensure(source: VariantSource, target: ConvertTarget, signal: AbortSignal): Promise<Variant> {
    const path = join(this.#dir, VariantCache.fileName(source.location, target));
    const existing = await stat(path).catch(() => undefined);
    if (existing) return { path, size: existing.size, created: false };
    let job = this.#inflight.get(path);
    if (!job) {
      job = this.#produce(source, target, path).finally(() => this.#inflight.delete(path));
      this.#inflight.set(path, job);
    }
    return abortable(job, signal);
  }

  async #produce(source: VariantSource, target: ConvertTarget, path: string): Promise<Variant> {
    await mkdir(this.#dir, { recursive: true });
    await convertImage({
      source: source.path,
      sourceFormat: source.format,
      destination: path,
      target,
      // Shared by every waiter: only a process shutdown stops it (within an hour at most).
      signal: AbortSignal.timeout(3_600_000),
      ...(this.#qemuImg === undefined ? {} : { qemuImg: this.#qemuImg }),
    });
    const s = await stat(path);
    return { path, size: s.size, created: true };
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
