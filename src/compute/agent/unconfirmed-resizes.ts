import { startInstanceAction } from '../../db/repos/instances.js';
import { updateMigration } from '../../db/repos/migrations.js';
import type { AgentContext } from './context.js';

/**
 * Nova's _poll_unconfirmed_resizes, run by the destination's agent every report_interval
 * when [DEFAULT] resize_confirm_window > 0: a resize or cold migration that has waited in
 * VERIFY_RESIZE longer than the window is confirmed as if its user had asked (a
 * confirmResize action; the source agent does the rest). Returns how many it confirmed.
 */
export async function confirmOldResizes(ctx: AgentContext, windowSeconds: number, nowMs = Date.now()): Promise<number> {
  if (windowSeconds <= 0) return 0;
  const cutoff = new Date(nowMs - windowSeconds * 1000).toISOString();
  const due = await ctx.db
    .selectFrom('migrations')
    .innerJoin('instances', 'instances.uuid', 'migrations.instance_uuid')
    .select(['migrations.id as id', 'migrations.instance_uuid as instanceUuid', 'migrations.source_compute as source', 'instances.user_id as userId', 'instances.project_id as projectId'])
    .where('migrations.dest_compute', '=', ctx.host)
    .where('migrations.status', '=', 'finished')
    .where('migrations.updated_at', '<', cutoff)
    .where('instances.vm_state', '=', 'resized')
    .where('instances.task_state', 'is', null)
    .where('instances.deleted', '=', 0)
    .execute();
  let n = 0;
  for (const m of due) {
    const done = await ctx.db.transaction().execute(async (trx) => {
      if (!(await updateMigration(trx, m.id, ['finished'], { status: 'confirming' }))) return false;
      await startInstanceAction(trx, { instanceUuid: m.instanceUuid, action: 'confirmResize', requestId: `req-auto-confirm-${m.id}`, userId: m.userId, projectId: m.projectId });
      return true;
    });
    if (!done) continue;
    n++;
    ctx.logger.info({ instance: m.instanceUuid, window: windowSeconds }, 'resize confirmed automatically after resize_confirm_window');
    await ctx.bus.notify('instances', m.source ?? '');
  }
  return n;
}
