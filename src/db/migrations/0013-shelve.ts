import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * What shelve, rescue, snapshots, passwords, console output and server tags keep:
 * - `instance_system_metadata`: Nova's table of the same name, key/value facts the system
 *   keeps about an instance (shelved_at, shelved_image_id, shelved_host, image_base_image_ref,
 *   the os-server-password blob, a password handed to the agent until it has used it);
 * - `instance_tags`: server tags (microversion 2.26), unique per instance;
 * - `instance_console_output`: the last console log a compute agent read for an instance,
 *   written when the API asks (os-getConsoleOutput) so the API never calls a driver.
 */
export function shelve(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('instance_system_metadata')
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('instance_system_metadata_pk', ['instance_uuid', 'key'])
        .execute();
      await db.schema
        .createTable('instance_tags')
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('instance_tags_pk', ['instance_uuid', 'tag'])
        .execute();
      // The tag filters of GET /servers look instances up by tag.
      await db.schema.createIndex('instance_tags_tag').on('instance_tags').column('tag').execute();
      await db.schema
        .createTable('instance_console_output')
        .addColumn('instance_uuid', 'text', (c) => c.primaryKey())
        .addColumn('output', 'text')
        .addColumn('error', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('instance_console_output').execute();
      await db.schema.dropTable('instance_tags').execute();
      await db.schema.dropTable('instance_system_metadata').execute();
    },
  };
}
