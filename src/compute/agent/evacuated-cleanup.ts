import { updateMigration } from '../../db/repos/migrations.js';
import { errorMessage } from '../../errors.js';
import type { AgentContext } from './context.js';

/**
 * Nova's _destroy_evacuated_instances, at agent start: servers evacuated away from this host
 * while it was down still have their old copy on its hypervisor. Each one whose server now
 * lives elsewhere (or is gone) is destroyed here, and its evacuation is marked 'completed'.
 * A destroy that fails is logged and retried at the next start.
 */
export async function destroyEvacuatedInstances(ctx: AgentContext): Promise<number> {
  const { db, driver, signal, host } = ctx;
  const done = await db
    .selectFrom('migrations')
    .leftJoin('instances', 'instances.uuid', 'migrations.instance_uuid')
    .select(['migrations.id as id', 'migrations.instance_uuid as uuid', 'migrations.source_node as node', 'instances.host as currentHost'])
    .where('migrations.source_compute', '=', host)
    .where('migrations.migration_type', '=', 'evacuation')
    .where('migrations.status', '=', 'done')
    .execute();
  let n = 0;
  for (const m of done) {
    if (m.currentHost === host) continue; // evacuated back here since: the copy is the live one
    try {
      await driver.destroy({ uuid: m.uuid, node: m.node ?? '', driverInfo: {} }, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      ctx.logger.warn({ instance: m.uuid, err: errorMessage(err) }, 'could not destroy an evacuated instance; will retry at the next start');
      continue;
    }
    await updateMigration(db, m.id, ['done'], { status: 'completed' });
    n++;
  }
  if (n > 0) ctx.logger.info({ destroyed: n }, 'destroyed the local copies of evacuated instances');
  return n;
}
