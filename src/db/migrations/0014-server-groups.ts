import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Server groups (Nova's instance groups, in its API database): a group with one policy
 * (affinity, anti-affinity, soft-affinity, soft-anti-affinity) and its rules (JSON, e.g.
 * {"max_server_per_host": 2}), and its member instances. Groups are hard-deleted; a member
 * row goes with its group, and a deleted instance no longer counts as a member (members are
 * read joined to the live instances). Per-user quota overrides (os-quota-sets?user_id=) and
 * quota classes (os-quota-class-sets) are kept here too.
 */
export function serverGroups(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('instance_groups')
        .addColumn('uuid', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instance_groups_project').on('instance_groups').column('project_id').execute();
      await db.schema
        .createTable('instance_group_members')
        .addColumn('group_uuid', 'text', (c) => c.notNull().references('instance_groups.uuid').onDelete('cascade'))
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('instance_group_members_pk', ['group_uuid', 'instance_uuid'])
        .execute();
      await db.schema.createIndex('instance_group_members_instance').on('instance_group_members').column('instance_uuid').execute();
      await db.schema
        .createTable('user_quotas')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('hard_limit', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_quotas_pk', ['project_id', 'user_id', 'resource'])
        .execute();
      await db.schema
        .createTable('quota_classes')
        .addColumn('class_name', 'text', (c) => c.notNull())
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('hard_limit', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('quota_classes_pk', ['class_name', 'resource'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('quota_classes').execute();
      await db.schema.dropTable('user_quotas').execute();
      await db.schema.dropTable('instance_group_members').execute();
      await db.schema.dropTable('instance_groups').execute();
    },
  };
}
