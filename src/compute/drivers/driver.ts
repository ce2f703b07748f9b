import type { Readable } from 'node:stream';
import { PolyvisorError } from '../../errors.js';
import type { FlavorSnapshot, PowerState } from '../states.js';

/**
 * The contract between the compute agent and a hypervisor. A driver knows nothing of
 * HTTP, the database or the scheduler; the agent knows nothing of SOAP or XML.
 *
 * Contracts, one sentence each:
 * - `spawn` either leaves a running instance or cleans up everything it created, then throws.
 * - `destroy` succeeds when the instance is already gone.
 * - power operations are idempotent: powering off a stopped instance succeeds.
 * - every method honours its AbortSignal and throws a DriverError (or a subclass) on failure.
 */
export interface ComputeDriver {
  /** e.g. 'fake', 'VMware vCenter Server', 'QEMU' — what `hypervisor_type` the nodes report. */
  readonly type: string;
  readonly capabilities: DriverCapabilities;

  /** Connects and runs start-up checks; throws a DriverError naming what is wrong. */
  init(signal: AbortSignal): Promise<void>;
  /** The compute nodes this driver serves, with their current resources. */
  listNodes(signal: AbortSignal): Promise<NodeResources[]>;

  /** `hooks` is optional: a driver may report progress (0–100) while it moves the image. */
  spawn(instance: InstanceSpec, image: ImageSource, signal: AbortSignal, hooks?: SpawnHooks): Promise<SpawnResult>;
  destroy(instance: InstanceRef, signal: AbortSignal): Promise<void>;
  powerOff(instance: InstanceRef, options: { timeoutSeconds: number }, signal: AbortSignal): Promise<void>;
  powerOn(instance: InstanceRef, signal: AbortSignal): Promise<void>;
  reboot(instance: InstanceRef, kind: 'SOFT' | 'HARD', signal: AbortSignal): Promise<void>;
  suspend(instance: InstanceRef, signal: AbortSignal): Promise<void>;
  resume(instance: InstanceRef, signal: AbortSignal): Promise<void>;
  /** Optional: only drivers whose capabilities say supportsPause implement it. */
  pause?(instance: InstanceRef, signal: AbortSignal): Promise<void>;
  unpause?(instance: InstanceRef, signal: AbortSignal): Promise<void>;

  /** Power state of one instance; NOSTATE with `exists: false` when the hypervisor does not know it. */
  getInstanceState(instance: InstanceRef, signal: AbortSignal): Promise<InstanceState>;
  /** Power states of every instance the driver manages, in one bulk call (power sync). */
  listInstanceStates(signal: AbortSignal): Promise<Map<string, InstanceState>>;

  /**
   * Optional moves (resize, cold and live migration); a driver without them refuses the move
   * and the agent leaves the server as it was. Cold migration and resize, Nova's three steps:
   * - source: `migrateDiskAndPowerOff` stops the instance and hands its disks to `dest`; the
   *   source copy stays (powered off) until `confirmMigration` removes it or
   *   `finishRevertMigration` brings it back (after the destination's copy is destroyed);
   * - destination: `finishMigration` builds the instance on its node with the new flavor.
   */
  migrateDiskAndPowerOff?(instance: InstanceRef, dest: MigrationTarget, flavor: FlavorSnapshot, signal: AbortSignal): Promise<void>;
  finishMigration?(instance: InstanceSpec, image: ImageSource, options: { powerOn: boolean }, signal: AbortSignal): Promise<SpawnResult>;
  confirmMigration?(instance: InstanceRef, signal: AbortSignal): Promise<void>;
  finishRevertMigration?(instance: InstanceRef, options: { powerOn: boolean }, signal: AbortSignal): Promise<void>;
  /** Live migration, source side: the running instance moves to `dest` and leaves this hypervisor. */
  liveMigrate?(instance: InstanceRef, dest: MigrationTarget, signal: AbortSignal): Promise<void>;
  /** Live migration, destination side: takes the arrived instance over, in the power state it had. */
  postLiveMigrationAtDestination?(instance: InstanceSpec, powerState: PowerState, signal: AbortSignal): Promise<SpawnResult>;

  /** Optional: Nova's standard diagnostics (microversion 2.48) of one instance. */
  getDiagnostics?(instance: InstanceRef, signal: AbortSignal): Promise<InstanceDiagnostics>;

  /**
   * Optional (createImage, createBackup, shelve): the instance's root disk as it is now,
   * streamed in `diskFormat` for the image service. The instance keeps running (drivers
   * may pause it briefly); `release` removes anything the driver staged for the stream.
   */
  snapshot?(instance: InstanceRef, signal: AbortSignal): Promise<SnapshotData>;
  /**
   * Optional (rescue): boots the instance from `image` with its own disk attached as a
   * second disk; `adminPassword` is for the rescue system (drivers that cannot inject it ignore it).
   */
  rescue?(instance: InstanceSpec, image: ImageSource, adminPassword: string | null, signal: AbortSignal): Promise<void>;
  /** Optional (unrescue): back to the instance's own disk, running. Succeeds when not rescued. */
  unrescue?(instance: InstanceRef, signal: AbortSignal): Promise<void>;
  /** Optional (changePassword): sets the guest's administrator password (through a guest agent). */
  setAdminPassword?(instance: InstanceRef, password: string, signal: AbortSignal): Promise<void>;
  /** Optional (os-getConsoleOutput): the guest's serial console log, as text. */
  getConsoleOutput?(instance: InstanceRef, signal: AbortSignal): Promise<string>;
  /** Optional (trigger_crash_dump): injects an NMI into the guest. */
  triggerCrashDump?(instance: InstanceRef, signal: AbortSignal): Promise<void>;

  /** Optional: a console the dashboard's proxy can connect to. */
  getVncConsole?(instance: InstanceRef, signal: AbortSignal): Promise<VncConsole>;
  /** Optional: where the instance's serial console listens as a TCP stream (os-getSerialConsole). */
  getSerialConsole?(instance: InstanceRef, signal: AbortSignal): Promise<{ readonly host: string; readonly port: number }>;

  /**
   * Optional periodic task (the agent calls it every [image_cache] manager_interval):
   * removes cached images no instance uses that are older than the configured minimum age.
   */
  ageImageCache?(signal: AbortSignal): Promise<ImageCacheAgeingReport>;

  close(): Promise<void>;
}

export interface SpawnHooks {
  /** Called with the spawn's progress in percent (e.g. while the image is transferred); for the server's `progress` field. */
  readonly onProgress?: (percent: number) => void;
}

export interface ImageCacheAgeingReport {
  /** Cache entries removed, as "<datastore>/<image id>" (or a driver's own naming). */
  readonly removed: readonly string[];
  /** Unused entries kept because they are younger than the minimum age. */
  readonly keptYoung: number;
  /** Entries in use by an instance. */
  readonly inUse: number;
}

export interface DriverCapabilities {
  readonly supportsPause: boolean;
  readonly supportsSuspend: boolean;
  /** Disk formats the driver boots from, best first ('vmdk', 'qcow2', 'raw'). */
  readonly diskFormats: readonly string[];
}

export interface NodeResources {
  /** Unique node name: the scheduler's unit (a vCenter cluster, a KVM host, a fake node). */
  readonly nodename: string;
  readonly hypervisorType: string;
  /** Nova's integer encoding: 6.5.0 → 6005000. */
  readonly hypervisorVersion: number;
  readonly hostIp: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly localGb: number;
  /** JSON-able description of the CPU (shown by `hypervisor show`). */
  readonly cpuInfo: Readonly<Record<string, unknown>>;
  /** Facts image properties are matched against: architecture, hypervisor_type, ... */
  readonly capabilities: Readonly<Record<string, string>>;
  /** When the host last booted (ISO time), for the hypervisor's uptime; absent when unknown. */
  readonly bootTime?: string;
}

/** What a driver needs to find an existing instance. */
export interface InstanceRef {
  readonly uuid: string;
  readonly node: string;
  /** What the driver stored at spawn (e.g. a VMware moref); opaque to everyone else. */
  readonly driverInfo: Readonly<Record<string, unknown>>;
}

export interface InstanceSpec extends InstanceRef {
  readonly name: string;
  readonly hostname: string;
  readonly projectId: string;
  readonly userId: string;
  readonly flavor: FlavorSnapshot;
  readonly metadata: Readonly<Record<string, string>>;
  readonly keyData: string | null;
  readonly userData: string | null;
  /**
   * Personality files (Nova's file injection, before microversion 2.57): contents base64 as
   * the user gave them; empty when none. A driver without a way to put them in the guest logs
   * that it ignores them. Absent: none.
   */
  readonly injectedFiles?: readonly { readonly path: string; readonly contents: string }[];
  readonly networks: 'auto' | 'none' | readonly { readonly uuid?: string; readonly port?: string; readonly fixedIp?: string }[];
}

/** An image as a driver sees it: its facts and a way to read its bits in a chosen format. */
export interface ImageSource {
  readonly id: string;
  readonly name: string | null;
  readonly diskFormat: string | null;
  readonly containerFormat: string | null;
  readonly size: number | null;
  readonly virtualSize: number | null;
  readonly properties: Readonly<Record<string, string>>;
  /** Streams the image's bits, converted to `format` when it differs from the stored one. */
  open(format: string | null, signal: AbortSignal): Promise<Readable>;
}

/** A snapshot's bits, for the image service. */
export interface SnapshotData {
  readonly data: Readable;
  readonly diskFormat: string;
  readonly containerFormat: string;
  /**
   * Image properties that describe these bits (e.g. vmware_disktype, vmware_adaptertype):
   * they replace what the image inherited from the server's base image. Absent: none.
   */
  readonly properties?: Readonly<Record<string, string>>;
  /** Removes what the driver staged for the stream (a temporary file); called after the upload, success or not. */
  release(): Promise<void>;
}

export interface SpawnResult {
  readonly driverInfo: Readonly<Record<string, unknown>>;
}

export interface InstanceState {
  readonly exists: boolean;
  readonly powerState: PowerState;
}

/** Where a move goes: the destination's service host and node. */
export interface MigrationTarget {
  readonly host: string;
  readonly node: string;
}

/** Nova's standard diagnostics format (2.48); unknown figures are null. */
export interface InstanceDiagnostics {
  readonly state: 'pending' | 'running' | 'paused' | 'shutdown' | 'crashed' | 'suspended';
  readonly driver: string;
  readonly hypervisor: string | null;
  readonly hypervisor_os: string | null;
  readonly uptime: number | null;
  readonly num_cpus: number;
  readonly num_disks: number;
  readonly num_nics: number;
  readonly memory_details: { readonly maximum: number | null; readonly used: number | null };
  readonly cpu_details: readonly { readonly id: number | null; readonly time: number | null; readonly utilisation: number | null }[];
  readonly nic_details: readonly Readonly<Record<string, string | number | null>>[];
  readonly disk_details: readonly { readonly read_bytes: number | null; readonly read_requests: number | null; readonly write_bytes: number | null; readonly write_requests: number | null; readonly errors_count: number | null }[];
  readonly config_drive: boolean;
}

export interface VncConsole {
  readonly host: string;
  readonly port: number;
  readonly password?: string;
}

/**
 * A failure inside a driver. `retryable` means "another node may succeed" for spawn
 * (the scheduler reschedules), "try again later" elsewhere.
 */
export class DriverError extends PolyvisorError {
  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** The hypervisor does not know the instance. */
export class InstanceNotFoundError extends DriverError {
  constructor(uuid: string) {
    super('instance_not_found', `instance ${uuid} does not exist on the hypervisor`);
  }
}

/** The operation is not supported by this hypervisor (pause on vSphere, ...). */
export class UnsupportedOperationError extends DriverError {
  constructor(operation: string, driver: string) {
    super('unsupported', `${operation} is not supported by the ${driver} driver`);
  }
}

/** Finds an image for a spawn; the composition root wires the image service's implementation in. */
export interface ImageProvider {
  get(imageId: string, signal: AbortSignal): Promise<ImageSource>;
  /**
   * Optional (snapshots): stores `data` as the bits of a queued image the Compute API
   * created, and makes it active with the given formats (and `properties` set over the
   * ones it has). Throws when the image is gone.
   */
  upload?(imageId: string, data: Readable, formats: { diskFormat: string; containerFormat: string; properties?: Readonly<Record<string, string>> }, signal: AbortSignal): Promise<void>;
  /** Optional: deletes an image and its bits (backup rotation, a used shelved snapshot); succeeds when it is gone. */
  remove?(imageId: string): Promise<void>;
}
