import type { AuthContext } from '../api/context.js';
import { ForbiddenError } from '../errors.js';

/**
 * Keystone's default policy, reduced to what Polyvisor needs: the admin role (on any
 * project) administers identity; everyone else may only see their own token, user,
 * projects and change their own password.
 */
export function adminOnly(ctx: AuthContext, action: string): void {
  if (!ctx.isAdmin) throw forbidden(action);
}

export function selfOrAdmin(ctx: AuthContext, userId: string, action: string): void {
  if (!ctx.isAdmin && ctx.userId !== userId) throw forbidden(action);
}

export function forbidden(action: string): ForbiddenError {
  return new ForbiddenError(`You are not authorized to perform the requested action: identity:${action}.`);
}
