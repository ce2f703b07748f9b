import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * The scheduler's needs: `reserved_host_cpus` per node (Nova's [DEFAULT] reserved_host_cpus,
 * reported by the agent like the other reserved amounts), an index for the node list the
 * scheduler joins to services, and one for the scheduler worker's scan of instances waiting
 * for a placement, oldest first (task_state, created_at).
 */
export function scheduler(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('compute_nodes')
        .addColumn('reserved_host_cpus', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('compute_nodes_service').on('compute_nodes').columns(['service_id', 'deleted']).execute();
      await db.schema.createIndex('instances_task_created').on('instances').columns(['task_state', 'created_at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('instances_task_created').execute();
      await db.schema.dropIndex('compute_nodes_service').execute();
      await db.schema.alterTable('compute_nodes').dropColumn('reserved_host_cpus').execute();
    },
  };
}
