import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { ConflictError, PolyvisorError } from '../../../errors.js';
import { addFlavorAccess, listFlavorAccess, removeFlavorAccess } from '../../../db/repos/flavors.js';
import type { FlavorRow } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf } from '../request.js';
import { strictObject } from '../validation.js';
import { visibleFlavor } from './flavor-routes.js';

const tenant = strictObject({ tenant: { type: 'string', minLength: 1, maxLength: 255 } }, ['tenant']);
const actionSchema = {
  type: 'object',
  oneOf: [strictObject({ addTenantAccess: tenant }, ['addTenantAccess']), strictObject({ removeTenantAccess: tenant }, ['removeTenantAccess'])],
};

type ActionBody = { addTenantAccess: { tenant: string } } | { removeTenantAccess: { tenant: string } };

async function accessList(deps: ComputeDeps, flavor: FlavorRow) {
  const projects = await listFlavorAccess(deps.db, flavor.id);
  return { flavor_access: projects.map((p) => ({ flavor_id: flavor.flavorid, tenant_id: p })) };
}

/** Private flavors' project access lists (admin). */
export function flavorAccessRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/flavors/:flavor_id/os-flavor-access', async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-flavor-access');
    const flavor = await visibleFlavor(req, deps);
    if (flavor.is_public === 1) throw new PolyvisorError('not_found', 'Access list not available for public flavors.');
    return accessList(deps, flavor);
  });

  app.post('/flavors/:flavor_id/action', { schema: { body: actionSchema } }, async (req) => {
    const body = req.body as ActionBody;
    const adding = 'addTenantAccess' in body;
    requireAdmin(callerOf(req), `os_compute_api:os-flavor-access:${adding ? 'add_tenant_access' : 'remove_tenant_access'}`);
    const flavor = await visibleFlavor(req, deps);
    if (adding) {
      const project = body.addTenantAccess.tenant;
      // Microversion 2.7: refuse access to a public flavor; before it Nova recorded it (without effect).
      if (flavor.is_public === 1 && atLeast(req, 2, 7)) throw new ConflictError('Can not add access to a public flavor.');
      if (!(await addFlavorAccess(deps.db, flavor.id, project))) {
        throw new ConflictError(`Flavor access already exists for flavor ${flavor.flavorid} and project ${project} combination.`);
      }
    } else {
      const project = body.removeTenantAccess.tenant;
      if (!(await removeFlavorAccess(deps.db, flavor.id, project))) {
        throw new PolyvisorError('not_found', `Flavor access not found for ${flavor.flavorid} / ${project} combination.`);
      }
    }
    return accessList(deps, flavor);
  });
}
