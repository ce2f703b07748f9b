import type { CreateTableBuilder, Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Host aggregates as Nova keeps them in its API database: an aggregate (unique name,
 * integer id for the 2.1 API, uuid for 2.41), its member service hosts, and its metadata.
 * A host's availability zone is the `availability_zone` metadata of an aggregate that
 * contains it. Deletes are hard (Nova's API database soft-deletes nothing either), so a
 * name is free again once its aggregate is gone.
 */
export function aggregates(dialect: DialectName) {
  const serial = <T extends string>(t: CreateTableBuilder<T, never>) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'serial', (c) => c.primaryKey())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await serial(db.schema.createTable('aggregates'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text')
        .execute();
      await db.schema
        .createTable('aggregate_hosts')
        .addColumn('aggregate_id', 'integer', (c) => c.notNull().references('aggregates.id').onDelete('cascade'))
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('aggregate_hosts_pk', ['aggregate_id', 'host'])
        .execute();
      // "Which aggregates hold this host" is the zone lookup every resource report makes.
      await db.schema.createIndex('aggregate_hosts_host').on('aggregate_hosts').column('host').execute();
      await db.schema
        .createTable('aggregate_metadata')
        .addColumn('aggregate_id', 'integer', (c) => c.notNull().references('aggregates.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('aggregate_metadata_pk', ['aggregate_id', 'key'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('aggregate_metadata').execute();
      await db.schema.dropTable('aggregate_hosts').execute();
      await db.schema.dropTable('aggregates').execute();
    },
  };
}
