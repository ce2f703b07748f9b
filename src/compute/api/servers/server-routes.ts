import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import { InvalidInputError, PolyvisorError } from '../../../errors.js';
import { getInstance, updateInstance } from '../../../db/repos/instances.js';
import { listServers } from '../../../db/repos/server-queries.js';
import type { InstanceRow, InstanceUpdate } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast, versionOf, versionString } from '../microversion.js';
import { nameSchema, validateName } from '../names.js';
import { callerOf, Linker, param, parseLimit, queryOf } from '../request.js';
import { strictObject } from '../validation.js';
import { deleteServer } from './delete-server.js';
import { parseServerListParams } from './list-params.js';
import { lookup } from './lookup-view.js';
import { visibleServer } from './lookup.js';
import { canonicalIpv6 } from './ipv6.js';
import { serverDetail, serverSummary, serverUpdateView } from './server-view.js';

const updateSchema = strictObject(
  {
    server: strictObject({
      name: nameSchema,
      accessIPv4: { type: 'string', format: 'ipv4' },
      accessIPv6: { type: 'string', format: 'ipv6' },
      description: { anyOf: [{ type: 'null' }, { type: 'string', maxLength: 255 }] },
      // 2.90 (checked below).
      hostname: { type: 'string', minLength: 1, maxLength: 255 },
      'OS-DCF:diskConfig': { type: 'string', enum: ['AUTO', 'MANUAL'] },
    }),
  },
  ['server'],
);

interface UpdateBody {
  server: { name?: string; accessIPv4?: string; accessIPv6?: string; description?: string | null; hostname?: string; 'OS-DCF:diskConfig'?: 'AUTO' | 'MANUAL' };
}

/** Servers: list, detail, show, update, delete (create and actions live beside this file). */
export function serverRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const list = async (req: FastifyRequest, detailed: boolean) => {
    const ctx = callerOf(req);
    const q = queryOf(req);
    const linker = new Linker(req, deps);
    const { filter, sorts, empty } = parseServerListParams(q, ctx, {
      ip6ForEveryone: atLeast(req, 2, 5),
      tags: atLeast(req, 2, 26),
      strictParams: atLeast(req, 2, 75),
      strictStatus: atLeast(req, 2, 38),
      changesBefore: atLeast(req, 2, 66),
      locked: atLeast(req, 2, 73),
      simpleFiltersForEveryone: atLeast(req, 2, 83),
    });
    const limit = parseLimit(q, deps.config.api.max_limit);
    let marker: InstanceRow | undefined;
    const markerId = param(q, 'marker');
    if (markerId !== undefined) {
      marker = await getInstance(deps.db, markerId, { includeDeleted: true });
      if (!marker || (filter.projectId !== undefined && marker.project_id !== filter.projectId)) {
        throw new InvalidInputError(`marker [${markerId}] not found`);
      }
    }
    const rows = empty || limit === 0 ? [] : await listServers(deps.db, deps.dialect, filter, sorts, limit, marker);
    const body: Record<string, unknown> = {};
    if (detailed) {
      const view = await lookup(deps, linker, ctx.isAdmin, rows, versionOf(req));
      body['servers'] = rows.map((r) => serverDetail(r, view));
    } else {
      body['servers'] = rows.map((r) => serverSummary(r, linker));
    }
    const last = rows[rows.length - 1];
    if (last && rows.length === limit) body['servers_links'] = linker.next(detailed ? 'servers/detail' : 'servers', q, last.uuid);
    return body;
  };
  app.get('/servers', async (req) => list(req, false));
  app.get('/servers/detail', async (req) => list(req, true));

  app.get('/servers/:server_id', async (req) => {
    const row = await visibleServer(req, deps);
    const linker = new Linker(req, deps);
    return { server: serverDetail(row, await lookup(deps, linker, callerOf(req).isAdmin, [row], versionOf(req), { withServerGroups: true })) };
  });

  app.put('/servers/:server_id', { schema: { body: updateSchema } }, async (req) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:servers:update');
    const row = await visibleServer(req, deps);
    const s = (req.body as UpdateBody).server;
    const set: InstanceUpdate = {};
    if (s.name !== undefined) {
      validateName(s.name, 'name');
      set.display_name = s.name;
    }
    if (s.accessIPv4 !== undefined) set.access_ip_v4 = s.accessIPv4;
    if (s.accessIPv6 !== undefined) set.access_ip_v6 = canonicalIpv6(s.accessIPv6);
    const unexpected = (f: string) => new InvalidInputError(`Invalid input for field/attribute server. Additional properties are not allowed ('${f}' was unexpected)`);
    // description is accepted at every version (create-schema.ts says why); shown from 2.19.
    if (s.description !== undefined) set.display_description = s.description;
    if (s['OS-DCF:diskConfig'] !== undefined) set.auto_disk_config = s['OS-DCF:diskConfig'] === 'AUTO' ? 1 : 0;
    if (s.hostname !== undefined) {
      if (!atLeast(req, 2, 90)) throw unexpected('hostname');
      const ok = atLeast(req, 2, 94) ? /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,253}[a-zA-Z0-9])?$/.test(s.hostname) : /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(s.hostname);
      if (!ok) throw new InvalidInputError(`Invalid input for field/attribute hostname. Value: ${s.hostname}. Invalid hostname.`);
      set.hostname = s.hostname;
    }
    const updated = Object.keys(set).length === 0 ? row : ((await updateInstance(deps.db, row.uuid, {}, set)) ?? row);
    const linker = new Linker(req, deps);
    const view = await lookup(deps, linker, ctx.isAdmin, [updated], versionOf(req), { withServerGroups: true });
    return { server: serverUpdateView(serverDetail(updated, view), view) };
  });

  // 2.78: the server's NUMA topology. Polyvisor's drivers give guests no NUMA topology, which
  // Nova shows as no nodes and no page size.
  app.get('/servers/:server_id/topology', async (req) => {
    if (!atLeast(req, 2, 78)) throw new PolyvisorError('not_found', `API version ${versionString(versionOf(req))} is not supported on this method.`);
    await visibleServer(req, deps);
    return { nodes: [], pagesize_kb: null };
  });

  app.delete('/servers/:server_id', async (req, reply) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:servers:delete');
    await deleteServer(deps, req, await visibleServer(req, deps));
    return reply.status(204).send();
  });
}
