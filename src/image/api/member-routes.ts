import type { FastifyInstance } from 'fastify';
import type { AuthContext } from '../../api/context.js';
import { requireWriter } from '../../api/policy.js';
import { requireAuth } from '../../api/server.js';
import {
  addImageMember,
  deleteImageMember,
  getImageMember,
  listImageMembers,
  setImageMemberStatus,
  type ImageMemberRecord,
} from '../../db/repos/images.js';
import type { Db } from '../../db/database.js';
import { apiTime } from '../../db/time.js';
import { ConflictError, ForbiddenError, NotFoundError, TooLargeError } from '../../errors.js';
import { MEMBER_STATUSES } from './attributes.js';
import type { ImageApiDeps } from './deps.js';
import { loadOwnedImage, loadVisibleImage, type VisibleImage } from './image-access.js';

/** Glance image_member_quota. */
const MAX_MEMBERS = 128;

type IdParams = { Params: { id: string } };
type MemberParams = { Params: { id: string; member: string } };

const CREATE_BODY = {
  type: 'object',
  required: ['member'],
  additionalProperties: false,
  properties: { member: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;
const UPDATE_BODY = {
  type: 'object',
  required: ['status'],
  additionalProperties: false,
  properties: { status: { type: 'string', enum: [...MEMBER_STATUSES] } },
} as const;

export function memberView(m: ImageMemberRecord): Record<string, unknown> {
  return {
    created_at: apiTime(m.created_at),
    image_id: m.image_id,
    member_id: m.member_id,
    schema: '/v2/schemas/member',
    status: m.status,
    updated_at: apiTime(m.updated_at),
  };
}

/**
 * Sharing: the owner adds and removes member projects of a `shared` image; each member
 * accepts or rejects (which decides whether the image shows in its default list). A member
 * sees only its own membership.
 */
export function registerMemberRoutes(app: FastifyInstance, deps: ImageApiDeps): void {
  const { db } = deps;

  app.post<IdParams & { Body: { member: string } }>('/v2/images/:id/members', { schema: { body: CREATE_BODY } }, async (req) => {
    const ctx = requireAuth(req);
    const row = await loadOwnedImage(db, ctx, req.params.id, 'add_member');
    assertShared(row.visibility);
    if ((await listImageMembers(db, row.id)).length >= MAX_MEMBERS) {
      throw new TooLargeError(`Maximum number of image members exceeded: at most ${MAX_MEMBERS} per image.`);
    }
    const added = await addImageMember(db, row.id, req.body.member);
    if (!added) throw new ConflictError(`Member ${req.body.member} is duplicated for image ${row.id}.`);
    return memberView(added);
  });

  app.get<IdParams>('/v2/images/:id/members', async (req) => {
    const ctx = requireAuth(req);
    const image = await loadVisibleImage(db, ctx, req.params.id);
    assertShared(image.row.visibility);
    const members = await listImageMembers(db, image.row.id);
    const seen = ownerView(ctx, image) ? members : members.filter((m) => m.member_id === ctx.projectId);
    return { members: seen.map(memberView), schema: '/v2/schemas/members' };
  });

  app.get<MemberParams>('/v2/images/:id/members/:member', async (req) => {
    const ctx = requireAuth(req);
    const image = await loadVisibleImage(db, ctx, req.params.id);
    assertShared(image.row.visibility);
    return memberView(await visibleMember(db, ctx, image, req.params.member));
  });

  app.put<MemberParams & { Body: { status: string } }>('/v2/images/:id/members/:member', { schema: { body: UPDATE_BODY } }, async (req) => {
    const ctx = requireAuth(req);
    const image = await loadVisibleImage(db, ctx, req.params.id);
    assertShared(image.row.visibility);
    await visibleMember(db, ctx, image, req.params.member);
    requireWriter(ctx, 'modify_member');
    // Only the consumer decides whether it accepts an image; not even the owner may.
    if (req.params.member !== ctx.projectId) throw new ForbiddenError(`You are not permitted to modify 'status' on this image member.`);
    const updated = await setImageMemberStatus(db, image.row.id, req.params.member, req.body.status);
    if (!updated) throw new NotFoundError('Member', req.params.member);
    return memberView(updated);
  });

  app.delete<MemberParams>('/v2/images/:id/members/:member', async (req, reply) => {
    const ctx = requireAuth(req);
    const row = await loadOwnedImage(db, ctx, req.params.id, 'delete_member');
    assertShared(row.visibility);
    if (!(await deleteImageMember(db, row.id, req.params.member))) throw new NotFoundError('Member', req.params.member);
    return reply.code(204).send();
  });
}

function assertShared(visibility: string): void {
  if (visibility !== 'shared') throw new ForbiddenError(`Only shared images have members; this image's visibility is ${visibility}.`);
}

function ownerView(ctx: AuthContext, image: VisibleImage): boolean {
  return ctx.isAdmin || image.owned;
}

/** The owner sees every member; a member sees only itself; anyone else gets 404. */
async function visibleMember(db: Db, ctx: AuthContext, image: VisibleImage, memberId: string): Promise<ImageMemberRecord> {
  const m = await getImageMember(db, image.row.id, memberId);
  if (!m || (!ownerView(ctx, image) && memberId !== ctx.projectId)) throw new NotFoundError('Member', memberId);
  return m;
}
