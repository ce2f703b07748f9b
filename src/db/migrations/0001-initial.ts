import { type CreateTableBuilder, type Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/** The first schema. Later changes are new files; this one never changes once released. */
export function initial(dialect: DialectName) {
  const serial = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'serial', (c) => c.primaryKey())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  const bool = 'integer' as const;
  const real = dialect === 'postgres' ? ('double precision' as const) : ('real' as const);
  // Sizes in bytes exceed 2^31: PostgreSQL needs bigint, SQLite integers are 64-bit already.
  const big = dialect === 'postgres' ? ('bigint' as const) : ('integer' as const);

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('domain_id', 'text', (c) => c.notNull().defaultTo('default'))
        .addColumn('enabled', bool, (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('domain_id', 'text', (c) => c.notNull().defaultTo('default'))
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('default_project_id', 'text')
        .addColumn('email', 'text')
        .addColumn('enabled', bool, (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('roles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .execute();
      await db.schema
        .createTable('role_assignments')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('role_assignments_pk', ['user_id', 'project_id', 'role_id'])
        .execute();
      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text')
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked', bool, (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('tokens_expires_at').on('tokens').column('expires_at').execute();

      await serial(db.schema.createTable('services'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('binary', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('disabled', bool, (c) => c.notNull().defaultTo(0))
        .addColumn('disabled_reason', 'text')
        .addColumn('forced_down', bool, (c) => c.notNull().defaultTo(0))
        .addColumn('last_seen_at', 'text')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('services_host_binary', ['host', 'binary'])
        .execute();

      await serial(db.schema.createTable('compute_nodes'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('service_id', 'integer', (c) => c.notNull())
        .addColumn('hypervisor_hostname', 'text', (c) => c.notNull().unique())
        .addColumn('hypervisor_type', 'text', (c) => c.notNull())
        .addColumn('hypervisor_version', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('host_ip', 'text', (c) => c.notNull().defaultTo('127.0.0.1'))
        .addColumn('cpu_info', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('availability_zone', 'text')
        .addColumn('vcpus', 'integer', (c) => c.notNull())
        .addColumn('memory_mb', 'integer', (c) => c.notNull())
        .addColumn('local_gb', 'integer', (c) => c.notNull())
        .addColumn('vcpus_used', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('memory_mb_used', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('local_gb_used', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('running_vms', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cpu_allocation_ratio', real, (c) => c.notNull())
        .addColumn('ram_allocation_ratio', real, (c) => c.notNull())
        .addColumn('disk_allocation_ratio', real, (c) => c.notNull())
        .addColumn('reserved_host_memory_mb', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('reserved_host_disk_mb', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('capabilities', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('deleted', bool, (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('allocations')
        .addColumn('instance_uuid', 'text', (c) => c.primaryKey())
        .addColumn('node_id', 'integer', (c) => c.notNull())
        .addColumn('vcpus', 'integer', (c) => c.notNull())
        .addColumn('memory_mb', 'integer', (c) => c.notNull())
        .addColumn('disk_gb', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('allocations_node').on('allocations').column('node_id').execute();

      await serial(db.schema.createTable('flavors'))
        .addColumn('flavorid', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('vcpus', 'integer', (c) => c.notNull())
        .addColumn('memory_mb', 'integer', (c) => c.notNull())
        .addColumn('root_gb', 'integer', (c) => c.notNull())
        .addColumn('ephemeral_gb', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('swap', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('rxtx_factor', real, (c) => c.notNull().defaultTo(1))
        .addColumn('is_public', bool, (c) => c.notNull().defaultTo(1))
        .addColumn('disabled', bool, (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('flavor_extra_specs')
        .addColumn('flavor_id', 'integer', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('flavor_extra_specs_pk', ['flavor_id', 'key'])
        .execute();
      await db.schema
        .createTable('flavor_projects')
        .addColumn('flavor_id', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('flavor_projects_pk', ['flavor_id', 'project_id'])
        .execute();

      await serial(db.schema.createTable('keypairs'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull().defaultTo('ssh'))
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('keypairs_user_name', ['user_id', 'name'])
        .execute();

      await db.schema
        .createTable('instances')
        .addColumn('uuid', 'text', (c) => c.primaryKey())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('display_description', 'text')
        .addColumn('hostname', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('flavor', 'text', (c) => c.notNull())
        .addColumn('image_ref', 'text', (c) => c.notNull())
        .addColumn('key_name', 'text')
        .addColumn('key_data', 'text')
        .addColumn('user_data', 'text')
        .addColumn('config_drive', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('networks', 'text', (c) => c.notNull().defaultTo('"auto"'))
        .addColumn('availability_zone', 'text')
        .addColumn('requested_availability_zone', 'text')
        .addColumn('host', 'text')
        .addColumn('node', 'text')
        .addColumn('vm_state', 'text', (c) => c.notNull())
        .addColumn('task_state', 'text')
        .addColumn('power_state', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('reservation_id', 'text', (c) => c.notNull())
        .addColumn('launch_index', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked', bool, (c) => c.notNull().defaultTo(0))
        .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('access_ip_v4', 'text')
        .addColumn('access_ip_v6', 'text')
        .addColumn('retry_nodes', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('launched_at', 'text')
        .addColumn('terminated_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .addColumn('deleted', bool, (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'text')
        .addColumn('driver_info', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema.createIndex('instances_project').on('instances').columns(['project_id', 'deleted', 'created_at']).execute();
      await db.schema.createIndex('instances_deleted_created').on('instances').columns(['deleted', 'created_at']).execute();
      await db.schema.createIndex('instances_host_task').on('instances').columns(['host', 'task_state']).execute();
      await db.schema.createIndex('instances_task_state').on('instances').column('task_state').execute();

      await db.schema
        .createTable('instance_metadata')
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('instance_metadata_pk', ['instance_uuid', 'key'])
        .execute();
      await serial(db.schema.createTable('instance_faults'))
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('code', 'integer', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('host', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instance_faults_instance').on('instance_faults').column('instance_uuid').execute();
      await serial(db.schema.createTable('instance_actions'))
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('start_time', 'text', (c) => c.notNull())
        .addColumn('finish_time', 'text')
        .addColumn('message', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instance_actions_instance').on('instance_actions').column('instance_uuid').execute();
      await serial(db.schema.createTable('instance_action_events'))
        .addColumn('action_id', 'integer', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('start_time', 'text', (c) => c.notNull())
        .addColumn('finish_time', 'text')
        .addColumn('result', 'text')
        .addColumn('traceback', 'text')
        .addColumn('host', 'text')
        .addColumn('details', 'text')
        .execute();
      await db.schema.createIndex('instance_action_events_action').on('instance_action_events').column('action_id').execute();

      await db.schema
        .createTable('images')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('disk_format', 'text')
        .addColumn('container_format', 'text')
        .addColumn('visibility', 'text', (c) => c.notNull())
        .addColumn('protected', bool, (c) => c.notNull().defaultTo(0))
        .addColumn('owner', 'text')
        .addColumn('size', big)
        .addColumn('virtual_size', big)
        .addColumn('checksum', 'text')
        .addColumn('os_hash_algo', 'text')
        .addColumn('os_hash_value', 'text')
        .addColumn('min_disk', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('min_ram', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('properties', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('location', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('deleted', bool, (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('image_tags')
        .addColumn('image_id', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('image_tags_pk', ['image_id', 'tag'])
        .execute();
      await db.schema
        .createTable('image_members')
        .addColumn('image_id', 'text', (c) => c.notNull())
        .addColumn('member_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('image_members_pk', ['image_id', 'member_id'])
        .execute();

      await db.schema
        .createTable('quotas')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('hard_limit', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('quotas_pk', ['project_id', 'resource'])
        .execute();
    },
  };
}
