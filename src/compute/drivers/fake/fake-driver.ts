import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { PowerState, type FlavorSnapshot } from '../../states.js';
import {
  DriverError,
  InstanceNotFoundError,
  type ComputeDriver,
  type DriverCapabilities,
  type ImageSource,
  type InstanceDiagnostics,
  type InstanceRef,
  type InstanceSpec,
  type MigrationTarget,
  type InstanceState,
  type NodeResources,
  type SnapshotData,
  type SpawnResult,
  type VncConsole,
} from '../driver.js';
import { Injections, type FakeFailure, type FakeOperation } from './injections.js';
import { StateFile } from './state-file.js';
import { FakeVncServer } from './vnc-server.js';

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
  /** The flavor's vCPUs and memory (for diagnostics); absent in state files of older versions. */
  vcpus?: number;
  memoryMb?: number;
  /** Booted from a rescue image (rescue), until unrescue. */
  rescued?: boolean;
}

interface SavedState {
  readonly version: 1;
  readonly vms: readonly FakeVm[];
  /** Source copies of resized or migrated VMs kept until confirm or revert. */
  readonly resizeSources?: readonly FakeVm[];
}

const POWER_STATES: readonly number[] = Object.values(PowerState);

const DIAGNOSTICS_STATE: Readonly<Record<number, InstanceDiagnostics['state']>> = {
  [PowerState.RUNNING]: 'running',
  [PowerState.PAUSED]: 'paused',
  [PowerState.SHUTDOWN]: 'shutdown',
  [PowerState.CRASHED]: 'crashed',
  [PowerState.SUSPENDED]: 'suspended',
};

function sizeOf(flavor: FlavorSnapshot): { vcpus: number; memoryMb: number } {
  return { vcpus: flavor.vcpus, memoryMb: flavor.memory_mb };
}

function parseVms(list: unknown[], what: string): FakeVm[] {
  return list.map((v, i): FakeVm => {
    const o = v as Record<string, unknown>;
    if (typeof o['uuid'] !== 'string' || typeof o['node'] !== 'string' || typeof o['name'] !== 'string' || !POWER_STATES.includes(o['powerState'] as number)) {
      throw new Error(`${what}[${i}] is malformed`);
    }
    return {
      uuid: o['uuid'],
      node: o['node'],
      name: o['name'],
      powerState: o['powerState'] as PowerState,
      ...(typeof o['vcpus'] === 'number' ? { vcpus: o['vcpus'] } : {}),
      ...(typeof o['memoryMb'] === 'number' ? { memoryMb: o['memoryMb'] } : {}),
      ...(o['rescued'] === true ? { rescued: true } : {}),
    };
  });
}

function parseState(raw: unknown): SavedState {
  if (!raw || typeof raw !== 'object' || !('vms' in raw) || !Array.isArray(raw.vms)) throw new Error('expected {"vms": [...]}');
  const sources = 'resizeSources' in raw && Array.isArray(raw.resizeSources) ? parseVms(raw.resizeSources as unknown[], 'resizeSources') : [];
  return { version: 1, vms: parseVms(raw.vms as unknown[], 'vms'), resizeSources: sources };
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
  readonly #resizeSources = new Map<string, FakeVm>();
  readonly #injections = new Injections();
  readonly #file: StateFile<SavedState> | undefined;
  readonly #nodeNames: readonly string[];
  /** Per VM: boots seen (for the synthesised console log), NMIs and password changes; kept in memory only. */
  readonly #boots = new Map<string, number>();
  readonly #crashDumps = new Map<string, number>();
  readonly #passwordDigests = new Map<string, string>();
  /** Each VM's serial console: a TCP listener that greets and echoes (opened on first ask). */
  readonly #serials = new Map<string, { server: Server; sockets: Set<Socket>; port: Promise<number> }>();
  /** Personality files of each VM's last spawn (path → decoded contents); kept in memory only. */
  readonly #injectedFiles = new Map<string, Map<string, string>>();
  readonly #bootTime = new Date().toISOString();
  /** Per running VM whose console was asked for: a blank-screen VNC server on loopback. */
  readonly #vnc = new Map<string, Promise<FakeVncServer>>();

  constructor(options: FakeDriverOptions) {
    this.#opts = options;
    this.type = options.hypervisor_type;
    this.#nodeNames = Array.from({ length: options.nodes }, (_, i) => `${options.host}-fake-${i + 1}`);
    if (options.statePath !== undefined) {
      this.#file = new StateFile(options.statePath);
      const saved = this.#file.load(parseState);
      for (const vm of saved?.vms ?? []) this.#vms.set(vm.uuid, { ...vm });
      for (const vm of saved?.resizeSources ?? []) this.#resizeSources.set(vm.uuid, { ...vm });
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

  /** NMIs sent to a VM (trigger_crash_dump); for tests. */
  crashDumps(uuid: string): number {
    return this.#crashDumps.get(uuid) ?? 0;
  }

  /** sha256 of the last admin password set on a VM (the password itself is not kept); for tests. */
  passwordDigest(uuid: string): string | undefined {
    return this.#passwordDigests.get(uuid);
  }

  /** The personality files the VM's last spawn was given, path → decoded text; for tests. */
  injectedFiles(uuid: string): ReadonlyMap<string, string> {
    return new Map(this.#injectedFiles.get(uuid) ?? []);
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
    else this.#vms.set(instance.uuid, { uuid: instance.uuid, node: instance.node, name: instance.name, powerState: PowerState.RUNNING, ...sizeOf(instance.flavor) });
    // The "guest" keeps the personality files it was given (a rebuild's spawn replaces them).
    this.#injectedFiles.set(instance.uuid, new Map((instance.injectedFiles ?? []).map((f) => [f.path, Buffer.from(f.contents, 'base64').toString('utf8')])));
    await this.#save();
    return { driverInfo: { fake_node: instance.node } };
  }

  /** The source copy is kept aside, powered off, until confirm or revert. */
  async migrateDiskAndPowerOff(instance: InstanceRef, dest: MigrationTarget, _flavor: FlavorSnapshot, signal: AbortSignal): Promise<void> {
    await this.#op('migrateDiskAndPowerOff', instance, signal);
    const vm = this.#vms.get(instance.uuid) ?? this.#resizeSources.get(instance.uuid);
    if (!vm) throw new InstanceNotFoundError(instance.uuid);
    if (dest.node === '') throw new DriverError('invalid_target', 'a migration needs a destination node');
    vm.powerState = PowerState.SHUTDOWN;
    this.#vms.delete(instance.uuid);
    this.#closeSerial(instance.uuid);
    this.#resizeSources.set(instance.uuid, vm);
    await this.#save();
  }

  async finishMigration(instance: InstanceSpec, _image: ImageSource, options: { powerOn: boolean }, signal: AbortSignal): Promise<SpawnResult> {
    if (!this.#nodeNames.includes(instance.node)) {
      throw new DriverError('node_not_found', `fake node ${instance.node} is not served by host ${this.#opts.host}`);
    }
    await this.#op('finishMigration', instance, signal);
    const powerState = options.powerOn ? PowerState.RUNNING : PowerState.SHUTDOWN;
    this.#vms.set(instance.uuid, { uuid: instance.uuid, node: instance.node, name: instance.name, powerState, ...sizeOf(instance.flavor) });
    await this.#save();
    return { driverInfo: { fake_node: instance.node } };
  }

  /** Removes the source copy; succeeds when it is already gone. */
  async confirmMigration(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#op('confirmMigration', instance, signal);
    if (this.#resizeSources.delete(instance.uuid)) await this.#save();
  }

  async finishRevertMigration(instance: InstanceRef, options: { powerOn: boolean }, signal: AbortSignal): Promise<void> {
    await this.#op('finishRevertMigration', instance, signal);
    const vm = this.#resizeSources.get(instance.uuid) ?? this.#vms.get(instance.uuid);
    if (!vm) throw new InstanceNotFoundError(instance.uuid);
    this.#resizeSources.delete(instance.uuid);
    vm.powerState = options.powerOn ? PowerState.RUNNING : PowerState.SHUTDOWN;
    this.#vms.set(instance.uuid, vm);
    await this.#save();
  }

  async liveMigrate(instance: InstanceRef, dest: MigrationTarget, signal: AbortSignal): Promise<void> {
    await this.#op('liveMigrate', instance, signal);
    this.#vm(instance.uuid);
    if (dest.node === instance.node) throw new DriverError('invalid_target', `instance ${instance.uuid} is already on node ${dest.node}`);
    this.#vms.delete(instance.uuid);
    this.#closeSerial(instance.uuid);
    await this.#save();
  }

  async postLiveMigrationAtDestination(instance: InstanceSpec, powerState: PowerState, signal: AbortSignal): Promise<SpawnResult> {
    await this.#op('postLiveMigrationAtDestination', instance, signal);
    this.#vms.set(instance.uuid, { uuid: instance.uuid, node: instance.node, name: instance.name, powerState, ...sizeOf(instance.flavor) });
    await this.#save();
    return { driverInfo: { fake_node: instance.node } };
  }

  /** Canned figures in Nova's standard format, as Nova's fake driver reports them, sized by the flavor. */
  async getDiagnostics(instance: InstanceRef, signal: AbortSignal): Promise<InstanceDiagnostics> {
    await this.#op('getDiagnostics', instance, signal);
    const vm = this.#vm(instance.uuid);
    const cpus = vm.vcpus ?? 1;
    return {
      state: DIAGNOSTICS_STATE[vm.powerState] ?? 'pending',
      // Nova's fake driver answers as libvirt/kvm too: the 2.48 schema names real drivers only.
      driver: 'libvirt',
      hypervisor: 'kvm',
      hypervisor_os: 'ubuntu',
      uptime: 46664,
      num_cpus: cpus,
      num_disks: 1,
      num_nics: 1,
      memory_details: { maximum: vm.memoryMb ?? 512, used: 0 },
      cpu_details: Array.from({ length: cpus }, (_, id) => ({ id, time: 17300000000, utilisation: 15 })),
      nic_details: [
        {
          mac_address: '01:23:45:67:89:ab',
          rx_octets: 2070139,
          rx_errors: 100,
          rx_drop: 200,
          rx_packets: 26701,
          rx_rate: 300,
          tx_octets: 140208,
          tx_errors: 400,
          tx_drop: 500,
          tx_packets: 662,
          tx_rate: 600,
        },
      ],
      disk_details: [{ read_bytes: 262144, read_requests: 112, write_bytes: 5778432, write_requests: 488, errors_count: 1 }],
      config_drive: false,
    };
  }

  async destroy(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#op('destroy', instance, signal);
    await this.#closeVnc(instance.uuid);
    this.#injectedFiles.delete(instance.uuid);
    this.#closeSerial(instance.uuid);
    if (this.#vms.delete(instance.uuid)) await this.#save();
  }

  async powerOff(instance: InstanceRef, _options: { timeoutSeconds: number }, signal: AbortSignal): Promise<void> {
    await this.#power('powerOff', instance, PowerState.SHUTDOWN, signal);
    await this.#closeVnc(instance.uuid);
  }

  /**
   * The VM's console: a minimal VNC server (vnc-server.ts) started on first use and kept while
   * the VM lives and runs (a power-off or destroy ends it; the agent asks again after a power-on).
   */
  async getVncConsole(instance: InstanceRef, signal: AbortSignal): Promise<VncConsole> {
    await this.#op('getVncConsole', instance, signal);
    const vm = this.#vm(instance.uuid);
    if (vm.powerState !== PowerState.RUNNING) throw new DriverError('invalid_state', `instance ${vm.uuid} is not running`);
    let server = this.#vnc.get(vm.uuid);
    if (server === undefined) {
      server = FakeVncServer.start(vm.name);
      this.#vnc.set(vm.uuid, server);
      server.catch(() => this.#vnc.delete(vm.uuid));
    }
    return { host: '127.0.0.1', port: (await server).port };
  }

  async #closeVnc(uuid: string): Promise<void> {
    const server = this.#vnc.get(uuid);
    if (server === undefined) return;
    this.#vnc.delete(uuid);
    await (await server.catch(() => undefined))?.close();
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

  /**
   * A small raw disk: a header naming the VM and the time, padded to 64 KiB. Enough for the
   * image service to store, list, download and boot again (another fake spawn).
   */
  async snapshot(instance: InstanceRef, signal: AbortSignal): Promise<SnapshotData> {
    await this.#op('snapshot', instance, signal);
    const vm = this.#vm(instance.uuid);
    const disk = Buffer.alloc(64 * 1024);
    disk.write(`polyvisor fake disk of ${vm.name} (${vm.uuid}) at ${new Date().toISOString()}\n`);
    return { data: Readable.from([disk]), diskFormat: 'raw', containerFormat: 'bare', release: async () => undefined };
  }

  async rescue(instance: InstanceRef, _image: ImageSource, _adminPassword: string | null, signal: AbortSignal): Promise<void> {
    await this.#op('rescue', instance, signal);
    const vm = this.#vm(instance.uuid);
    vm.rescued = true;
    vm.powerState = PowerState.RUNNING;
    this.#booted(vm.uuid);
    await this.#save();
  }

  async unrescue(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#op('unrescue', instance, signal);
    const vm = this.#vm(instance.uuid);
    if (vm.rescued !== true && vm.powerState === PowerState.RUNNING) return;
    delete vm.rescued;
    vm.powerState = PowerState.RUNNING;
    this.#booted(vm.uuid);
    await this.#save();
  }

  async setAdminPassword(instance: InstanceRef, password: string, signal: AbortSignal): Promise<void> {
    await this.#op('setAdminPassword', instance, signal);
    const vm = this.#vm(instance.uuid);
    if (vm.powerState !== PowerState.RUNNING) throw new DriverError('instance_not_running', `instance ${vm.uuid} is not running: its guest agent cannot set a password`);
    this.#passwordDigests.set(vm.uuid, createHash('sha256').update(password).digest('hex'));
  }

  /** A synthesised serial log: a boot transcript per boot the fake hypervisor has seen. */
  async getConsoleOutput(instance: InstanceRef, signal: AbortSignal): Promise<string> {
    await this.#op('getConsoleOutput', instance, signal);
    const vm = this.#vm(instance.uuid);
    const boots = Math.max(1, this.#boots.get(vm.uuid) ?? 1);
    const lines: string[] = [];
    for (let b = 1; b <= boots; b++) {
      lines.push(
        `[    0.000000] Linux version 6.1.0-fake (polyvisor fake hypervisor) boot ${b}`,
        `[    0.000000] Command line: console=ttyS0 root=/dev/vda`,
        `[    0.412345] virtio_blk virtio1: [vda] 2097152 512-byte logical blocks`,
        `[    1.234567] EXT4-fs (vda): mounted filesystem with ordered data mode`,
        `${vm.name} login: `,
      );
    }
    if (vm.powerState === PowerState.SHUTDOWN) lines.push('[   42.000000] reboot: Power down');
    return lines.join('\n');
  }

  async triggerCrashDump(instance: InstanceRef, signal: AbortSignal): Promise<void> {
    await this.#op('triggerCrashDump', instance, signal);
    const vm = this.#vm(instance.uuid);
    if (vm.powerState !== PowerState.RUNNING) throw new DriverError('instance_not_running', `instance ${vm.uuid} is not running: no NMI can be injected`);
    this.#crashDumps.set(vm.uuid, (this.#crashDumps.get(vm.uuid) ?? 0) + 1);
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

  /**
   * The VM's serial console: a TCP port on hostIp that greets with a banner and echoes what
   * it receives, as a guest's getty would show typed text (the serial-console websocket's
   * round trip can be tested end to end). One listener per VM, closed with the VM.
   */
  async getSerialConsole(instance: InstanceRef, signal: AbortSignal): Promise<{ host: string; port: number }> {
    await this.#op('getSerialConsole', instance, signal);
    const vm = this.#vm(instance.uuid);
    const host = this.#opts.hostIp ?? '127.0.0.1';
    let s = this.#serials.get(vm.uuid);
    if (s === undefined) {
      const sockets = new Set<Socket>();
      const server = createServer((sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => sock.destroy());
        sock.write(`Polyvisor fake serial console of ${vm.name}\r\n`);
        sock.pipe(sock);
      });
      server.unref();
      const port = new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
      });
      s = { server, sockets, port };
      this.#serials.set(vm.uuid, s);
    }
    return { host, port: await s.port };
  }

  async close(): Promise<void> {
    // The state file is written before every operation returns; only the consoles remain.
    await Promise.all([...this.#vnc.keys()].map((uuid) => this.#closeVnc(uuid)));
    for (const uuid of [...this.#serials.keys()]) this.#closeSerial(uuid);
  }

  #closeSerial(uuid: string): void {
    const s = this.#serials.get(uuid);
    if (s === undefined) return;
    this.#serials.delete(uuid);
    for (const sock of s.sockets) sock.destroy();
    s.server.close();
  }

  async #power(op: FakeOperation, instance: InstanceRef, to: PowerState, signal: AbortSignal): Promise<void> {
    await this.#op(op, instance, signal);
    const vm = this.#vm(instance.uuid);
    if (op === 'reboot' || (to === PowerState.RUNNING && vm.powerState === PowerState.SHUTDOWN)) this.#booted(vm.uuid);
    if (vm.powerState === to) return;
    vm.powerState = to;
    await this.#save();
  }

  #booted(uuid: string): void {
    this.#boots.set(uuid, (this.#boots.get(uuid) ?? 1) + 1);
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
    await this.#file.save(() => ({ version: 1, vms: [...this.#vms.values()], resizeSources: [...this.#resizeSources.values()] }));
  }
}
