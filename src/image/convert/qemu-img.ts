import { spawn } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { PolyvisorError } from '../../errors.js';

/** Formats qemu-img reads and writes for us; a flat VMDK extent and an ISO are read as raw. */
export type QemuFormat = 'raw' | 'qcow2' | 'vmdk';
export type VmdkSubformat = 'streamOptimized' | 'monolithicSparse';

export interface ConvertTarget {
  readonly format: QemuFormat;
  /** VMDK only: streamOptimized (compact, what vSphere imports) or monolithicSparse. */
  readonly subformat?: VmdkSubformat;
  /** VMDK only: the vmware_adaptertype to write as ddb.adapterType. */
  readonly adapterType?: string;
}

export interface ConvertOptions {
  readonly source: string;
  /** Always given explicitly: letting qemu-img probe a format is how a raw image turns into a qcow2 with a host backing file. */
  readonly sourceFormat: QemuFormat;
  readonly destination: string;
  readonly target: ConvertTarget;
  readonly signal: AbortSignal;
  /** Fraction done (0..1), from qemu-img's own progress output. */
  readonly onProgress?: (fraction: number) => void;
  readonly qemuImg?: string;
}

/** qemu-img names SCSI flavours it cannot write by the closest it can: any SCSI boots as lsilogic. */
const QEMU_ADAPTERS: Readonly<Record<string, string>> = {
  ide: 'ide',
  lsiLogic: 'lsilogic',
  busLogic: 'buslogic',
  lsiLogicsas: 'lsilogic',
  paraVirtual: 'lsilogic',
};

export function qemuImgArgs(o: Pick<ConvertOptions, 'source' | 'sourceFormat' | 'destination' | 'target'>, progress: boolean): string[] {
  const args = ['convert', ...(progress ? ['-p'] : []), '-f', o.sourceFormat, '-O', o.target.format];
  const opts: string[] = [];
  if (o.target.format === 'vmdk') {
    opts.push(`subformat=${o.target.subformat ?? 'streamOptimized'}`);
    const adapter = o.target.adapterType === undefined ? undefined : QEMU_ADAPTERS[o.target.adapterType];
    if (adapter !== undefined) opts.push(`adapter_type=${adapter}`);
  }
  if (o.target.format === 'qcow2') opts.push('compat=1.1');
  if (opts.length > 0) args.push('-o', opts.join(','));
  args.push(o.source, o.destination);
  return args;
}

/**
 * Converts one image file with qemu-img into `destination`, atomically: the output is
 * written beside it under a temporary name and renamed only when qemu-img succeeded, so a
 * reader never sees half a variant. The input is read in place (no copy).
 */
export async function convertImage(o: ConvertOptions): Promise<void> {
  o.signal.throwIfAborted();
  const temp = `${o.destination}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const args = qemuImgArgs({ ...o, destination: temp }, o.onProgress !== undefined);
  try {
    await run(o.qemuImg ?? 'qemu-img', args, o.signal, o.onProgress);
    await rename(temp, o.destination);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

function run(command: string, args: readonly string[], signal: AbortSignal, onProgress?: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.stdout.on('data', (d: Buffer) => {
      // "    (42.17/100%)\r" — the last number in the chunk is the newest.
      const all = [...d.toString().matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
      const last = all[all.length - 1]?.[1];
      if (last !== undefined && onProgress) onProgress(Math.min(1, Number(last) / 100));
    });
    child.once('error', (err) => {
      reject(
        signal.aborted
          ? abortReason(signal)
          : new PolyvisorError('image_conversion_failed', `qemu-img could not be run (${err.message}); install qemu-utils.`, { cause: err }),
      );
    });
    child.once('close', (code) => {
      if (code === 0) resolve();
      else if (!signal.aborted) {
        reject(new PolyvisorError('image_conversion_failed', `qemu-img ${args.slice(0, 6).join(' ')} failed (exit ${code}): ${stderr.trim() || 'no message'}`, { retryable: false }));
      }
    });
  });
}

export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error('The operation was aborted.');
}
