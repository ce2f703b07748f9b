import { setTimeout as sleep } from 'node:timers/promises';
import { PowerState } from '../../states.js';
import {
  DriverError,
  InstanceNotFoundError,
  type ComputeDriver,
  type DriverCapabilities,
  type ImageSource,
  type InstanceRef,
  type InstanceSpec,
  type InstanceState,
  type NodeResources,
  type SpawnResult,
} from '../driver.js';
import { Injections, type FakeFailure, type FakeOperation } from './injections.js';
import { StateFile } from './state-file.js';

/**
 * Options of the fake driver: the `[fake]` section of the configuration plus
 * - host: the compute service's host ([DEFAULT] host); node names are `<host>-fake-<n>`,
 * - statePath: a JSON file that keeps the fake hypervisor's VMs across restarts (optional;
 *   without it the hypervisor forgets everything when the process ends, fine for unit tests),
 * - hostIp: reported as each node's host_ip (default 127.0.0.1).
 */
export interface FakeDriverOptions {
  readonly nodes: number;
  readonly vcpus: number;
  readonly memory_mb: number;
  readonly local_gb: number;
  readonly hypervisor_type: string;
  readonly spawn_delay_ms: number;
  readonly operation_delay_ms: number;
  readonly host: string;
  readonly statePath?: string;
  readonly hostIp?: string;
}

/** One VM on the fake hypervisor. */
export interface FakeVm {
  readonly uuid: string;
  readonly node: string;
  readonly name: string;
  powerState: PowerState;
}

interface SavedState {
  readonly version: 1;
  readonly vms: readonly FakeVm[];
}

const POWER_STATES: readonly number[] = Object.values(PowerState);

function parseState(raw: unknown): SavedState {
  if (!raw || typeof raw !== 'object' || !('vms' in raw) || !Array.isArray(raw.vms)) throw new Error('expected {"vms": [...]}');
  const vms = (raw.vms as unknown[]).map((v, i): FakeVm => {
    const o = v as Record<string, unknown>;
    if (typeof o['uuid'] !== 'string' || typeof o['node'] !== 'string' || typeof o['name'] !== 'string' || !POWER_STATES.includes(o['powerState'] as number)) {
      throw new Error(`vms[${i}] is malformed`);
    }
    return { uuid: o['uuid'], node: o['node'], name: o['name'], powerState: o['powerState'] as PowerState };
  });
  return { version: 1, vms };
}

/**
 * An in-memory hypervisor for tests and demos: configurable nodes, a delay per operation,
 * and failure injection (`inject`). Behaves as the driver contract says: spawn leaves a
 * running VM or nothing, destroy of a missing VM succeeds, power operations are idempotent.
 */
export class FakeDriver implements ComputeDriver {
  readonly type: string;
  readonly capabilities: DriverCapabilities = { supportsPause: true, supportsSuspend: true, diskFormats: ['raw', 'qcow2', 'vmdk'] };
  readonly #opts: FakeDriverOptions;
  readonly #vms = new Map<string, FakeVm>();
  readonly #injections = new Injections();
  readonly #file: StateFile<SavedState> | undefined;
  readonly #nodeNames: readonly string[];
  readonly #bootTime = new Date().toISOString();

  constructor(options: FakeDriverOptions) {
    this.#opts = options;
    this.type = options.hypervisor_type;
    this.#nodeNames = Array.from({ length: options.nodes }, (_, i) => `${options.host}-fake-${i + 1}`);
    if (options.statePath !== undefined) {
      this.#file = new StateFile(options.statePath);
      for (const vm of this.#file.load(parseState)?.vms ?? []) this.#vms.set(vm.uuid, { ...vm });
    }
  }

  /** Makes matching calls fail (see FakeFailure); for tests. */
  inject(failure: FakeFailure): void {
    this.#injections.add(failure);
  }

  clearInjections(): void {
    this.#injections.clear();
  }

  /** The VMs the hypervisor knows, for tests' assertions. */
  vms(): FakeVm[] {
    return [...this.#vms.values()].map((vm) => ({ ...vm }));
  }

  /** Changes a VM's power state behind Polyvisor's back (a guest shutting itself down); for tests. */
  async setPowerState(uuid: string, state: PowerState): Promise<void> {
    this.#vm(uuid).powerState = state;
    await this.#save();
  }

  get nodeNames(): readonly string[] {
    return this.#nodeNames;
  }

  async init(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.#injections.check('init');
  }

  async listNodes(signal: AbortSignal): Promise<NodeResources[]> {
    signal.throwIfAborted();
    this.#injections.check('listNodes');
    return this.#nodeNames.map((nodename) => ({
      nodename,
      hypervisorType: this.type,
      // Nova's fake driver reports version 1000 (shown as 0.0.1000... by convert_version_to_str).
      hypervisorVersion: 1000,
      hostIp: this.#opts.hostIp ?? '127.0.0.1',
      vcpus: this.#opts.vcpus,
      memoryMb: this.#opts.memory_mb,
      localGb: this.#opts.local_gb,
      cpuInfo: { arch: 'x86_64', model: 'fake', vendor: 'fake', topology: { sockets: 1, cores: this.#opts.vcpus, threads: 1 }, features: [] },
      capabilities: { architecture: 'x86_64', hypervisor_type: this.type },
      // A fake host "booted" when its driver was created.
      bootTime: this.#bootTime,
    }));
  }

  async spawn(instance: InstanceSpec, _image: ImageSource, signal: AbortSignal): Promise<SpawnResult> {
    if (!this.#nodeNames.includes(instance.node)) {
      throw new DriverError('node_not_found', `fake node ${instance.node} is not served by host ${this.#opts.host}`);
    }
    await this.#delay(this.#opts.spawn_delay_ms, signal);
    // Fails before creating anything: a failed spawn leaves nothing behind.
    this.#injections.check('spawn', { node: instance.node, uuid: instance.uuid });
    const existing = this.#vms.get(instance.uuid);
    if (existing) existing.powerState = PowerState.RUNNING; // a re-run spawn (after a restart) is idempotent
    else this.#vms.set(instance.uuid, { uuid: instance.uuid, node: instance.node, name: instance.name, powerState: PowerState.RUNNING });
    await this.#save();
    return { driverInfo: { fake_node: instance.node } };
  }

  async destroy(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#op('destroy', instance, signal);
    if (this.#vms.delete(instance.uuid)) await this.#save();
  }

  async powerOff(instance: InstanceRef, _options: { timeoutSeconds: number }, signal: AbortSignal): Promise<void> {
    await this.#power('powerOff', instance, PowerState.SHUTDOWN, signal);
  }

  async powerOn(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#power('powerOn', instance, PowerState.RUNNING, signal);
  }

  async reboot(instance: InstanceRef, _kind: 'SOFT' | 'HARD', signal: AbortSignal): Promise<void> {
    await this.#power('reboot', instance, PowerState.RUNNING, signal);
  }

  async suspend(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#power('suspend', instance, PowerState.SUSPENDED, signal);
  }

  async resume(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#power('resume', instance, PowerState.RUNNING, signal);
  }

  async pause(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#power('pause', instance, PowerState.PAUSED, signal);
  }

  async unpause(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#power('unpause', instance, PowerState.RUNNING, signal);
  }

  async getInstanceState(instance: InstanceRef, signal: AbortSignal): Promise<InstanceState> {
    signal.throwIfAborted();
    const vm = this.#vms.get(instance.uuid);
    return vm ? { exists: true, powerState: vm.powerState } : { exists: false, powerState: PowerState.NOSTATE };
  }

  async listInstanceStates(signal: AbortSignal): Promise<Map<string, InstanceState>> {
    signal.throwIfAborted();
    this.#injections.check('listInstanceStates');
    return new Map([...this.#vms.values()].map((vm) => [vm.uuid, { exists: true, powerState: vm.powerState }]));
  }

  async close(): Promise<void> {
    // Nothing to release: the state file is written before every operation returns.
  }

  async #power(op: FakeOperation, instance: InstanceRef, to: PowerState, signal: AbortSignal): Promise<void> {
    await this.#op(op, instance, signal);
    const vm = this.#vm(instance.uuid);
    if (vm.powerState === to) return;
    vm.powerState = to;
    await this.#save();
  }

  async #op(op: FakeOperation, instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#delay(this.#opts.operation_delay_ms, signal);
    this.#injections.check(op, { node: instance.node, uuid: instance.uuid });
  }

  #vm(uuid: string): FakeVm {
    const vm = this.#vms.get(uuid);
    if (!vm) throw new InstanceNotFoundError(uuid);
    return vm;
  }

  async #delay(ms: number, signal: AbortSignal): Promise<void> {
    try {
      if (ms > 0) await sleep(ms, undefined, { signal });
      else signal.throwIfAborted();
    } catch (err) {
      throw new DriverError('aborted', 'the operation was aborted', { cause: err });
    }
  }

  async #save(): Promise<void> {
    if (!this.#file) return;
    await this.#file.save(() => ({ version: 1, vms: [...this.#vms.values()] }));
  }
}
