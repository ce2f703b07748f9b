import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Image API v2 needs `os_hidden` (Glance: hidden images are left out of the default list)
 * and indexes for the queries every image list makes: by owner, and by member project.
 */
export function images(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('images')
        .addColumn('os_hidden', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('images_owner_idx').on('images').columns(['owner', 'deleted']).execute();
      await db.schema.createIndex('images_created_idx').on('images').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('image_members_member_idx').on('image_members').columns(['member_id', 'status']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('image_members_member_idx').execute();
      await db.schema.dropIndex('images_created_idx').execute();
      await db.schema.dropIndex('images_owner_idx').execute();
      await db.schema.alterTable('images').dropColumn('os_hidden').execute();
    },
  };
}
