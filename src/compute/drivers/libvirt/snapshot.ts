import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PowerState } from '../../states.js';
import { DriverError, type InstanceRef, type SnapshotData } from '../driver.js';
import { instanceDir, type LibvirtContext } from './context.js';
import { domainName } from './domain-xml.js';
import { existingState } from './lookup.js';

function qemuImgConvert(args: readonly string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', ['convert', ...args], { signal, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new DriverError('snapshot_failed', `qemu-img convert: ${stderr.trim() || err.message}`, { cause: err }));
    });
  });
}

/**
 * A cold-consistent snapshot of the instance's root disk: the qcow2 overlay and its base
 * flattened into one standalone qcow2 (`qemu-img convert`), streamed to the image service
 * and removed afterwards. A running guest is paused for the copy (its disk must not change
 * under qemu-img; `-U` reads past QEMU's lock) and resumed, as Nova's cold snapshot does
 * without the managed save.
 */
export async function snapshot(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<SnapshotData> {
  const dir = instanceDir(ctx, instance.uuid);
  const name = domainName(instance.uuid);
  const target = join(dir, `snapshot-${Date.now()}.qcow2`);
  const running = (await existingState(ctx, instance, signal)) === PowerState.RUNNING;
  if (running) await ctx.virsh.run(['suspend', name], signal);
  try {
    await qemuImgConvert(['-U', '-f', 'qcow2', '-O', 'qcow2', join(dir, 'disk'), target], signal);
  } catch (err) {
    await rm(target, { force: true });
    throw err;
  } finally {
    if (running) await ctx.virsh.run(['resume', name], AbortSignal.timeout(60_000));
  }
  return {
    data: createReadStream(target),
    diskFormat: 'qcow2',
    containerFormat: 'bare',
    release: () => rm(target, { force: true }),
  };
}

/** The serial console log libvirt writes for the domain (serial port 0 appends to a file). */
export async function consoleOutput(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<string> {
  signal.throwIfAborted();
  try {
    return await readFile(join(instanceDir(ctx, instance.uuid), 'console.log'), 'utf8');
  } catch (err) {
    throw new DriverError('console_unavailable', `instance ${instance.uuid} has no console log yet`, { cause: err });
  }
}

/** trigger_crash_dump: an NMI into the running guest (`virsh inject-nmi`); a guest configured for kdump dumps its memory. */
export async function injectNmi(ctx: LibvirtContext, instance: InstanceRef, signal: AbortSignal): Promise<void> {
  if ((await existingState(ctx, instance, signal)) !== PowerState.RUNNING) {
    throw new DriverError('instance_not_running', `instance ${instance.uuid} is not running: no NMI can be injected`);
  }
  await ctx.virsh.run(['inject-nmi', domainName(instance.uuid)], signal);
}
