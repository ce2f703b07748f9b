import type { FastifyInstance } from 'fastify';
import { requireAuth } from '../../api/server.js';
import { updateImage } from '../../db/repos/images.js';
import { ConflictError, ForbiddenError } from '../../errors.js';
import type { ImageApiDeps } from './deps.js';
import { loadOwnedImage } from './image-access.js';

type IdParams = { Params: { id: string } };

/**
 * Deactivate hides an active image's data from everyone but admins (e.g. while a problem
 * with it is investigated); reactivate undoes it. Repeating either is a no-op, as in Glance.
 */
export function registerActionRoutes(app: FastifyInstance, deps: ImageApiDeps): void {
  const { db } = deps;
  const transitions = { deactivate: ['active', 'deactivated'], reactivate: ['deactivated', 'active'] } as const;

  for (const [action, [from, to]] of Object.entries(transitions)) {
    app.post<IdParams>(`/v2/images/:id/actions/${action}`, async (req, reply) => {
      const ctx = requireAuth(req);
      const row = await loadOwnedImage(db, ctx, req.params.id, action);
      if (row.status === to) return reply.code(204).send();
      if (row.status !== from) throw new ForbiddenError(`Not allowed to ${action} image in status '${row.status}'.`);
      if (!(await updateImage(db, row.id, [from], { status: to }))) {
        throw new ConflictError(`Image ${row.id} changed status while it was being ${action}d; retry the request.`);
      }
      return reply.code(204).send();
    });
  }
}
