import type { AuthContext } from '../../api/context.js';
import { requireWriter } from '../../api/policy.js';
import type { Db } from '../../db/database.js';
import { getImage, memberStatus } from '../../db/repos/images.js';
import type { ImageRow } from '../../db/schema.js';
import { ForbiddenError, NotFoundError } from '../../errors.js';

/**
 * Glance's default policy, in one place: an image is visible to admins, its owner's project,
 * everyone when public or community, and its members when shared. Invisible images are 404;
 * visible ones the caller does not own are 403 for writes.
 */
export interface VisibleImage {
  readonly row: ImageRow;
  readonly owned: boolean;
  /** The caller's membership status when the image is shared with its project. */
  readonly membership: string | undefined;
}

export async function loadVisibleImage(db: Db, ctx: AuthContext, id: string): Promise<VisibleImage> {
  const row = await getImage(db, id);
  if (!row) throw new NotFoundError('Image', id);
  const owned = row.owner !== null && row.owner === ctx.projectId;
  let membership: string | undefined;
  if (!owned && row.visibility === 'shared' && ctx.projectId !== null) membership = await memberStatus(db, id, ctx.projectId);
  const visible = ctx.isAdmin || owned || row.visibility === 'public' || row.visibility === 'community' || membership !== undefined;
  if (!visible) throw new NotFoundError('Image', id);
  return { row, owned, membership };
}

/** For changes to an image: a writer of the owning project, or an admin. */
export async function loadOwnedImage(db: Db, ctx: AuthContext, id: string, what: string): Promise<ImageRow> {
  const image = await loadVisibleImage(db, ctx, id);
  requireWriter(ctx, what);
  if (!ctx.isAdmin && !image.owned) throw new ForbiddenError(`You are not permitted to ${what.replace(/_/g, ' ')} on image ${id}: it belongs to another project.`);
  return image.row;
}
