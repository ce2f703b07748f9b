import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageSource } from '../../src/compute/drivers/driver.js';

const SCRIPT = resolve(fileURLToPath(import.meta.url), '../../../scripts/build-test-guest.sh');

/** The line the guest's init prints on its serial console, followed by its boot id. */
export const GUEST_MARKER = 'POLYVISOR-GUEST-BOOTED';

/** Builds (once per machine, cached in the temp dir) the tiny bootable guest disk; returns its path. */
export async function buildTestGuest(): Promise<string> {
  const out = join(tmpdir(), 'polyvisor-test-guest', 'guest-v4.raw');
  await new Promise<void>((res, rej) => {
    execFile(SCRIPT, [out], (err, _o, stderr) => (err === null ? res() : rej(new Error(`build-test-guest: ${stderr || err.message}`))));
  });
  return out;
}

/** The guest disk as an image the driver boots (raw, read from the file). */
export async function testGuestImage(path: string, properties: Record<string, string> = {}): Promise<ImageSource> {
  const size = (await stat(path)).size;
  return {
    id: randomUUID(), name: 'polyvisor-test-guest', diskFormat: 'raw', containerFormat: 'bare', size, virtualSize: size, properties,
    open: (_format, signal) => {
      signal.throwIfAborted();
      return Promise.resolve(createReadStream(path, { signal }));
    },
  };
}

/** The boot ids the guest has printed on a console log, oldest first (one per boot). */
export async function bootIds(consoleLog: string): Promise<string[]> {
  const text = await readFile(consoleLog, 'latin1').catch(() => '');
  return [...text.matchAll(new RegExp(`${GUEST_MARKER} ([0-9a-f-]+)`, 'g'))].map((m) => m[1] ?? '');
}

/**
 * Resolves with the boot ids once the console log shows `count` boots; woken by changes to
 * the log's folder (QEMU appends to the file), with a slow re-check in case a change is missed.
 */
export async function waitForBoots(consoleLog: string, count: number, timeoutMs = 120_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((res, rej) => {
    let done = false;
    const watcher = watch(dirname(consoleLog), () => void check());
    const timer = setInterval(() => void check(), 1000);
    const finish = (err: Error | null, ids?: string[]): void => {
      if (done) return;
      done = true;
      watcher.close();
      clearInterval(timer);
      if (err !== null) rej(err);
      else res(ids ?? []);
    };
    const check = async (): Promise<void> => {
      const ids = await bootIds(consoleLog);
      if (ids.length >= count) finish(null, ids);
      else if (Date.now() > deadline) finish(new Error(`the guest printed ${ids.length} of ${count} boot markers on ${consoleLog} within ${timeoutMs} ms`));
    };
    void check();
  });
}
