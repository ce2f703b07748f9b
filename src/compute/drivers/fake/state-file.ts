import { mkdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DriverError } from '../driver.js';

/**
 * The fake hypervisor's memory on disk: which instances exist and their power state,
 * so that after a kill -9 the "hypervisor" still knows its VMs, as a real one would.
 * Written atomically (temp file + rename); concurrent saves coalesce into one write of
 * the newest snapshot, and every caller resolves only once a write that includes its
 * change is on disk.
 */
export class StateFile<T> {
  readonly #path: string;
  #writing: Promise<void> | undefined;
  #pending: { snapshot: () => T; waiters: { resolve: () => void; reject: (e: unknown) => void }[] } | undefined;

  constructor(path: string) {
    this.#path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  /** The saved state, or undefined when there is none yet. */
  load(parse: (raw: unknown) => T): T | undefined {
    let text: string;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DriverError('fake_state_unreadable', `cannot read fake hypervisor state ${this.#path}: ${String(err)}`, { cause: err });
    }
    try {
      return parse(JSON.parse(text));
    } catch (err) {
      throw new DriverError('fake_state_corrupt', `fake hypervisor state ${this.#path} is not valid: ${String(err)}`, { cause: err });
    }
  }

  /** Saves what `snapshot()` returns when the write starts (so later changes ride along). */
  save(snapshot: () => T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending ??= { snapshot, waiters: [] };
      this.#pending.snapshot = snapshot;
      this.#pending.waiters.push({ resolve, reject });
      if (!this.#writing) this.#writing = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending) {
      const { snapshot, waiters } = this.#pending;
      this.#pending = undefined;
      const tmp = `${this.#path}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(snapshot()));
        await rename(tmp, this.#path);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(new DriverError('fake_state_write_failed', `cannot save fake hypervisor state: ${String(err)}`, { cause: err }));
      }
    }
    this.#writing = undefined;
  }
}
