/**
 * Nova's instance state model. `vm_state` is the stable state, `task_state` the
 * operation in progress (null when none), `power_state` what the hypervisor reports.
 * The API `status` is derived from the first two, never stored.
 */
export const VmState = {
  BUILDING: 'building',
  ACTIVE: 'active',
  STOPPED: 'stopped',
  PAUSED: 'paused',
  SUSPENDED: 'suspended',
  ERROR: 'error',
  DELETED: 'deleted',
  RESIZED: 'resized',
  SOFT_DELETED: 'soft-delete',
  SHELVED: 'shelved',
  SHELVED_OFFLOADED: 'shelved_offloaded',
  RESCUED: 'rescued',
} as const;
export type VmState = (typeof VmState)[keyof typeof VmState];

export const TaskState = {
  SCHEDULING: 'scheduling',
  BLOCK_DEVICE_MAPPING: 'block_device_mapping',
  NETWORKING: 'networking',
  SPAWNING: 'spawning',
  POWERING_OFF: 'powering-off',
  POWERING_ON: 'powering-on',
  REBOOTING: 'rebooting',
  REBOOT_PENDING: 'reboot_pending',
  REBOOT_STARTED: 'reboot_started',
  REBOOTING_HARD: 'rebooting_hard',
  REBOOT_PENDING_HARD: 'reboot_pending_hard',
  REBOOT_STARTED_HARD: 'reboot_started_hard',
  SUSPENDING: 'suspending',
  RESUMING: 'resuming',
  PAUSING: 'pausing',
  UNPAUSING: 'unpausing',
  DELETING: 'deleting',
  SOFT_DELETING: 'soft-deleting',
  RESTORING: 'restoring',
  IMAGE_SNAPSHOT: 'image_snapshot',
  MIGRATING: 'migrating',
  RESIZE_PREP: 'resize_prep',
  RESIZE_MIGRATING: 'resize_migrating',
  RESIZE_MIGRATED: 'resize_migrated',
  RESIZE_FINISH: 'resize_finish',
  RESIZE_REVERTING: 'resize_reverting',
  RESIZE_CONFIRMING: 'resize_confirming',
  REBUILDING: 'rebuilding',
  REBUILD_BLOCK_DEVICE_MAPPING: 'rebuild_block_device_mapping',
  REBUILD_SPAWNING: 'rebuild_spawning',
  // Snapshots (createImage, createBackup) and shelve, as Nova names them.
  IMAGE_SNAPSHOT_PENDING: 'image_snapshot_pending',
  IMAGE_PENDING_UPLOAD: 'image_pending_upload',
  IMAGE_UPLOADING: 'image_uploading',
  IMAGE_BACKUP: 'image_backup',
  SHELVING: 'shelving',
  SHELVING_IMAGE_PENDING_UPLOAD: 'shelving_image_pending_upload',
  SHELVING_IMAGE_UPLOADING: 'shelving_image_uploading',
  SHELVING_OFFLOADING: 'shelving_offloading',
  UNSHELVING: 'unshelving',
  RESCUING: 'rescuing',
  UNRESCUING: 'unrescuing',
  UPDATING_PASSWORD: 'updating_password',
  /**
   * Not a Nova task state: Nova casts trigger_crash_dump to the compute service without
   * one. Here the database is the only way to hand work to an agent, so the NMI waits in
   * this task_state for the few milliseconds until the agent has sent it.
   */
  CRASH_DUMPING: 'trigger_crash_dump',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** Hypervisor power states, numbered as Nova numbers them (the API shows the number). */
export const PowerState = {
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const;
export type PowerState = (typeof PowerState)[keyof typeof PowerState];

export type ServerStatus =
  | 'BUILD'
  | 'ACTIVE'
  | 'SHUTOFF'
  | 'SUSPENDED'
  | 'PAUSED'
  | 'REBOOT'
  | 'HARD_REBOOT'
  | 'RESIZE'
  | 'VERIFY_RESIZE'
  | 'REVERT_RESIZE'
  | 'REBUILD'
  | 'MIGRATING'
  | 'ERROR'
  | 'DELETED'
  | 'SOFT_DELETED'
  | 'SHELVED'
  | 'SHELVED_OFFLOADED'
  | 'RESCUE'
  | 'UNKNOWN';

const HARD_REBOOT_TASKS: readonly string[] = [TaskState.REBOOTING_HARD, TaskState.REBOOT_PENDING_HARD, TaskState.REBOOT_STARTED_HARD];
const SOFT_REBOOT_TASKS: readonly string[] = [TaskState.REBOOTING, TaskState.REBOOT_PENDING, TaskState.REBOOT_STARTED];
const REBUILD_TASKS: readonly string[] = [TaskState.REBUILDING, TaskState.REBUILD_BLOCK_DEVICE_MAPPING, TaskState.REBUILD_SPAWNING];
const RESIZE_TASKS: readonly string[] = [TaskState.RESIZE_PREP, TaskState.RESIZE_MIGRATING, TaskState.RESIZE_MIGRATED, TaskState.RESIZE_FINISH];

/** The status a task gives any stable vm_state it runs on (rebuild, resize, migrations), as Nova's mapping does. */
function movingStatus(taskState: string | null): ServerStatus | undefined {
  if (taskState === null) return undefined;
  if (REBUILD_TASKS.includes(taskState)) return 'REBUILD';
  if (RESIZE_TASKS.includes(taskState)) return 'RESIZE';
  if (taskState === TaskState.MIGRATING) return 'MIGRATING';
  return undefined;
}

/** The API status for a (vm_state, task_state) pair, as Nova's state mapping defines it. */
export function serverStatus(vmState: string, taskState: string | null): ServerStatus {
  switch (vmState) {
    case VmState.BUILDING:
      return 'BUILD';
    case VmState.ACTIVE:
      if (taskState !== null && HARD_REBOOT_TASKS.includes(taskState)) return 'HARD_REBOOT';
      if (taskState !== null && SOFT_REBOOT_TASKS.includes(taskState)) return 'REBOOT';
      return movingStatus(taskState) ?? 'ACTIVE';
    case VmState.STOPPED:
      return movingStatus(taskState) ?? 'SHUTOFF';
    case VmState.PAUSED:
      return taskState === TaskState.MIGRATING ? 'MIGRATING' : 'PAUSED';
    case VmState.SUSPENDED:
      return 'SUSPENDED';
    case VmState.ERROR:
      return taskState !== null && REBUILD_TASKS.includes(taskState) ? 'REBUILD' : 'ERROR';
    case VmState.DELETED:
      return 'DELETED';
    case VmState.SOFT_DELETED:
      return 'SOFT_DELETED';
    case VmState.RESIZED:
      return taskState === TaskState.RESIZE_REVERTING ? 'REVERT_RESIZE' : 'VERIFY_RESIZE';
    case VmState.SHELVED:
      return 'SHELVED';
    case VmState.SHELVED_OFFLOADED:
      return 'SHELVED_OFFLOADED';
    case VmState.RESCUED:
      return 'RESCUE';
    default:
      return 'UNKNOWN';
  }
}

/** Inverse of serverStatus for `?status=` filters: the vm_states a status can come from. */
export function vmStatesForStatus(status: string): readonly VmState[] {
  switch (status.toUpperCase()) {
    case 'BUILD':
      return [VmState.BUILDING];
    case 'ACTIVE':
    case 'REBOOT':
    case 'HARD_REBOOT':
      return [VmState.ACTIVE];
    case 'RESIZE':
      return [VmState.ACTIVE, VmState.STOPPED];
    case 'SHUTOFF':
      return [VmState.STOPPED];
    case 'MIGRATING':
      return [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED];
    case 'PAUSED':
      return [VmState.PAUSED];
    case 'SUSPENDED':
      return [VmState.SUSPENDED];
    case 'ERROR':
      return [VmState.ERROR];
    case 'DELETED':
      return [VmState.DELETED];
    case 'VERIFY_RESIZE':
    case 'REVERT_RESIZE':
      return [VmState.RESIZED];
    case 'REBUILD':
      return [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR];
    case 'SHELVED':
      return [VmState.SHELVED];
    case 'SHELVED_OFFLOADED':
      return [VmState.SHELVED_OFFLOADED];
    case 'RESCUE':
      return [VmState.RESCUED];
    case 'SOFT_DELETED':
      return [VmState.SOFT_DELETED];
    default:
      return [];
  }
}

/** The flavor as it was when the server was created; stored with the instance. */
export interface FlavorSnapshot {
  readonly id: string;
  readonly name: string;
  readonly vcpus: number;
  readonly memory_mb: number;
  readonly root_gb: number;
  readonly ephemeral_gb: number;
  readonly swap: number;
  readonly extra_specs: Readonly<Record<string, string>>;
}
