import { join } from 'node:path';
import { silentLogger, type Logger } from '../../../log.js';
import {
  DriverError,
  type ComputeDriver, type DriverCapabilities, type ImageCacheAgeingReport, type ImageSource, type InstanceRef, type InstanceSpec,
  type InstanceDiagnostics, type InstanceState, type MigrationTarget, type NodeResources, type SnapshotData, type SpawnHooks, type SpawnResult, type VncConsole,
} from '../driver.js';
import type { FlavorSnapshot } from '../../states.js';
import { isLinuxBridge, type LibvirtDriverOptions } from './config.js';
import { ageImageCache } from './cache-ageing.js';
import { getSerialConsole, getVncConsole } from './console.js';
import type { LibvirtContext } from './context.js';
import { destroy } from './destroy.js';
import { getDiagnostics } from './diagnostics.js';
import { listInstanceStates } from './domain-state.js';
import { ImageCache } from './image-cache.js';
import { finishMigration } from './finish-migration.js';
import { instanceState } from './lookup.js';
import * as moves from './moves.js';
import * as power from './power.js';
import { HYPERVISOR_TYPE, hypervisorVersion, nodeResources } from './resources.js';
import { SerialPortAllocator } from './serial-console.js';
import { consoleOutput, injectNmi, snapshot } from './snapshot.js';
import { spawn } from './spawn.js';
import { checkInstancesPath, checkVirtType, connectError } from './startup-checks.js';
import { Virsh } from './virsh.js';

/**
 * `libvirt.LibvirtDriver`: this host (a libvirtd with QEMU) is one compute node. Delegates
 * each operation to its module; holds only the connection and what those modules share.
 */
export class LibvirtDriver implements ComputeDriver {
  readonly type = HYPERVISOR_TYPE;
  readonly capabilities: DriverCapabilities = { supportsPause: true, supportsSuspend: true, diskFormats: ['qcow2', 'raw'] };
  readonly #options: LibvirtDriverOptions;
  readonly #log: Logger;
  #ctx: LibvirtContext | undefined;
  #version = '0';

  constructor(options: LibvirtDriverOptions, logger: Logger = silentLogger) {
    this.#options = options;
    this.#log = logger.child({ component: 'libvirt-driver' });
  }

  /** The libvirt connection (benchmarks read its call counter). */
  get virsh(): Virsh {
    return this.#context().virsh;
  }

  async init(signal: AbortSignal): Promise<void> {
    const o = this.#options;
    await checkInstancesPath(o);
    const virsh = new Virsh(o.connectionUri, o.virshPath, o.observeCalls);
    try {
      this.#version = await hypervisorVersion(virsh, signal);
    } catch (err) {
      throw connectError(err, o.connectionUri);
    }
    await checkVirtType(virsh, o, signal);
    const bridge = isLinuxBridge(o.bridge) ? o.bridge : null;
    this.#ctx = {
      virsh, options: o, log: this.#log, bridge, waitSoftRebootSeconds: o.waitSoftRebootSeconds,
      cache: new ImageCache(join(o.instancesPath, o.cacheSubdirectory)),
      ...(o.serialConsole === undefined ? {} : { serialPorts: new SerialPortAllocator(o.serialConsole) }),
    };
    this.#log.info({ uri: o.connectionUri, qemu: this.#version, virtType: o.virtType, network: bridge ?? 'user' }, 'libvirt driver ready');
  }

  async listNodes(signal: AbortSignal): Promise<NodeResources[]> {
    return [await nodeResources(this.#context(), this.#version, signal)];
  }

  spawn(instance: InstanceSpec, image: ImageSource, signal: AbortSignal, hooks?: SpawnHooks): Promise<SpawnResult> {
    return spawn(this.#context(), instance, image, signal, hooks);
  }

  destroy(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return destroy(this.#context(), instance, signal);
  }

  powerOff(instance: InstanceRef, options: { timeoutSeconds: number }, signal: AbortSignal): Promise<void> {
    return power.powerOff(this.#context(), instance, options.timeoutSeconds, signal);
  }

  powerOn(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return power.powerOn(this.#context(), instance, signal);
  }

  reboot(instance: InstanceRef, kind: 'SOFT' | 'HARD', signal: AbortSignal): Promise<void> {
    return power.reboot(this.#context(), instance, kind, signal);
  }

  suspend(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return power.suspend(this.#context(), instance, signal);
  }

  resume(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return power.resume(this.#context(), instance, signal);
  }

  pause(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return power.pause(this.#context(), instance, signal);
  }

  unpause(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return power.unpause(this.#context(), instance, signal);
  }

  getInstanceState(instance: InstanceRef, signal: AbortSignal): Promise<InstanceState> {
    return instanceState(this.#context(), instance, signal);
  }

  listInstanceStates(signal: AbortSignal): Promise<Map<string, InstanceState>> {
    return listInstanceStates(this.#context().virsh, signal);
  }

  ageImageCache(signal: AbortSignal): Promise<ImageCacheAgeingReport> {
    return ageImageCache(this.#context(), signal);
  }

  /** createImage / createBackup / shelve: the root disk flattened to qcow2 (rescue and passwords are not offered yet: no guest agent). */
  snapshot(instance: InstanceRef, signal: AbortSignal): Promise<SnapshotData> {
    return snapshot(this.#context(), instance, signal);
  }

  getConsoleOutput(instance: InstanceRef, signal: AbortSignal): Promise<string> {
    return consoleOutput(this.#context(), instance, signal);
  }

  triggerCrashDump(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return injectNmi(this.#context(), instance, signal);
  }

  getVncConsole(instance: InstanceRef, signal: AbortSignal): Promise<VncConsole> {
    return getVncConsole(this.#context(), instance, signal);
  }

  /** os-getSerialConsole: serial port 0's TCP endpoint, read from the live domain XML. */
  getSerialConsole(instance: InstanceRef, signal: AbortSignal): Promise<{ host: string; port: number }> {
    return getSerialConsole(this.#context(), instance, signal);
  }

  getDiagnostics(instance: InstanceRef, signal: AbortSignal): Promise<InstanceDiagnostics> {
    return getDiagnostics(this.#context(), instance, signal);
  }

  /** Resize / cold migration, source side: powered off, folder kept as `<uuid>_resize` (moves.ts). */
  migrateDiskAndPowerOff(instance: InstanceRef, dest: MigrationTarget, flavor: FlavorSnapshot, signal: AbortSignal): Promise<void> {
    return moves.migrateDiskAndPowerOff(this.#context(), instance, dest, flavor, signal);
  }

  /** Resize / cold migration, destination side: the kept disks with the new flavor (finish-migration.ts). */
  finishMigration(instance: InstanceSpec, image: ImageSource, options: { powerOn: boolean }, signal: AbortSignal): Promise<SpawnResult> {
    return finishMigration(this.#context(), instance, image, options, signal);
  }

  confirmMigration(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return moves.confirmMigration(this.#context(), instance, signal);
  }

  finishRevertMigration(instance: InstanceRef, options: { powerOn: boolean }, signal: AbortSignal): Promise<void> {
    return moves.finishRevertMigration(this.#context(), instance, options, signal);
  }

  close(): Promise<void> {
    // virsh holds no connection between calls: nothing to close.
    this.#ctx = undefined;
    return Promise.resolve();
  }

  #context(): LibvirtContext {
    if (this.#ctx === undefined) throw new DriverError('driver_not_ready', 'the libvirt driver is not connected: call init() first');
    return this.#ctx;
  }
}
