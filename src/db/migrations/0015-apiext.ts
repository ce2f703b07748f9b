import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * When the hypervisor host of a compute node last booted (ISO time, as its driver reports
 * it), for os-hypervisors uptime; null when the driver cannot tell. And why a server is
 * locked (2.73 lock's locked_reason), null when unlocked or locked without one.
 */
export function apiext(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('compute_nodes').addColumn('boot_time', 'text').execute();
      await db.schema.alterTable('instances').addColumn('locked_reason', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').dropColumn('locked_reason').execute();
      await db.schema.alterTable('compute_nodes').dropColumn('boot_time').execute();
    },
  };
}
