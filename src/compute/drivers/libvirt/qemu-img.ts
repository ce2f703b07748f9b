import { execFile } from 'node:child_process';
import { DriverError } from '../driver.js';

function run(args: readonly string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', args, { signal, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout);
      else reject(new DriverError('disk_error', `qemu-img ${args[0] ?? ''}: ${stderr.trim() || err.message}`, { cause: err }));
    });
  });
}

export interface DiskInfo {
  readonly format: string;
  readonly virtualSize: number;
  readonly backingFile: string | null;
}

/** What qemu-img reads in a file's header (never trusting the image service's word for it). */
export async function diskInfo(path: string, signal: AbortSignal, options: { forceShare?: boolean } = {}): Promise<DiskInfo> {
  // --force-share (-U) reads the header of a disk a running QEMU holds locked (image-cache ageing does).
  const parsed = JSON.parse(await run(['info', '--output=json', ...(options.forceShare === true ? ['-U'] : []), path], signal)) as Record<string, unknown>;
  const format = parsed['format'];
  const size = parsed['virtual-size'];
  if (typeof format !== 'string' || typeof size !== 'number') throw new DriverError('disk_error', `qemu-img info ${path}: unexpected answer`);
  const backing = parsed['full-backing-filename'] ?? parsed['backing-filename'];
  return { format, virtualSize: size, backingFile: typeof backing === 'string' ? backing : null };
}

/** A qcow2 overlay of `sizeBytes` whose reads fall through to `base` (the KVM linked clone). */
export async function createOverlay(path: string, base: string, baseFormat: string, sizeBytes: number, signal: AbortSignal): Promise<void> {
  await run(['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', base, path, String(sizeBytes)], signal);
}

/** Grows a disk's virtual size (never shrinks: qemu-img refuses a smaller size without --shrink). */
export async function growDisk(path: string, sizeBytes: number, signal: AbortSignal): Promise<void> {
  await run(['resize', '-q', '-f', 'qcow2', path, String(sizeBytes)], signal);
}

/**
 * Points an overlay at another copy of the same base (`rebase -u`: only the header changes,
 * no data is read), as when a migrated overlay meets the destination's image cache.
 */
export async function repointBacking(path: string, base: string, baseFormat: string, signal: AbortSignal): Promise<void> {
  await run(['rebase', '-u', '-f', 'qcow2', '-F', baseFormat, '-b', base, path], signal);
}
