import { ForbiddenError, NotFoundError } from '../errors.js';
import type { AuthContext } from './context.js';

/**
 * Who may do what, in one place. Roles: `reader` reads, `member` reads and writes
 * within its project, `admin` does anything anywhere. Resources of another project
 * are not forbidden but invisible: callers answer 404, as Nova does.
 */
export function projectOf(ctx: AuthContext): string {
  if (ctx.projectId === null) throw new ForbiddenError('This operation needs a project-scoped token.');
  return ctx.projectId;
}

export function requireAdmin(ctx: AuthContext, what = 'this operation'): void {
  if (!ctx.isAdmin) throw new ForbiddenError(`Policy doesn't allow ${what} to be performed.`);
}

/** Members and admins may change things; readers may not. */
export function requireWriter(ctx: AuthContext, what = 'this operation'): void {
  if (ctx.isAdmin) return;
  if (!ctx.roles.includes('member')) throw new ForbiddenError(`Policy doesn't allow ${what} to be performed.`);
}

/** Whether the caller may see a resource owned by `ownerProjectId`. */
export function canSee(ctx: AuthContext, ownerProjectId: string | null): boolean {
  return ctx.isAdmin || (ownerProjectId !== null && ownerProjectId === ctx.projectId);
}

/** Throws the 404 a caller gets for something of another project. */
export function assertVisible(ctx: AuthContext, ownerProjectId: string | null, what: string, id: string): void {
  if (!canSee(ctx, ownerProjectId)) throw new NotFoundError(what, id);
}
