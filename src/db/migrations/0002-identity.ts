import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Identity needs what Keystone's token body carries (the auth methods and the audit id
 * chain, which a rescoped token inherits), a user description, and indexes for the
 * revocations that disabling or deleting a user or project makes, and for listing the
 * assignments of a project.
 */
export function identity(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('tokens').addColumn('methods', 'text', (c) => c.notNull().defaultTo('["password"]')).execute();
      await db.schema.alterTable('tokens').addColumn('audit_ids', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema.alterTable('users').addColumn('description', 'text').execute();
      await db.schema.createIndex('tokens_user_idx').on('tokens').column('user_id').execute();
      await db.schema.createIndex('tokens_project_idx').on('tokens').column('project_id').execute();
      await db.schema.createIndex('role_assignments_project_idx').on('role_assignments').columns(['project_id', 'user_id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('role_assignments_project_idx').execute();
      await db.schema.dropIndex('tokens_project_idx').execute();
      await db.schema.dropIndex('tokens_user_idx').execute();
      await db.schema.alterTable('users').dropColumn('description').execute();
      await db.schema.alterTable('tokens').dropColumn('audit_ids').execute();
      await db.schema.alterTable('tokens').dropColumn('methods').execute();
    },
  };
}
