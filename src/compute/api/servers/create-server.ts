import { randomInt, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { projectOf, requireWriter } from '../../../api/policy.js';
import { InvalidInputError, QuotaExceededError } from '../../../errors.js';
import { insertInstances, startInstanceAction } from '../../../db/repos/instances.js';
import { computeUsage, lockQuotaScope, userComputeUsage, type ComputeUsage, type QuotaLimits } from '../../../db/repos/quotas.js';
import { addGroupMembers, getServerGroup } from '../../../db/repos/server-groups.js';
import type { NewInstance } from '../../../db/schema.js';
import { now } from '../../../db/time.js';
import { TaskState, VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { sanitizeHostname } from '../names.js';
import { atLeast } from '../microversion.js';
import { callerOf, Linker } from '../request.js';
import { createServerSchema, type CreateServerBody } from './create-schema.js';
import { prepareCreate, type PreparedCreate } from './prepare-create.js';
import { checkCreateVersion } from './create-versions.js';

const RESERVATION_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PASSWORD_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

function randomString(chars: string, length: number): string {
  return Array.from({ length }, () => chars[randomInt(chars.length)]).join('');
}

/**
 * `POST /servers`: validate, then in one transaction check the quota against live usage
 * and insert the instances (BUILD/scheduling), their metadata and 'create' actions;
 * after commit, ask the scheduler to place each one.
 */
export function createServerRoute(app: FastifyInstance, deps: ComputeDeps): void {
  app.post('/servers', { schema: { body: createServerSchema } }, async (req, reply) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:servers:create');
    const projectId = projectOf(ctx);
    const tags = (req.body as CreateServerBody).server.tags;
    if (tags !== undefined && !atLeast(req, 2, 52)) throw new InvalidInputError("Invalid input for field/attribute server. Additional properties are not allowed ('tags' was unexpected)");
    const versioned = checkCreateVersion(req, ctx, req.body as CreateServerBody);
    const prepared = await prepareCreate(deps, ctx, projectId, req.body as CreateServerBody, versioned);
    // Before 2.19 a server has no description of its own: Nova stores its name there.
    const p = prepared.description === null && !atLeast(req, 2, 19) ? { ...prepared, description: prepared.name } : prepared;
    const reservationId = `r-${randomString(RESERVATION_CHARS, 8)}`;

    const uuids = await deps.db.transaction().execute(async (trx) => {
      await lockQuotaScope(trx, deps.dialect, `project:${projectId}`);
      let count = allowedCount(p, p.quotas, await computeUsage(trx, deps.dialect, projectId));
      if (Object.keys(p.userQuotas).length > 0) {
        const userLimits = { ...p.quotas, ...p.userQuotas };
        count = Math.min(count, allowedCount(p, userLimits, await userComputeUsage(trx, deps.dialect, projectId, ctx.userId)));
      }
      if (p.groupUuid !== null) {
        const group = await getServerGroup(trx, p.groupUuid);
        if (!group) throw new InvalidInputError(`Instance group ${p.groupUuid} could not be found.`);
        const limit = p.quotas.server_group_members;
        if (limit >= 0 && group.members.length + count > limit) {
          if (group.members.length + p.minCount > limit) throw new QuotaExceededError('Quota exceeded, too many servers in group');
          count = limit - group.members.length;
        }
      }
      const t = now();
      const rows: NewInstance[] = Array.from({ length: count }, (_, i) => instanceRow(p, { projectId, userId: ctx.userId, reservationId, index: i, count, t }));
      await insertInstances(trx, rows);
      if (p.groupUuid !== null) await addGroupMembers(trx, p.groupUuid, rows.map((r) => r.uuid));
      const meta = rows.flatMap((r) => Object.entries(p.metadata).map(([key, value]) => ({ instance_uuid: r.uuid, key, value })));
      if (meta.length > 0) await trx.insertInto('instance_metadata').values(meta).execute();
      const tagRows = rows.flatMap((r) => [...new Set(tags ?? [])].map((tag) => ({ instance_uuid: r.uuid, tag })));
      if (tagRows.length > 0) await trx.insertInto('instance_tags').values(tagRows).execute();
      for (const r of rows) {
        await startInstanceAction(trx, { instanceUuid: r.uuid, action: 'create', requestId: req.id, userId: ctx.userId, projectId });
      }
      return rows.map((r) => r.uuid);
    });
    for (const uuid of uuids) await deps.bus.notify('scheduler', uuid);

    if (p.returnReservationId) return reply.status(202).send({ reservation_id: reservationId });
    const first = uuids[0] ?? '';
    const linker = new Linker(req, deps);
    reply.header('Location', linker.self('servers', first));
    return reply.status(202).send({
      server: {
        id: first,
        links: linker.links('servers', first),
        adminPass: p.adminPass ?? randomString(PASSWORD_CHARS, 12),
        'OS-DCF:diskConfig': p.diskConfig,
        security_groups: p.securityGroups.map((name) => ({ name })),
      },
    });
  });
}

/**
 * How many of [min_count, max_count] fit the project's instances/cores/ram quotas;
 * throws Nova's TooManyInstances message when not even min_count fits.
 */
function allowedCount(p: PreparedCreate, quotas: QuotaLimits, used: ComputeUsage): number {
  const per = { instances: 1, cores: p.flavor.vcpus, ram: p.flavor.memory_mb } as const;
  let allowed = p.maxCount;
  const overs: ('instances' | 'cores' | 'ram')[] = [];
  for (const r of ['instances', 'cores', 'ram'] as const) {
    const limit = quotas[r];
    if (limit < 0 || per[r] === 0) continue;
    if (used[r] + per[r] * p.maxCount > limit) overs.push(r);
    allowed = Math.min(allowed, Math.floor(Math.max(0, limit - used[r]) / per[r]));
  }
  if (allowed >= p.minCount) return allowed;
  const requested = {
    instances: p.minCount === p.maxCount ? String(p.minCount) : `${p.minCount}-${p.maxCount}`,
    cores: String(per.cores * p.maxCount),
    ram: String(per.ram * p.maxCount),
  };
  const list = (f: (r: (typeof overs)[number]) => string) => overs.map(f).join(', ');
  const names = overs.join(', ');
  throw new QuotaExceededError(
    `Quota exceeded for ${names}: Requested ${list((r) => requested[r])}, but already used ${list((r) => String(used[r]))} of ${list((r) => String(quotas[r]))} ${names}`,
    { overs, allowed },
  );
}

function instanceRow(
  p: PreparedCreate,
  o: { projectId: string; userId: string; reservationId: string; index: number; count: number; t: string },
): NewInstance {
  const uuid = randomUUID();
  // Nova's multi_instance_display_name_template: '%(name)s-%(count)d', counting from 1.
  const displayName = o.count > 1 ? `${p.name}-${o.index + 1}` : p.name;
  return {
    uuid,
    display_name: displayName,
    display_description: p.description,
    hostname: p.hostname ?? sanitizeHostname(displayName, `Server-${uuid}`),
    project_id: o.projectId,
    user_id: o.userId,
    flavor: JSON.stringify(p.flavor),
    image_ref: p.imageRef,
    key_name: p.keyName,
    key_data: p.keyData,
    user_data: p.userData,
    injected_files: p.injectedFiles === null ? null : JSON.stringify(p.injectedFiles),
    config_drive: p.configDrive,
    networks: p.networks,
    availability_zone: null,
    requested_availability_zone: p.availabilityZone,
    requested_host: p.requestedHost,
    requested_node: p.requestedNode,
    scheduler_hints: p.schedulerHints,
    auto_disk_config: p.diskConfig === 'AUTO' ? 1 : 0,
    host: null,
    node: null,
    vm_state: VmState.BUILDING,
    task_state: TaskState.SCHEDULING,
    power_state: 0,
    reservation_id: o.reservationId,
    launch_index: o.index,
    access_ip_v4: p.accessIPv4,
    access_ip_v6: p.accessIPv6,
    created_at: o.t,
    updated_at: o.t,
  };
}

