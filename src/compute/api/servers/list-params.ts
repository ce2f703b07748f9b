import type { AuthContext } from '../../../api/context.js';
import { ForbiddenError, InvalidInputError } from '../../../errors.js';
import { EQUALITY_COLUMNS, type EqualityColumn, type ServerListFilter, type ServerSort, type ServerSortColumn } from '../../../db/repos/server-queries.js';
import { TaskState, VmState } from '../../states.js';
import { param, parseBool, params, type Query } from '../request.js';
import { parseIsoTime } from '../times.js';

/** Nova's API sort keys that map onto our columns. */
const SORT_KEY_COLUMNS: Readonly<Record<string, ServerSortColumn>> = {
  access_ip_v4: 'access_ip_v4',
  access_ip_v6: 'access_ip_v6',
  availability_zone: 'availability_zone',
  config_drive: 'config_drive',
  created_at: 'created_at',
  display_description: 'display_description',
  display_name: 'display_name',
  host: 'host',
  hostname: 'hostname',
  image_ref: 'image_ref',
  key_name: 'key_name',
  launch_index: 'launch_index',
  launched_at: 'launched_at',
  node: 'node',
  power_state: 'power_state',
  progress: 'progress',
  project_id: 'project_id',
  task_state: 'task_state',
  terminated_at: 'terminated_at',
  updated_at: 'updated_at',
  user_id: 'user_id',
  uuid: 'uuid',
  vm_state: 'vm_state',
};
/** Valid in Nova but meaningless here (or ignored by Nova itself): accepted and skipped. */
const IGNORED_SORT_KEYS = new Set([
  'auto_disk_config', 'instance_type_id', 'kernel_id', 'locked_by', 'ramdisk_id', 'root_device_name', 'architecture', 'cell_name',
  'cleaned', 'default_ephemeral_device', 'default_swap_device', 'deleted', 'deleted_at', 'disable_terminate', 'ephemeral_gb',
  'ephemeral_key_uuid', 'id', 'key_data', 'launched_on', 'locked', 'memory_mb', 'os_type', 'reservation_id', 'root_gb',
  'shutdown_terminate', 'user_data', 'vcpus', 'vm_mode',
]);
const ADMIN_SORT_KEYS = new Set(['host', 'node']);

/** Status → (vm_states, task_states) as Nova's state map inverts it; 'default' means any task state. */
const STATUS_TASKS: Readonly<Record<string, readonly (string | null)[]>> = {
  REBOOT: [TaskState.REBOOTING, TaskState.REBOOT_PENDING, TaskState.REBOOT_STARTED],
  HARD_REBOOT: [TaskState.REBOOTING_HARD, TaskState.REBOOT_PENDING_HARD, TaskState.REBOOT_STARTED_HARD],
  MIGRATING: [TaskState.MIGRATING],
  RESIZE: [TaskState.RESIZE_PREP],
};
const STATUS_VM: Readonly<Record<string, readonly string[]>> = {
  BUILD: [VmState.BUILDING],
  ACTIVE: [VmState.ACTIVE],
  REBOOT: [VmState.ACTIVE],
  HARD_REBOOT: [VmState.ACTIVE],
  RESIZE: [VmState.ACTIVE],
  MIGRATING: [VmState.ACTIVE, VmState.STOPPED],
  SHUTOFF: [VmState.STOPPED],
  PAUSED: [VmState.PAUSED],
  SUSPENDED: [VmState.SUSPENDED],
  ERROR: [VmState.ERROR],
  DELETED: [VmState.DELETED],
  VERIFY_RESIZE: [VmState.RESIZED],
  SOFT_DELETED: [VmState.SOFT_DELETED],
  SHELVED: [VmState.SHELVED],
  SHELVED_OFFLOADED: [VmState.SHELVED_OFFLOADED],
  RESCUE: [VmState.RESCUED],
};

export interface ServerListParams {
  readonly filter: ServerListFilter;
  readonly sorts: readonly ServerSort[];
  /** true when the filters can match nothing (an unknown status): Nova answers an empty list. */
  readonly empty: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Reads Nova's list filters; admin-only ones are ignored for other callers, as Nova does.
 * `ip6ForEveryone`: microversion 2.5 opened the `ip6` filter to non-admins.
 */
/** The query parameters Nova's server list schema knows (2.75 refuses any other with 400). */
const KNOWN_LIST_PARAMS = new Set([
  'user_id', 'project_id', 'tenant_id', 'launch_index', 'image_ref', 'image', 'kernel_id', 'ramdisk_id', 'hostname', 'key_name',
  'power_state', 'vm_state', 'task_state', 'host', 'node', 'flavor', 'reservation_id', 'launched_at', 'terminated_at',
  'availability_zone', 'name', 'display_name', 'description', 'display_description', 'locked_by', 'locked', 'uuid',
  'root_device_name', 'config_drive', 'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'progress', 'sort_key', 'sort_dir',
  'all_tenants', 'soft_deleted', 'deleted', 'status', 'changes-since', 'changes-before', 'ip', 'ip6', 'created_at',
  'block_device_mapping', 'services', 'metadata', 'system_metadata', 'info_cache', 'security_groups', 'pci_devices',
  'limit', 'marker', 'tags', 'tags-any', 'not-tags', 'not-tags-any', 'fields', 'pinned_availability_zone',
]);

export interface ListVersionOptions {
  /** 2.75: an unknown query parameter is a 400 (before, ignored). */
  readonly strictParams?: boolean;
  /** 2.5: the `ip6` filter is open to non-admins. */
  readonly ip6ForEveryone?: boolean;
  /** 2.38: an unknown status is a 400 (before, an empty list). */
  readonly strictStatus?: boolean;
  /** 2.66: changes-before. */
  readonly changesBefore?: boolean;
  /** 2.73: the `locked` filter and sort key. */
  readonly locked?: boolean;
  /** 2.83: non-admins may use the simple filters (availability_zone, key_name, vm_state, ...). */
  readonly simpleFiltersForEveryone?: boolean;
  /** 2.26: the tag filters (tags, tags-any, not-tags, not-tags-any). */
  readonly tags?: boolean;
}

export function parseServerListParams(q: Query, ctx: AuthContext, opts: ListVersionOptions = {}): ServerListParams {
  if (opts.strictParams === true) {
    const unknown = Object.keys(q).find((k) => !KNOWN_LIST_PARAMS.has(k));
    if (unknown !== undefined) throw new InvalidInputError(`Invalid input for query parameters ${unknown}. Additional properties are not allowed ('${unknown}' was unexpected)`);
  }
  const f: Mutable<ServerListFilter> = { deleted: 'no' };
  let empty = false;
  // Servers here have no fixed or floating addresses (no networking service), so an
  // address filter that applies to the caller matches no server.
  if (param(q, 'ip') !== undefined) empty = true;
  if (param(q, 'ip6') !== undefined && (ctx.isAdmin || opts.ip6ForEveryone === true)) empty = true;

  const allTenants = param(q, 'all_tenants');
  const everyProject = ctx.isAdmin && allTenants !== undefined && (allTenants === '' || parseBool(allTenants, 'all_tenants'));
  if (!everyProject) f.projectId = ctx.projectId ?? '';
  else {
    const project = param(q, 'tenant_id') ?? param(q, 'project_id');
    if (project !== undefined) f.projectId = project;
  }

  const statuses = params(q, 'status');
  if (statuses.length > 0) {
    const vm = new Set<string>();
    const tasks = new Set<string | null>();
    let anyTask = false;
    for (const s of statuses) {
      const key = s.toUpperCase();
      if (opts.strictStatus === true && STATUS_VM[key] === undefined) throw new InvalidInputError(`Invalid status value: ${s}`);
      for (const v of STATUS_VM[key] ?? []) vm.add(v);
      const t = STATUS_TASKS[key];
      if (t) for (const x of t) tasks.add(x);
      else if (STATUS_VM[key]) anyTask = true;
    }
    if (vm.size === 0) empty = true;
    f.vmStates = [...vm];
    if (!anyTask && tasks.size > 0) f.taskStates = [...tasks];
    if (vm.has(VmState.DELETED)) f.deleted = ctx.isAdmin ? 'yes' : 'no';
  }

  const name = param(q, 'name');
  if (name !== undefined) {
    try {
      new RegExp(name);
      f.nameRegex = name;
    } catch {
      throw new InvalidInputError(`Invalid regular expression in the name filter: ${name}`);
    }
  }
  const image = param(q, 'image');
  if (image !== undefined) f.imageRef = image.replace(/^.*\//, '');
  const flavor = param(q, 'flavor');
  if (flavor !== undefined) f.flavorId = flavor.replace(/^.*\//, '');
  const reservation = param(q, 'reservation_id');
  if (reservation !== undefined) f.reservationId = reservation;

  const changesSince = param(q, 'changes-since');
  if (changesSince !== undefined) {
    const t = parseIsoTime(changesSince);
    if (t === undefined) throw new InvalidInputError(`Invalid input for query parameters changes-since. Value: ${changesSince}. '${changesSince}' is not a 'date-time'`);
    f.changesSince = t;
    // Nova: changes-since also returns servers deleted since then, unless deleted=false says otherwise.
    f.deleted = 'yes';
  }
  // Tag filters (2.26): comma-separated lists, as Nova reads them; ignored before 2.26.
  if (opts.tags === true) {
    const list = (name: string) => {
      const v = param(q, name);
      return v === undefined ? undefined : v.split(',').filter((t) => t !== '');
    };
    const tags = list('tags');
    const tagsAny = list('tags-any');
    const notTags = list('not-tags');
    const notTagsAny = list('not-tags-any');
    if (tags) f.tags = tags;
    if (tagsAny) f.tagsAny = tagsAny;
    if (notTags) f.notTags = notTags;
    if (notTagsAny) f.notTagsAny = notTagsAny;
  }
  if (opts.changesBefore === true) {
    const raw = param(q, 'changes-before');
    if (raw !== undefined) {
      const t = parseIsoTime(raw);
      if (t === undefined) throw new InvalidInputError(`Invalid input for query parameters changes-before. Value: ${raw}. '${raw}' is not a 'date-time'`);
      if (f.changesSince !== undefined && f.changesSince > t) throw new InvalidInputError('The value of changes-since must be less than or equal to changes-before.');
      f.changesBefore = t;
      f.deleted = 'yes';
    }
  }
  const equals: Partial<Record<EqualityColumn, string | number>> = {};
  if (ctx.isAdmin || opts.simpleFiltersForEveryone === true) {
    for (const column of EQUALITY_COLUMNS) {
      if (column === 'locked') continue;
      const raw = param(q, column);
      if (raw === undefined) continue;
      if (column === 'power_state' || column === 'progress') {
        if (!/^\d+$/.test(raw)) throw new InvalidInputError(`Invalid input for query parameters ${column}. Value: ${raw}. '${raw}' is not an integer`);
        equals[column] = Number(raw);
      } else if (column === 'created_at' || column === 'launched_at' || column === 'terminated_at') {
        const t = parseIsoTime(raw);
        if (t === undefined) throw new InvalidInputError(`Invalid input for query parameters ${column}. Value: ${raw}. '${raw}' is not a 'date-time'`);
        equals[column] = t;
      } else if (column === 'config_drive') {
        equals[column] = parseBool(raw, 'config_drive') ? 'True' : '';
      } else equals[column] = raw;
    }
  }
  if (opts.locked === true) {
    const raw = param(q, 'locked');
    if (raw !== undefined) equals.locked = parseBool(raw, 'locked') ? 1 : 0;
  }
  if (Object.keys(equals).length > 0) f.equals = equals;
  if (ctx.isAdmin) {
    const host = param(q, 'host');
    if (host !== undefined) f.host = host;
    const node = param(q, 'node');
    if (node !== undefined) f.node = node;
    const deleted = param(q, 'deleted');
    if (deleted !== undefined) f.deleted = parseBool(deleted, 'deleted') ? 'only' : 'no';
  }
  return { filter: f, sorts: parseSorts(q, ctx, opts.locked === true), empty };
}

/** Nova's get_sort_params + process_sort_params: default created_at desc, ties broken by id (uuid here). */
function parseSorts(q: Query, ctx: AuthContext, lockedKey: boolean): ServerSort[] {
  const keys = params(q, 'sort_key').map((k) => k.trim());
  const dirs = params(q, 'sort_dir').map((d) => d.trim());
  for (const d of dirs) if (d !== 'asc' && d !== 'desc') throw new InvalidInputError("Unknown sort direction, must be 'desc' or 'asc'");
  if (dirs.length > Math.max(keys.length, 1)) throw new InvalidInputError('Sort direction size exceeds sort key size');
  const defaultDir = (dirs[0] ?? 'desc') as 'asc' | 'desc';
  const out: ServerSort[] = [];
  keys.forEach((key, i) => {
    const column = key === 'locked' && lockedKey ? 'locked' : SORT_KEY_COLUMNS[key];
    if (column === undefined) {
      if (IGNORED_SORT_KEYS.has(key)) return;
      throw new InvalidInputError(`Invalid input for query parameters sort_key. Value: ${key}. '${key}' is not a valid sort key.`);
    }
    if (ADMIN_SORT_KEYS.has(key) && !ctx.isAdmin) throw new ForbiddenError(`Only administrators can sort servers by ${key}`);
    const dir = (dirs[i] ?? defaultDir) as 'asc' | 'desc';
    if (!out.some((s) => s.column === column)) out.push({ column, dir });
  });
  if (!out.some((s) => s.column === 'created_at')) out.push({ column: 'created_at', dir: defaultDir });
  if (!out.some((s) => s.column === 'uuid')) out.push({ column: 'uuid', dir: defaultDir });
  return out;
}
