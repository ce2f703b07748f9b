import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * The same_host / different_host scheduler hints of a server's create request (JSON
 * {same_host?: uuid[], different_host?: uuid[]}; null when none), for SameHostFilter and
 * DifferentHostFilter. And OS-DCF:diskConfig as Nova keeps it (auto_disk_config: 1 for AUTO,
 * 0 for MANUAL).
 */
export function q1(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').addColumn('scheduler_hints', 'text').execute();
      await db.schema.alterTable('instances').addColumn('auto_disk_config', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').dropColumn('auto_disk_config').execute();
      await db.schema.alterTable('instances').dropColumn('scheduler_hints').execute();
    },
  };
}
