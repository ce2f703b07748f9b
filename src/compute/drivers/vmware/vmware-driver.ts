import { Client } from '../../../vsphere/index.js';
import { silentLogger, type Logger } from '../../../log.js';
import {
  DriverError, UnsupportedOperationError,
  type ComputeDriver, type DriverCapabilities, type ImageCacheAgeingReport, type ImageSource, type InstanceRef, type InstanceSpec,
  type InstanceState, type MigrationTarget, type NodeResources, type SnapshotData, type SpawnHooks, type SpawnResult, type VncConsole,
} from '../driver.js';
import { PowerState, type FlavorSnapshot } from '../../states.js';
import { ageImageCache } from './cache-ageing.js';
import { vmwareUrl, type VmwareDriverOptions } from './config.js';
import { getVncConsole } from './console.js';
import type { VmwareContext } from './context.js';
import { destroy } from './destroy.js';
import { ImageCache } from './image-cache.js';
import * as moves from './moves.js';
import * as power from './power.js';
import { listInstanceStates, powerStateOf, startupScan } from './power-sync.js';
import { ProjectFolders } from './project-folder.js';
import { HYPERVISOR_TYPE, nodeResources } from './resources.js';
import { snapshot } from './snapshot.js';
import { spawn } from './spawn.js';
import { checkDatastores, checkPrivileges, checkVersion, connectError, selectTargets } from './startup-checks.js';
import { readTopology, type ComputeTarget } from './topology.js';
import { findVm } from './vm-lookup.js';
import { VlanPortGroups } from './vlan-port-groups.js';
import { VncPortAllocator } from './vnc-ports.js';

/**
 * `vmwareapi.VMwareVCDriver`: each configured vCenter cluster is one compute node (or,
 * against a standalone ESXi host, the host is). Delegates each operation to its module;
 * holds only the connection and the state those modules share.
 */
export class VmwareDriver implements ComputeDriver {
  readonly type = HYPERVISOR_TYPE;
  readonly capabilities: DriverCapabilities = { supportsPause: false, supportsSuspend: true, diskFormats: ['vmdk', 'raw', 'iso'] };
  readonly #options: VmwareDriverOptions;
  readonly #log: Logger;
  readonly #baseLog: Logger;
  #ctx: VmwareContext | undefined;
  #targets = new Map<string, ComputeTarget>();

  constructor(options: VmwareDriverOptions, logger: Logger = silentLogger) {
    this.#options = options;
    this.#baseLog = logger;
    this.#log = logger.child({ component: 'vmware-driver' });
  }

  /** The vSphere client (benchmarks read its call counter). */
  get client(): Client {
    return this.#context().client;
  }

  async init(signal: AbortSignal): Promise<void> {
    const o = this.#options;
    let client: Client;
    try {
      client = await Client.connect({
        url: vmwareUrl(o), username: o.username, password: o.password, insecure: o.insecure, logger: this.#baseLog, retryCount: o.apiRetryCount,
        ...(o.caFile === undefined ? {} : { caFile: o.caFile }),
        ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      }, signal);
    } catch (err) {
      throw connectError(err, o);
    }
    try {
      checkVersion(client);
      const targets = await this.#readTargets(client, signal);
      checkDatastores(targets, o.datastoreRegex);
      await checkPrivileges(client, targets, signal);
      const base = { client, options: o, log: this.#log };
      const scan = await startupScan(base, signal);
      const ctx: VmwareContext = {
        ...base,
        existingAtStart: scan.ours,
        cache: new ImageCache(client, o.cacheFolder, this.#log, Math.min(600_000, (o.removeUnusedMinimumAgeSeconds * 1000) / 2), o.cacheLockTimeoutMs),
        folders: new ProjectFolders(client),
        vnc: new VncPortAllocator(o.vncPort, o.vncPortTotal),
        vlans: new VlanPortGroups(client, o.vlanInterface),
        target: (nodename) => {
          const t = this.#targets.get(nodename);
          if (t === undefined) throw new DriverError('node_not_found', `node ${nodename} is not served by this VMware driver (it serves ${[...this.#targets.keys()].join(', ')})`);
          return t;
        },
      };
      ctx.vnc.markUsed(scan.ports);
      this.#ctx = ctx;
      this.#log.info({ nodes: [...this.#targets.keys()], version: client.content.about.version }, 'VMware driver ready');
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err instanceof DriverError ? err : connectError(err, o);
    }
  }

  async #readTargets(client: Client, signal: AbortSignal): Promise<ComputeTarget[]> {
    const about = client.content.about;
    const topology = await readTopology(client, about.instanceUuid ?? this.#options.hostIp, { signal, maxObjects: this.#options.maximumObjects });
    const targets = selectTargets(client, topology, this.#options);
    this.#targets = new Map(targets.map((t) => [t.nodename, t]));
    return targets;
  }

  async listNodes(signal: AbortSignal): Promise<NodeResources[]> {
    const ctx = this.#context();
    const targets = await this.#readTargets(ctx.client, signal);
    const version = ctx.client.content.about.version;
    return targets.map((t) => nodeResources(t, { version, hostIp: this.#options.myIp, regex: this.#options.datastoreRegex }));
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

  /** vSphere has no pause: the API answers 409 from this error's code. */
  pause(): Promise<void> {
    return Promise.reject(new UnsupportedOperationError('pause', 'VMware vCenter'));
  }

  unpause(): Promise<void> {
    return Promise.reject(new UnsupportedOperationError('unpause', 'VMware vCenter'));
  }

  async getInstanceState(instance: InstanceRef, signal: AbortSignal): Promise<InstanceState> {
    const ctx = this.#context();
    const vm = await findVm(ctx, instance, signal);
    if (vm === undefined) return { exists: false, powerState: PowerState.NOSTATE };
    try {
      const state = await vm.powerState({ signal });
      return state === undefined ? { exists: false, powerState: PowerState.NOSTATE } : { exists: true, powerState: powerStateOf(state) };
    } catch (err) {
      if (err instanceof Error && 'faultType' in err && err.faultType === 'ManagedObjectNotFound') return { exists: false, powerState: PowerState.NOSTATE };
      throw err;
    }
  }

  listInstanceStates(signal: AbortSignal): Promise<Map<string, InstanceState>> {
    return listInstanceStates(this.#context(), signal);
  }

  /** createImage / createBackup / shelve: the root disk through a vSphere snapshot and a disk copy (snapshot.ts). */
  snapshot(instance: InstanceRef, signal: AbortSignal): Promise<SnapshotData> {
    return snapshot(this.#context(), instance, signal);
  }

  /** Resize / cold migration, source side: refuses a smaller disk, powers off, applies the flavor (moves.ts). */
  migrateDiskAndPowerOff(instance: InstanceRef, dest: MigrationTarget, flavor: FlavorSnapshot, signal: AbortSignal): Promise<void> {
    return moves.migrateDiskAndPowerOff(this.#context(), instance, dest, flavor, signal);
  }

  /** Destination side: relocates the VM into this node's cluster if needed, powers it on. The image is not needed: the VM moves. */
  finishMigration(instance: InstanceSpec, _image: ImageSource, options: { powerOn: boolean }, signal: AbortSignal): Promise<SpawnResult> {
    return moves.finishMigration(this.#context(), instance, options, signal);
  }

  confirmMigration(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    return moves.confirmMigration(this.#context(), instance, signal);
  }

  finishRevertMigration(instance: InstanceRef, options: { powerOn: boolean }, signal: AbortSignal): Promise<void> {
    return moves.finishRevertMigration(this.#context(), instance, options, signal);
  }

  /** vMotion to another cluster of this vCenter. */
  liveMigrate(instance: InstanceRef, dest: MigrationTarget, signal: AbortSignal): Promise<void> {
    return moves.liveMigrate(this.#context(), instance, dest, signal);
  }

  postLiveMigrationAtDestination(instance: InstanceSpec, powerState: PowerState, signal: AbortSignal): Promise<SpawnResult> {
    return moves.postLiveMigrationAtDestination(this.#context(), instance, powerState, signal);
  }

  getVncConsole(instance: InstanceRef, signal: AbortSignal): Promise<VncConsole> {
    return getVncConsole(this.#context(), instance, signal);
  }

  ageImageCache(signal: AbortSignal): Promise<ImageCacheAgeingReport> {
    return ageImageCache(this.#context(), [...this.#targets.values()], signal);
  }

  async close(): Promise<void> {
    const ctx = this.#ctx;
    this.#ctx = undefined;
    // Logging out is a courtesy: an unreachable vCenter must not hold up shutdown.
    if (ctx !== undefined) await ctx.client.close(AbortSignal.timeout(5000)).catch((err: unknown) => this.#log.warn({ err }, 'vCenter logout failed'));
  }

  #context(): VmwareContext {
    if (this.#ctx === undefined) throw new DriverError('driver_not_ready', 'the VMware driver is not connected: call init() first');
    return this.#ctx;
  }
}
