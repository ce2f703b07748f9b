import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DriverError } from '../driver.js';
import type { LibvirtContext } from './context.js';

/**
 * A resize or cold migration keeps the source's instance folder, renamed `<uuid>_resize`
 * (Nova's name), until it is confirmed: it is the instance's disk until then, and what a
 * revert brings back. The manifest inside it (`move.json`, written before the rename, so a
 * kept folder always has one) says where the move goes; the destination reads it to find
 * and check the disks it takes.
 */
export const KEPT_SUFFIX = '_resize';
export const MANIFEST = 'move.json';

export interface MoveManifest {
  readonly uuid: string;
  readonly sourceHost: string;
  readonly sourceInstancesPath: string;
  readonly destHost: string;
  readonly destNode: string;
  /** Whether the guest ran (or was paused) when the move began (for operators reading the folder). */
  readonly wasRunning: boolean;
}

/** `<instances_path>/<uuid>_resize` under the given instances path. */
export function keptDir(instancesPath: string, uuid: string): string {
  return join(instancesPath, `${uuid}${KEPT_SUFFIX}`);
}

export function ownKeptDir(ctx: LibvirtContext, uuid: string): string {
  return keptDir(ctx.options.instancesPath, uuid);
}

/** Writes the manifest into `dir` (temporary name, then renamed: never half a file). */
export async function writeManifest(dir: string, manifest: MoveManifest): Promise<void> {
  const part = join(dir, `.${MANIFEST}.${randomUUID()}`);
  await writeFile(part, JSON.stringify(manifest, null, 2));
  await rename(part, join(dir, MANIFEST));
}

/** The manifest of a kept folder, undefined when there is none; a malformed one is an error naming the file. */
export async function readManifest(dir: string): Promise<MoveManifest | undefined> {
  const path = join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new DriverError('migration_source_unreadable', `${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const v = JSON.parse(text) as Record<string, unknown>;
  const str = (k: string): string => {
    const x = v[k];
    if (typeof x !== 'string' || x === '') throw new DriverError('migration_source_unreadable', `${path}: field ${k} is missing`);
    return x;
  };
  return {
    uuid: str('uuid'), sourceHost: str('sourceHost'), sourceInstancesPath: str('sourceInstancesPath'), destHost: str('destHost'),
    destNode: str('destNode'), wasRunning: v['wasRunning'] === true,
  };
}

/**
 * The source's instances path as the instance's driver info tells it: recorded since moves
 * exist (`instancesPath`), else derived from the base image path spawn recorded
 * (`<instances_path>/<cache subdirectory>/<image>`).
 */
export function sourceInstancesPath(driverInfo: Readonly<Record<string, unknown>>): string | undefined {
  const recorded = driverInfo['instancesPath'];
  if (typeof recorded === 'string' && recorded !== '') return recorded;
  const base = driverInfo['base'];
  if (typeof base === 'string' && base.startsWith('/')) return dirname(dirname(base));
  return undefined;
}
