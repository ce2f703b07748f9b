import type { Db } from '../../../db/database.js';
import { classQuotas, defaultQuotas, projectQuotas, userQuotaOverrides, type QuotaLimits } from '../../../db/repos/quotas.js';
import type { ComputeDeps } from '../deps.js';

/**
 * Quota limits as Nova's DbQuotaDriver resolves them: [quota] options, overlaid by the
 * 'default' quota class (os-quota-class-sets/default), by the project's limits, and, for
 * per-user quotas, by the user's overrides within the project.
 */
export async function quotaDefaults(db: Db, deps: Pick<ComputeDeps, 'config'>): Promise<QuotaLimits> {
  return classQuotas(db, defaultQuotas(deps.config.quota), 'default');
}

export async function projectLimits(db: Db, deps: Pick<ComputeDeps, 'config'>, projectId: string): Promise<QuotaLimits> {
  return projectQuotas(db, await quotaDefaults(db, deps), projectId);
}

/** The limits that apply to `userId` in `projectId` (the project's, with the user's overrides). */
export async function effectiveQuotas(db: Db, deps: Pick<ComputeDeps, 'config'>, projectId: string, userId: string): Promise<QuotaLimits> {
  return { ...(await projectLimits(db, deps, projectId)), ...(await userQuotaOverrides(db, projectId, userId)) };
}
