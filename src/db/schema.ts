import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The database schema as TypeScript sees it. Conventions shared by SQLite and PostgreSQL:
 * - booleans are integers 0/1 (one representation on both dialects),
 * - timestamps are ISO-8601 UTC strings (`new Date().toISOString()`): they sort as text,
 * - JSON documents are text columns holding JSON, parsed at the repository edge.
 */
export interface Database {
  projects: ProjectTable;
  users: UserTable;
  roles: RoleTable;
  role_assignments: RoleAssignmentTable;
  tokens: TokenTable;
  services: ServiceTable;
  compute_nodes: ComputeNodeTable;
  allocations: AllocationTable;
  flavors: FlavorTable;
  flavor_extra_specs: FlavorExtraSpecTable;
  flavor_projects: FlavorProjectTable;
  keypairs: KeypairTable;
  instances: InstanceTable;
  instance_metadata: InstanceMetadataTable;
  instance_faults: InstanceFaultTable;
  instance_actions: InstanceActionTable;
  instance_action_events: InstanceActionEventTable;
  images: ImageTable;
  image_tags: ImageTagTable;
  image_members: ImageMemberTable;
  quotas: QuotaTable;
  aggregates: AggregateTable;
  aggregate_hosts: AggregateHostTable;
  aggregate_metadata: AggregateMetadataTable;
  instance_consoles: InstanceConsoleTable;
  instance_serial_consoles: InstanceSerialConsoleTable;
  console_auth_tokens: ConsoleAuthTokenTable;
  migrations: MigrationTable;
  instance_diagnostics: InstanceDiagnosticsTable;

  instance_system_metadata: InstanceSystemMetadataTable;
  instance_tags: InstanceTagTable;
  instance_console_output: InstanceConsoleOutputTable;
  instance_groups: InstanceGroupTable;
  instance_group_members: InstanceGroupMemberTable;
  user_quotas: UserQuotaTable;
  quota_classes: QuotaClassTable;
}

export type Bool = 0 | 1;

export interface ProjectTable {
  id: string;
  name: string;
  description: string;
  domain_id: string;
  enabled: Bool;
  created_at: string;
  /** JSON object of the attributes Keystone keeps without modelling them (migration 0008-identity-extra). */
  extra: Generated<string>;
}

export interface UserTable {
  id: string;
  name: string;
  domain_id: string;
  /** scrypt hash in the form `scrypt$N$r$p$salt$hash` (base64). Never logged. */
  password_hash: string;
  default_project_id: string | null;
  email: string | null;
  /** Free text (migration 0002-identity). */
  description: Generated<string | null>;
  enabled: Bool;
  created_at: string;
  /** JSON object of the attributes Keystone keeps without modelling them (migration 0008-identity-extra). */
  extra: Generated<string>;
}

export interface RoleTable {
  id: string;
  name: string;
}

export interface RoleAssignmentTable {
  user_id: string;
  project_id: string;
  role_id: string;
}

export interface TokenTable {
  /** sha256 of the opaque token: a stolen database does not yield usable tokens. */
  id: string;
  user_id: string;
  project_id: string | null;
  issued_at: string;
  expires_at: string;
  revoked: Bool;
  /** JSON array of the auth methods that made the token, e.g. ["password"] (migration 0002-identity). */
  methods: Generated<string>;
  /** JSON array: this token's audit id, then the one it was rescoped from (migration 0002-identity). */
  audit_ids: Generated<string>;
}

export interface ServiceTable {
  id: Generated<number>;
  uuid: string;
  host: string;
  binary: string;
  topic: string;
  disabled: Bool;
  disabled_reason: string | null;
  forced_down: Bool;
  /** Last heartbeat; a service whose heartbeat is older than service_down_time is down. */
  last_seen_at: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface ComputeNodeTable {
  id: Generated<number>;
  uuid: string;
  service_id: number;
  /** The scheduler's node name: for VMware `<cluster moref>.<vCenter uuid>`, for libvirt the host name. */
  hypervisor_hostname: string;
  hypervisor_type: string;
  hypervisor_version: number;
  host_ip: string;
  cpu_info: string;
  availability_zone: string | null;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  /** Sums of the allocations on this node, kept by the same transaction that changes an allocation. */
  vcpus_used: number;
  memory_mb_used: number;
  local_gb_used: number;
  running_vms: number;
  cpu_allocation_ratio: number;
  ram_allocation_ratio: number;
  disk_allocation_ratio: number;
  reserved_host_memory_mb: number;
  reserved_host_disk_mb: number;
  /** vCPUs kept for the host (migration 0005-scheduler). */
  reserved_host_cpus: Generated<number>;
  /** JSON object of capabilities the scheduler matches image properties against (architecture, ...). */
  capabilities: string;
  deleted: Bool;
  created_at: string;
  updated_at: string;
  /** When the node's host last booted (migration 0015-apiext); null: the driver cannot tell. */
  boot_time: Generated<string | null>;
}

export interface AllocationTable {
  instance_uuid: string;
  node_id: number;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  created_at: string;
}

export interface FlavorTable {
  id: Generated<number>;
  flavorid: string;
  name: string;
  description: string | null;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  rxtx_factor: number;
  is_public: Bool;
  disabled: Bool;
  created_at: string;
  updated_at: string;
}

export interface FlavorExtraSpecTable {
  flavor_id: number;
  key: string;
  value: string;
}

export interface FlavorProjectTable {
  flavor_id: number;
  project_id: string;
}

export interface KeypairTable {
  id: Generated<number>;
  name: string;
  user_id: string;
  type: string;
  fingerprint: string;
  public_key: string;
  created_at: string;
}

export interface InstanceTable {
  uuid: string;
  display_name: string;
  display_description: string | null;
  hostname: string;
  project_id: string;
  user_id: string;
  /** The flavor as it was at boot (JSON: FlavorSnapshot). A later flavor change does not alter a server. */
  flavor: string;
  image_ref: string;
  key_name: string | null;
  key_data: string | null;
  user_data: string | null;
  config_drive: Generated<string>;
  /** JSON: 'auto' | 'none' | [{uuid?, port?, fixed_ip?}] as requested. */
  networks: Generated<string>;
  availability_zone: string | null;
  /** The availability zone the user asked for (null: any). */
  requested_availability_zone: string | null;
  /** Host and node an admin forced with `zone:host[:node]` (migration 0004-compute); null: any. */
  requested_host: string | null;
  requested_node: string | null;
  /** Service host that owns the instance (its compute agent); null until scheduled. */
  host: string | null;
  /** hypervisor_hostname of the compute node. */
  node: string | null;
  vm_state: string;
  task_state: string | null;
  power_state: number;
  /** Monotonic counter bumped by every guarded update; lets a writer detect a lost race. */
  version: Generated<number>;
  reservation_id: string;
  launch_index: Generated<number>;
  locked: Generated<Bool>;
  /** 2.73: why the server is locked (migration 0015-apiext). */
  locked_reason: Generated<string | null>;
  /** same_host / different_host scheduler hints, JSON (migration 0016-q1); null: none. */
  scheduler_hints: Generated<string | null>;
  /** OS-DCF:diskConfig: 1 AUTO, 0 MANUAL (migration 0016-q1). */
  auto_disk_config: Generated<Bool>;
  progress: Generated<number>;
  access_ip_v4: string | null;
  access_ip_v6: string | null;
  /** JSON array of node names already tried by the scheduler for this build. */
  retry_nodes: Generated<string>;
  launched_at: string | null;
  terminated_at: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  deleted: Generated<Bool>;
  /** Who may work on the instance while it is unowned (scheduling): process id and lease expiry. */
  lease_owner: string | null;
  lease_expires_at: string | null;
  /** Driver-private facts about the instance (JSON), e.g. the VMware moref. */
  driver_info: Generated<string>;
  /** Personality files to inject at spawn (JSON [{path, contents(base64)}]; migration 0017-q2); null: none. */
  injected_files: Generated<string | null>;
}

export interface InstanceMetadataTable {
  instance_uuid: string;
  key: string;
  value: string;
}

export interface InstanceFaultTable {
  id: Generated<number>;
  instance_uuid: string;
  code: number;
  message: string;
  details: string;
  host: string | null;
  created_at: string;
}

export interface InstanceActionTable {
  id: Generated<number>;
  instance_uuid: string;
  action: string;
  request_id: string;
  user_id: string;
  project_id: string;
  start_time: string;
  finish_time: string | null;
  message: string | null;
  updated_at: string;
}

export interface InstanceActionEventTable {
  id: Generated<number>;
  action_id: number;
  event: string;
  start_time: string;
  finish_time: string | null;
  result: string | null;
  traceback: string | null;
  host: string | null;
  details: string | null;
}

export interface ImageTable {
  id: string;
  name: string | null;
  status: string;
  disk_format: string | null;
  container_format: string | null;
  visibility: string;
  protected: Bool;
  /** Hidden images are left out of the default image list (Glance os_hidden). */
  os_hidden: Generated<Bool>;
  owner: string | null;
  size: number | null;
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  /** JSON object of the image's free-form properties (hypervisor_type, vmware_disktype, ...). */
  properties: string;
  /** Where the bits are in the store (store-specific key); null until uploaded. */
  location: string | null;
  created_at: string;
  updated_at: string;
  deleted: Bool;
}

export interface ImageTagTable {
  image_id: string;
  tag: string;
}

export interface ImageMemberTable {
  image_id: string;
  member_id: string;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface QuotaTable {
  project_id: string;
  resource: string;
  hard_limit: number;
}

/** Host aggregates (migration 0006-aggregates); hard-deleted, so no deleted columns. */
export interface AggregateTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  created_at: string;
  /** Null until the aggregate is first changed, as Nova shows it. */
  updated_at: string | null;
}

/** Member service hosts (services.host of a nova-compute service). */
export interface AggregateHostTable {
  aggregate_id: number;
  host: string;
  created_at: string;
}

/** Aggregate metadata; the `availability_zone` key makes the aggregate a zone. */
export interface AggregateMetadataTable {
  aggregate_id: number;
  key: string;
  value: string;
}

/** An instance's console endpoint, published by its compute agent (migration 0007-vmware). */
export interface InstanceConsoleTable {
  instance_uuid: string;
  /** 'vnc' */
  protocol: string;
  host: string;
  port: number;
  updated_at: string;
}

/** Where an instance's serial console listens (TCP), published by its compute agent (migration 0017-q2). */
export interface InstanceSerialConsoleTable {
  instance_uuid: string;
  host: string;
  port: number;
  updated_at: string;
}

/** A console URL's token (sha256 of it) and what it opens, until expires_at (migration 0007-vmware). */
export interface ConsoleAuthTokenTable {
  token_hash: string;
  instance_uuid: string;
  /** 'novnc' or 'serial' */
  console_type: string;
  host: string;
  port: number;
  created_at: string;
  expires_at: string;
  /** When the token opened its console (migration 0010-console): tokens are one-time. */
  used_at: string | null;
}

/** One move of an instance (migration 0012-migrations), as Nova's migrations table keeps it. */
export interface MigrationTable {
  id: Generated<number>;
  uuid: string;
  instance_uuid: string;
  /** 'resize' | 'migration' | 'live-migration' | 'evacuation' */
  migration_type: string;
  status: string;
  source_compute: string | null;
  source_node: string | null;
  dest_compute: string | null;
  dest_node: string | null;
  /** The destination's host IP (Nova's dest_host). */
  dest_host: string | null;
  /** JSON FlavorSnapshot before and after the move (equal unless it is a resize). */
  old_flavor: string;
  new_flavor: string;
  /** The vm_state to come back to (active or stopped). */
  old_vm_state: string;
  user_id: string;
  project_id: string;
  created_at: string;
  updated_at: string;
}

export type MigrationRow = Selectable<MigrationTable>;

/** A diagnostics request for one server and its agent's answer (migration 0012-migrations). */
export interface InstanceDiagnosticsTable {
  instance_uuid: string;
  /** The compute host asked to answer. */
  host: string;
  requested_at: string;
  /** JSON of the driver's InstanceDiagnostics; null until answered. */
  data: string | null;
  /** Why there is no answer: 'not_implemented' or a driver error message. */
  error: string | null;
  updated_at: string;
}

/** Facts the system keeps about an instance (Nova's instance_system_metadata; migration 0013-shelve). */
export interface InstanceSystemMetadataTable {
  instance_uuid: string;
  key: string;
  value: string;
}

/** Server tags (microversion 2.26; migration 0013-shelve). */
export interface InstanceTagTable {
  instance_uuid: string;
  tag: string;
}

/** The console log an agent last read for an instance, or why it could not (migration 0013-shelve). */
export interface InstanceConsoleOutputTable {
  instance_uuid: string;
  output: string | null;
  /** A stable error code ('not_implemented', ...) when the driver could not give the log. */
  error: string | null;
  updated_at: string;
}

/** A server group (migration 0014-server-groups); rules is a JSON object. */
export interface InstanceGroupTable {
  uuid: string;
  name: string;
  project_id: string;
  user_id: string;
  policy: string;
  rules: Generated<string>;
  created_at: string;
}

export interface InstanceGroupMemberTable {
  group_uuid: string;
  instance_uuid: string;
  created_at: string;
}

/** Per-user quota overrides inside a project (os-quota-sets?user_id=). */
export interface UserQuotaTable {
  project_id: string;
  user_id: string;
  resource: string;
  hard_limit: number;
}

/** os-quota-class-sets; the 'default' class overrides the [quota] defaults. */
export interface QuotaClassTable {
  class_name: string;
  resource: string;
  hard_limit: number;
}

export type InstanceGroupRow = Selectable<InstanceGroupTable>;
export type ProjectRow = Selectable<ProjectTable>;
export type UserRow = Selectable<UserTable>;
export type ServiceRow = Selectable<ServiceTable>;
export type ComputeNodeRow = Selectable<ComputeNodeTable>;
export type NewComputeNode = Insertable<ComputeNodeTable>;
export type FlavorRow = Selectable<FlavorTable>;
export type KeypairRow = Selectable<KeypairTable>;
export type InstanceRow = Selectable<InstanceTable>;
export type NewInstance = Insertable<InstanceTable>;
export type InstanceUpdate = Updateable<InstanceTable>;
export type InstanceFaultRow = Selectable<InstanceFaultTable>;
export type InstanceActionRow = Selectable<InstanceActionTable>;
export type InstanceActionEventRow = Selectable<InstanceActionEventTable>;
export type ImageRow = Selectable<ImageTable>;
export type AggregateRow = Selectable<AggregateTable>;
