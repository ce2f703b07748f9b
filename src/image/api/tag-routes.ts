import type { FastifyInstance } from 'fastify';
import { requireAuth } from '../../api/server.js';
import { addImageTag, imageTags, removeImageTag, updateImage } from '../../db/repos/images.js';
import { NotFoundError, TooLargeError } from '../../errors.js';
import { MAX_TAGS, parseTag } from './attributes.js';
import type { ImageApiDeps } from './deps.js';
import { loadOwnedImage } from './image-access.js';

type TagParams = { Params: { id: string; tag: string } };

/** PUT/DELETE /v2/images/{id}/tags/{tag}: 204 either way; a tag that is not there is 404. */
export function registerTagRoutes(app: FastifyInstance, deps: ImageApiDeps): void {
  const { db } = deps;

  app.put<TagParams>('/v2/images/:id/tags/:tag', async (req, reply) => {
    const ctx = requireAuth(req);
    const row = await loadOwnedImage(db, ctx, req.params.id, 'modify_image');
    const tag = parseTag(req.params.tag);
    const tags = (await imageTags(db, [row.id])).get(row.id) ?? [];
    if (!tags.includes(tag)) {
      if (tags.length >= MAX_TAGS) throw new TooLargeError(`Maximum number of tags exceeded: attempted ${tags.length + 1}, maximum ${MAX_TAGS}.`);
      await addImageTag(db, row.id, tag);
      await updateImage(db, row.id, undefined, {});
    }
    return reply.code(204).send();
  });

  app.delete<TagParams>('/v2/images/:id/tags/:tag', async (req, reply) => {
    const ctx = requireAuth(req);
    const row = await loadOwnedImage(db, ctx, req.params.id, 'modify_image');
    if (!(await removeImageTag(db, row.id, req.params.tag))) throw new NotFoundError('Tag', req.params.tag);
    await updateImage(db, row.id, undefined, {});
    return reply.code(204).send();
  });
}
