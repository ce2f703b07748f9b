import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { ConflictError, InvalidInputError, NotFoundError, PolyvisorError } from '../../../errors.js';
import { atLeast, versionOf, versionString } from '../microversion.js';
import {
  createFlavor,
  deleteFlavor,
  FLAVOR_SORT_KEYS,
  getExtraSpecs,
  getFlavor,
  listFlavors,
  updateFlavorDescription,
  type FlavorListFilter,
  type FlavorSortKey,
} from '../../../db/repos/flavors.js';
import type { FlavorRow } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, Linker, param, parseBool, parseLimit, pathParam, queryOf, type Query } from '../request.js';
import { strictObject } from '../validation.js';
import { flavorDetail, flavorSummary, type FlavorViewOptions } from './flavor-view.js';
import { nameSchema, validateName } from '../names.js';

const positive = { anyOf: [{ type: 'integer', minimum: 1, maximum: 2147483647 }, { type: 'string', pattern: '^[0-9]+$' }] };
const nonNegative = { anyOf: [{ type: 'integer', minimum: 0, maximum: 2147483647 }, { type: 'string', pattern: '^[0-9]+$' }] };
const booleanLike = { anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['True', 'true', 'False', 'false', '1', '0', 'yes', 'no', 'on', 'off', 'y', 'n', 't', 'f'] }] };

const createSchema = strictObject(
  {
    flavor: strictObject(
      {
        name: nameSchema,
        // Nova also takes a number (kept as its decimal string): tempest creates flavors with integer ids.
        id: { anyOf: [{ type: 'null' }, { type: 'number' }, { type: 'string', minLength: 1, maxLength: 255, pattern: '^(?! )[a-zA-Z0-9. _-]+(?<! )$' }] },
        ram: positive,
        vcpus: positive,
        disk: nonNegative,
        'OS-FLV-EXT-DATA:ephemeral': nonNegative,
        swap: nonNegative,
        rxtx_factor: { anyOf: [{ type: 'number', exclusiveMinimum: 0, maximum: 3.40282e38 }, { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' }] },
        'os-flavor-access:is_public': booleanLike,
        // 2.55; refused before it (parseCreate).
        description: { anyOf: [{ type: 'null' }, { type: 'string', maxLength: 65535 }] },
      },
      ['name', 'ram', 'vcpus', 'disk'],
    ),
  },
  ['flavor'],
);

interface CreateBody {
  flavor: {
    name: string;
    id?: string | number | null;
    ram: number | string;
    vcpus: number | string;
    disk: number | string;
    'OS-FLV-EXT-DATA:ephemeral'?: number | string;
    swap?: number | string;
    rxtx_factor?: number | string;
    'os-flavor-access:is_public'?: boolean | string;
    description?: string | null;
  };
}

const updateSchema = strictObject({ flavor: strictObject({ description: { anyOf: [{ type: 'null' }, { type: 'string', maxLength: 65535 }] } }, ['description']) }, ['flavor']);

/** Flavor views of this request: the version and, from 2.61, the flavor's extra specs (one query per flavor shown). */
async function viewOptions(req: FastifyRequest, deps: ComputeDeps, f: FlavorRow): Promise<FlavorViewOptions> {
  const version = versionOf(req);
  return atLeast(req, 2, 61) ? { version, extraSpecs: await getExtraSpecs(deps.db, f.id) } : { version };
}

/** Flavors: list, detail, show, and (admin) create and delete. */
export function flavorRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const list = async (req: FastifyRequest, detailed: boolean) => {
    const ctx = callerOf(req);
    const q = queryOf(req);
    const linker = new Linker(req, deps);
    const rows = await listFlavors(deps.db, ctx, flavorFilter(q, ctx.isAdmin), flavorSort(q));
    const limit = parseLimit(q, deps.config.api.max_limit);
    const marker = param(q, 'marker');
    let start = 0;
    if (marker !== undefined) {
      const i = rows.findIndex((r) => r.flavorid === marker);
      if (i < 0) throw new InvalidInputError(`marker [${marker}] not found`);
      start = i + 1;
    }
    const page = rows.slice(start, start + limit);
    const flavors: unknown[] = [];
    for (const f of page) flavors.push(detailed ? flavorDetail(f, linker, await viewOptions(req, deps, f)) : flavorSummary(f, linker, { version: versionOf(req) }));
    const body: Record<string, unknown> = { flavors };
    const last = page[page.length - 1];
    if (last && page.length === limit) body['flavors_links'] = linker.next(detailed ? 'flavors/detail' : 'flavors', q, last.flavorid);
    return body;
  };
  app.get('/flavors', async (req) => list(req, false));
  app.get('/flavors/detail', async (req) => list(req, true));

  app.get('/flavors/:flavor_id', async (req) => {
    const flavor = await visibleFlavor(req, deps);
    return { flavor: flavorDetail(flavor, new Linker(req, deps), await viewOptions(req, deps, flavor)) };
  });

  // 2.55: only the description of a flavor can change.
  app.put('/flavors/:flavor_id', { schema: { body: updateSchema } }, async (req) => {
    if (!atLeast(req, 2, 55)) throw new PolyvisorError('not_found', `API version ${versionString(versionOf(req))} is not supported on this method.`);
    requireAdmin(callerOf(req), 'os_compute_api:os-flavor-manage:update');
    const flavor = await visibleFlavor(req, deps);
    const updated = await updateFlavorDescription(deps.db, flavor.id, (req.body as { flavor: { description: string | null } }).flavor.description);
    return { flavor: flavorDetail(updated, new Linker(req, deps), await viewOptions(req, deps, updated)) };
  });

  app.post('/flavors', { schema: { body: createSchema } }, async (req) => {
    const ctx = callerOf(req);
    requireAdmin(ctx, 'os_compute_api:os-flavor-manage:create');
    const f = (req.body as CreateBody).flavor;
    validateName(f.name, 'name');
    if (f.description !== undefined && !atLeast(req, 2, 55)) {
      throw new InvalidInputError("Invalid input for field/attribute flavor. Additional properties are not allowed ('description' was unexpected)");
    }
    const flavorid = f.id === undefined || f.id === null || f.id === 'auto' ? randomUUID() : String(f.id);
    const rxtx = f.rxtx_factor === undefined ? 1 : Number(f.rxtx_factor);
    if (!(rxtx > 0)) throw new InvalidInputError('Invalid input for field/attribute rxtx_factor: must be greater than 0.');
    const ram = Number(f.ram);
    const vcpus = Number(f.vcpus);
    if (ram < 1 || vcpus < 1) throw new InvalidInputError(`Invalid input for field/attribute ${ram < 1 ? 'ram' : 'vcpus'}: must be at least 1.`);
    const result = await createFlavor(deps.db, {
      flavorid,
      name: f.name,
      description: f.description ?? null,
      vcpus,
      memory_mb: ram,
      root_gb: Number(f.disk),
      ephemeral_gb: Number(f['OS-FLV-EXT-DATA:ephemeral'] ?? 0),
      swap: Number(f.swap ?? 0),
      rxtx_factor: rxtx,
      is_public: f['os-flavor-access:is_public'] === undefined ? true : parseBool(String(f['os-flavor-access:is_public']), 'os-flavor-access:is_public'),
    });
    if (!result.ok) {
      throw new ConflictError(result.duplicate === 'name' ? `Flavor with name ${f.name} already exists.` : `Flavor with ID ${flavorid} already exists.`);
    }
    return { flavor: flavorDetail(result.row, new Linker(req, deps), await viewOptions(req, deps, result.row)) };
  });

  app.delete('/flavors/:flavor_id', async (req, reply) => {
    const ctx = callerOf(req);
    requireAdmin(ctx, 'os_compute_api:os-flavor-manage:delete');
    const flavor = await visibleFlavor(req, deps);
    await deleteFlavor(deps.db, flavor.id);
    return reply.status(202).send();
  });
}

/** The flavor named in the path, or 404 when it does not exist or is not visible to the caller. */
export async function visibleFlavor(req: FastifyRequest, deps: ComputeDeps): Promise<FlavorRow> {
  const id = pathParam(req, 'flavor_id');
  const flavor = await getFlavor(deps.db, id, callerOf(req));
  if (!flavor) throw new NotFoundError('Flavor', id);
  return flavor;
}

function flavorFilter(q: Query, isAdmin: boolean): FlavorListFilter {
  const raw = param(q, 'is_public');
  let isPublic: boolean | null = true;
  if (raw !== undefined) {
    if (raw.trim().toLowerCase() === 'none') isPublic = null;
    else {
      try {
        isPublic = parseBool(raw, 'is_public');
      } catch {
        throw new InvalidInputError(`Invalid is_public filter [${raw}]`);
      }
    }
  }
  // Non-admins always get public flavors plus the private ones their project may use.
  const filter: { -readonly [K in keyof FlavorListFilter]: FlavorListFilter[K] } = {
    isPublic: isAdmin ? isPublic : true,
    includeDisabled: isAdmin,
  };
  const minRam = param(q, 'minRam');
  if (minRam !== undefined) {
    if (!/^\d+$/.test(minRam)) throw new InvalidInputError(`Invalid minRam filter [${minRam}]`);
    filter.minRam = Number(minRam);
  }
  const minDisk = param(q, 'minDisk');
  if (minDisk !== undefined) {
    if (!/^\d+$/.test(minDisk)) throw new InvalidInputError(`Invalid minDisk filter [${minDisk}]`);
    filter.minDisk = Number(minDisk);
  }
  return filter;
}

function flavorSort(q: Query): { key: FlavorSortKey; dir: 'asc' | 'desc' } {
  const key = param(q, 'sort_key') ?? 'flavorid';
  const dir = param(q, 'sort_dir') ?? 'asc';
  if (!(FLAVOR_SORT_KEYS as readonly string[]).includes(key)) throw new InvalidInputError(`Invalid sort_key: ${key}`);
  if (dir !== 'asc' && dir !== 'desc') throw new InvalidInputError(`Invalid sort_dir: ${dir}; must be 'asc' or 'desc'`);
  return { key: key as FlavorSortKey, dir };
}
