import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Keystone keeps any attribute it does not model on users and projects (its "extra"
 * blob) and returns it; tempest's dynamic credentials send `project_id` on a new user.
 * Stored as one JSON object per row.
 */
export function identityExtra(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('users').addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await db.schema.alterTable('projects').addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}')).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('projects').dropColumn('extra').execute();
      await db.schema.alterTable('users').dropColumn('extra').execute();
    },
  };
}
