import type { CreateTableBuilder, Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Nova's `migrations` table: one row per move of an instance (resize, cold migration, live
 * migration, evacuation) with its source and destination, its status as Nova names them
 * ('pre-migrating', 'migrating', 'post-migrating', 'finished', 'confirming', 'confirmed',
 * 'reverting', 'reverted', 'accepted', 'preparing', 'running', 'completed', 'cancelled',
 * 'done', 'error', 'failed'), the flavors before and after (JSON FlavorSnapshot) and the
 * vm_state to return to. The compute agents read it to know which side of a move they are.
 *
 * Also `instance_diagnostics`: a server's diagnostics asked for by the API (requested_at)
 * and answered by its compute agent (data, or error), since the API never calls a driver.
 */
export function migrations(dialect: DialectName) {
  const serial = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'serial', (c) => c.primaryKey())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await serial(db.schema.createTable('migrations'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('migration_type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('source_compute', 'text')
        .addColumn('source_node', 'text')
        .addColumn('dest_compute', 'text')
        .addColumn('dest_node', 'text')
        .addColumn('dest_host', 'text')
        .addColumn('old_flavor', 'text', (c) => c.notNull())
        .addColumn('new_flavor', 'text', (c) => c.notNull())
        .addColumn('old_vm_state', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('migrations_instance').on('migrations').columns(['instance_uuid', 'id']).execute();
      await db.schema.createIndex('migrations_source_status').on('migrations').columns(['source_compute', 'status']).execute();
      await db.schema.createIndex('migrations_updated').on('migrations').columns(['updated_at', 'id']).execute();
      await db.schema
        .createTable('instance_diagnostics')
        .addColumn('instance_uuid', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('data', 'text')
        .addColumn('error', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instance_diagnostics_host').on('instance_diagnostics').columns(['host', 'data']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('instance_diagnostics').execute();
      await db.schema.dropTable('migrations').execute();
    },
  };
}
