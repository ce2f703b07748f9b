import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * The dashboard's live instance feed asks every second "which instance rows changed since
 * T?" (src/web/instance-feed.ts); an index on updated_at answers that without a scan, on
 * SQLite and PostgreSQL alike, however many instances (deleted ones included) there are.
 */
export function dashboard(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('instances_updated_at').on('instances').column('updated_at').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('instances_updated_at').execute();
    },
  };
}
