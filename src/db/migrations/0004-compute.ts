import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * The Compute API's needs: where an admin forced a server (`zone:host[:node]` in
 * availability_zone; the scheduler may honour it), and indexes for the server list's
 * default order (created_at, then uuid) per project and across projects, so a page of
 * /servers/detail is read in index order without sorting the whole table.
 */
export function compute(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').addColumn('requested_host', 'text').execute();
      await db.schema.alterTable('instances').addColumn('requested_node', 'text').execute();
      await db.schema.createIndex('instances_project_order').on('instances').columns(['project_id', 'deleted', 'created_at', 'uuid']).execute();
      await db.schema.createIndex('instances_order').on('instances').columns(['deleted', 'created_at', 'uuid']).execute();
      await db.schema.createIndex('instances_reservation').on('instances').column('reservation_id').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('instances_reservation').execute();
      await db.schema.dropIndex('instances_order').execute();
      await db.schema.dropIndex('instances_project_order').execute();
      await db.schema.alterTable('instances').dropColumn('requested_node').execute();
      await db.schema.alterTable('instances').dropColumn('requested_host').execute();
    },
  };
}
