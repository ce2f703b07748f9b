import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { InvalidInputError, PolyvisorError } from '../../../errors.js';
import { deleteExtraSpec, getExtraSpecs, setExtraSpecs } from '../../../db/repos/flavors.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, pathParam } from '../request.js';
import { strictObject } from '../validation.js';
import { visibleFlavor } from './flavor-routes.js';

const KEY_PATTERN = '^[a-zA-Z0-9-_:. /]{1,255}$';
const value = { anyOf: [{ type: 'string', maxLength: 255 }, { type: 'number' }, { type: 'boolean' }] };
const specsObject = { type: 'object', patternProperties: { [KEY_PATTERN]: value }, additionalProperties: false };
const createSchema = strictObject({ extra_specs: specsObject }, ['extra_specs']);
const updateSchema = { ...specsObject, minProperties: 1 };

type SpecValue = string | number | boolean;

/** Nova stores every spec value as a string (numbers and booleans are converted). */
function stringify(specs: Readonly<Record<string, SpecValue>>): Record<string, string> {
  return Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v)]));
}

/** `/flavors/{id}/os-extra_specs`: everyone who sees the flavor reads, admins write. */
export function extraSpecsRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/flavors/:flavor_id/os-extra_specs', async (req) => {
    const flavor = await visibleFlavor(req, deps);
    return { extra_specs: await getExtraSpecs(deps.db, flavor.id) };
  });

  app.post('/flavors/:flavor_id/os-extra_specs', { schema: { body: createSchema } }, async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-flavor-extra-specs:create');
    const flavor = await visibleFlavor(req, deps);
    const specs = stringify((req.body as { extra_specs: Record<string, SpecValue> }).extra_specs);
    await setExtraSpecs(deps.db, flavor.id, specs);
    return { extra_specs: specs };
  });

  app.get('/flavors/:flavor_id/os-extra_specs/:key', async (req) => {
    const flavor = await visibleFlavor(req, deps);
    const key = pathParam(req, 'key');
    const specs = await getExtraSpecs(deps.db, flavor.id);
    const v = specs[key];
    if (v === undefined) throw new PolyvisorError('not_found', `Flavor ${flavor.flavorid} has no extra specs with key ${key}.`);
    return { [key]: v };
  });

  app.put('/flavors/:flavor_id/os-extra_specs/:key', { schema: { body: updateSchema } }, async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-flavor-extra-specs:update');
    const flavor = await visibleFlavor(req, deps);
    const key = pathParam(req, 'key');
    const body = req.body as Record<string, SpecValue>;
    if (Object.keys(body).length > 1) throw new InvalidInputError('Request body contains too many items');
    if (!(key in body)) throw new InvalidInputError('Request body and URI mismatch');
    const specs = stringify(body);
    await setExtraSpecs(deps.db, flavor.id, specs);
    return specs;
  });

  app.delete('/flavors/:flavor_id/os-extra_specs/:key', async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-flavor-extra-specs:delete');
    const flavor = await visibleFlavor(req, deps);
    const key = pathParam(req, 'key');
    if (!(await deleteExtraSpec(deps.db, flavor.id, key))) {
      throw new PolyvisorError('not_found', `Flavor ${flavor.flavorid} has no extra specs with key ${key}.`);
    }
    return '';
  });
}
