import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { DriverError } from '../driver.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * A flavor's extra disks, as Nova's libvirt driver builds them: an ephemeral disk of
 * ephemeral_gb (ext4, label `ephemeral0`: Nova's default file system for Linux guests when
 * [DEFAULT] default_ephemeral_format is unset) and a swap disk of `swap` MB (mkswap).
 * Each has one formatted raw base in the image cache per size (`ephemeral_<GB>_ext4`,
 * `swap_<MB>`), shared by qcow2 overlays `disk.local` and `disk.swap` in the instance folder,
 * attached as the next virtio disks (vdb, vdc) after the root disk.
 */
export interface BlankDisk {
  /** The cache file name (also the key that makes one base per kind and size). */
  readonly baseName: string;
  /** The instance's overlay file name. */
  readonly file: 'disk.local' | 'disk.swap';
  readonly sizeBytes: number;
  /** Formats a zero-filled raw file of sizeBytes. */
  format(path: string, signal: AbortSignal): Promise<void>;
}

function run(command: string, args: readonly string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { signal, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new DriverError('disk_error', `${command}: ${stderr.trim() || err.message}`, { cause: err }));
    });
  });
}

/** A sparse raw file of `sizeBytes` (written exclusively: a crash leaves a temporary name, never a half base). */
export async function createSparseFile(path: string, sizeBytes: number): Promise<void> {
  const f = await open(path, 'wx');
  try {
    await f.truncate(sizeBytes);
  } finally {
    await f.close();
  }
}

/** The flavor's ephemeral and swap disks, in device order (none when both are 0). */
export function blankDisksOf(flavor: { readonly ephemeral_gb: number; readonly swap: number }): BlankDisk[] {
  const disks: BlankDisk[] = [];
  if (flavor.ephemeral_gb > 0) {
    disks.push({
      baseName: `ephemeral_${flavor.ephemeral_gb}_ext4`,
      file: 'disk.local',
      sizeBytes: flavor.ephemeral_gb * GiB,
      // -F: a regular file, not a block device; lazy inode tables keep it fast and sparse.
      format: (path, signal) => run('mkfs.ext4', ['-F', '-q', '-L', 'ephemeral0', '-E', 'lazy_itable_init=1,lazy_journal_init=1', path], signal),
    });
  }
  if (flavor.swap > 0) {
    disks.push({
      baseName: `swap_${flavor.swap}`,
      file: 'disk.swap',
      sizeBytes: flavor.swap * MiB,
      format: (path, signal) => run('mkswap', ['-L', 'swap0', path], signal),
    });
  }
  return disks;
}

/** virtio device names after the root disk (vda): vdb, vdc, ... */
export function deviceName(index: number): string {
  return `vd${String.fromCharCode('b'.charCodeAt(0) + index)}`;
}
