import { randomInt } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireAdmin, requireWriter } from '../../../api/policy.js';
import { ConflictError, InvalidInputError, PolyvisorError, QuotaExceededError } from '../../../errors.js';
import { findService } from '../../../db/repos/compute-admin.js';
import { getComputeNode } from '../../../db/repos/compute-nodes.js';
import { getExtraSpecs, getFlavor } from '../../../db/repos/flavors.js';
import { getInstance, startInstanceAction, updateInstance } from '../../../db/repos/instances.js';
import { insertMigration, latestMigration, moveAllocation, updateMigration, type MigrationType } from '../../../db/repos/migrations.js';
import { computeUsage, defaultQuotas, lockQuotaScope, projectQuotas } from '../../../db/repos/quotas.js';
import type { InstanceRow, InstanceUpdate } from '../../../db/schema.js';
import type { Db } from '../../../db/database.js';
import { filtersFromConfig } from '../../scheduler/filters/index.js';
import { claimMoveTarget, type MoveTarget } from '../../scheduler/move-target.js';
import { moveRequestSpec } from '../../scheduler/placement-facts.js';
import { parseFlavor, parseStringMap } from '../../scheduler/request-spec.js';
import { isServiceUp } from '../../service-status.js';
import { TaskState, VmState, type FlavorSnapshot } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf } from '../request.js';
import { actionArgs, optBool, optEnum, optString } from './action-args.js';
import { assertHypervisorSupports } from './hypervisor-support.js';
import { assertUnlocked, invalidState, visibleServer } from './lookup.js';
import { diskConfigFor } from './prepare-create.js';

/**
 * Moves of a server, as Nova's server actions: resize (+ confirmResize / revertResize),
 * migrate (cold, admin), os-migrateLive (admin) and evacuate (admin). The API checks the
 * request and the state, chooses and claims the destination (Nova's conductor and
 * scheduler; here synchronously, so a move no node can take is a 400 "No valid host" at
 * once instead of a failed action afterwards), records the migration and hands the work to
 * the source's (or for evacuate the destination's) compute agent through task_state.
 */
const MOVE_ACTIONS = new Set(['resize', 'confirmResize', 'revertResize', 'migrate', 'os-migrateLive', 'evacuate']);

export function isMoveAction(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const keys = Object.keys(body);
  return keys.length === 1 && MOVE_ACTIONS.has(keys[0] as string);
}


export async function moveAction(req: FastifyRequest, reply: FastifyReply, deps: ComputeDeps): Promise<unknown> {
  const key = Object.keys(req.body as object)[0] as string;
  const row = await visibleServer(req, deps);
  switch (key) {
    case 'resize':
      await resize(req, deps, row);
      return reply.status(202).send();
    case 'confirmResize':
      await confirmOrRevert(req, deps, row, 'confirmResize');
      return reply.status(204).send();
    case 'revertResize':
      await confirmOrRevert(req, deps, row, 'revertResize');
      return reply.status(202).send();
    case 'migrate':
      await migrate(req, deps, row);
      return reply.status(202).send();
    case 'os-migrateLive':
      await migrateLive(req, deps, row);
      return reply.status(202).send();
    default: {
      const adminPass = await evacuate(req, deps, row);
      return atLeast(req, 2, 14) ? reply.status(200).send() : reply.status(200).send({ adminPass });
    }
  }
}

function noArgs(req: FastifyRequest, key: string): void {
  const arg = (req.body as Record<string, unknown>)[key];
  if (arg !== null && !(typeof arg === 'object' && !Array.isArray(arg) && Object.keys(arg).length === 0)) {
    throw new InvalidInputError(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(arg)}. The action takes no arguments.`);
  }
}

function checkState(action: string, row: InstanceRow, vmStates: readonly string[]): void {
  if (!vmStates.includes(row.vm_state)) throw invalidState(action, row, 'vm_state');
  if (row.task_state !== null) throw invalidState(action, row, 'task_state');
  if (row.host === null || row.node === null) throw invalidState(action, row, 'vm_state');
}

/** Nova's check_instance_host(check_is_up=True): the source's compute service must be up to do its part. */
async function assertSourceUp(deps: ComputeDeps, row: InstanceRow): Promise<void> {
  const svc = row.host === null ? undefined : await findService(deps.db, row.host, 'nova-compute');
  if (!svc || !isServiceUp(svc, deps.config.DEFAULT.service_down_time)) throw new ConflictError('Service is unavailable at this time.');
}

/** An admin's target host must be a compute service we know (Nova: ComputeHostNotFound). */
async function assertHostExists(deps: ComputeDeps, host: string, status: 'invalid_input' | 'not_found' = 'invalid_input'): Promise<void> {
  if (!(await findService(deps.db, host, 'nova-compute'))) throw new PolyvisorError(status, `Compute host ${host} could not be found.`);
}

/**
 * Resize, cold and live migration hand the driver's disks (or memory) to the destination's
 * driver: only a node of the source's hypervisor type can take them (an evacuation rebuilds
 * from the image and may go wherever the image's properties allow).
 */
async function sourceType(deps: ComputeDeps, row: InstanceRow): Promise<{ hypervisorType?: string }> {
  const node = row.node === null ? undefined : await getComputeNode(deps.db, row.node);
  return node ? { hypervisorType: node.hypervisor_type } : {};
}

interface MoveSpec {
  readonly action: string;
  readonly type: MigrationType;
  readonly status: string;
  readonly task: string;
  readonly newFlavor: FlavorSnapshot;
  readonly target: Omit<Parameters<typeof claimMoveTarget>[1], 'consumer' | 'flavor' | 'serviceDownTime' | 'placement'>;
  /** Quota check for a resize to a bigger flavor, inside the transaction. */
  readonly quota?: (trx: Db) => Promise<void>;
  /** Other instance fields the request changes (resize's OS-DCF:diskConfig). */
  readonly set?: InstanceUpdate;
}

/**
 * One transaction: the guarded task change, the destination's claim for the instance, the
 * source allocation handed to the migration (as Nova's placement does), the migration
 * record and the instance action. Then the agent that does the next step is woken.
 */
async function startMove(req: FastifyRequest, deps: ComputeDeps, row: InstanceRow, vmStates: readonly string[], spec: MoveSpec): Promise<MoveTarget> {
  const ctx = callerOf(req);
  const host = row.host as string;
  const oldFlavor = parseFlavor(row.flavor);
  const result = await deps.db.transaction().execute(async (trx) => {
    if (spec.quota) await spec.quota(trx);
    const updated = await updateInstance(trx, row.uuid, { vmState: vmStates, taskState: null, host, version: row.version }, { ...spec.set, task_state: spec.task });
    if (!updated) return { lost: true as const };
    const mig = await insertMigration(trx, {
      instanceUuid: row.uuid,
      type: spec.type,
      status: spec.status,
      sourceCompute: host,
      sourceNode: row.node,
      oldFlavor: JSON.stringify(oldFlavor),
      newFlavor: JSON.stringify(spec.newFlavor),
      oldVmState: row.vm_state,
      userId: ctx.userId,
      projectId: row.project_id,
    });
    await moveAllocation(trx, row.uuid, mig.uuid);
    const { config } = deps;
    const placement = {
      spec: await moveRequestSpec(trx, row, spec.newFlavor, config.DEFAULT.default_schedule_zone),
      filters: filtersFromConfig(config.filter_scheduler.enabled_filters),
      ctx: { defaultAvailabilityZone: config.DEFAULT.default_availability_zone },
    };
    const target = await claimMoveTarget(trx, { ...spec.target, consumer: row.uuid, flavor: spec.newFlavor, serviceDownTime: config.DEFAULT.service_down_time, placement });
    if ('noValidHost' in target) throw new InvalidInputError(target.noValidHost);
    await updateMigration(trx, mig.id, undefined, { dest_compute: target.host, dest_node: target.node, dest_host: target.hostIp });
    // The destination rebuilds an evacuated server: it owns it from now on.
    if (spec.type === 'evacuation') await updateInstance(trx, row.uuid, {}, { host: target.host, node: target.node, driver_info: '{}' });
    await startInstanceAction(trx, { instanceUuid: row.uuid, action: spec.action, requestId: req.id, userId: ctx.userId, projectId: ctx.projectId ?? row.project_id });
    return { lost: false as const, target, mig };
  });
  if (result.lost) {
    const current = (await getInstance(deps.db, row.uuid)) ?? row;
    checkState(spec.action, current, vmStates);
    throw invalidState(spec.action, current, 'task_state');
  }
  // An evacuation's first step is on the destination; every other move starts at the source.
  await deps.bus.notify('instances', spec.type === 'evacuation' ? result.target.host : host);
  await deps.bus.notify('nodes', result.target.node);
  return result.target;
}

async function flavorSnapshot(deps: ComputeDeps, req: FastifyRequest, ref: string): Promise<FlavorSnapshot> {
  const id = ref.replace(/\/+$/, '').replace(/^.*\//, '');
  const f = await getFlavor(deps.db, id, callerOf(req));
  if (!f || f.disabled === 1) throw new InvalidInputError('Unable to locate requested flavor.');
  return {
    id: f.flavorid,
    name: f.name,
    vcpus: f.vcpus,
    memory_mb: f.memory_mb,
    root_gb: f.root_gb,
    ephemeral_gb: f.ephemeral_gb,
    swap: f.swap,
    extra_specs: await getExtraSpecs(deps.db, f.id),
  };
}

const RESIZE_STATES: readonly string[] = [VmState.ACTIVE, VmState.STOPPED];

/** `resize {flavorRef}`: the project's member; the flavor must differ; a bigger one must fit the cores/ram quota. */
async function resize(req: FastifyRequest, deps: ComputeDeps, row: InstanceRow): Promise<void> {
  const ctx = callerOf(req);
  requireWriter(ctx, 'os_compute_api:servers:resize');
  const a = actionArgs(req.body, 'resize', ['flavorRef', 'OS-DCF:diskConfig'], { required: ['flavorRef'] });
  const ref = a['flavorRef'];
  if (!((typeof ref === 'string' && ref.length > 0 && ref.length <= 255) || (typeof ref === 'number' && Number.isInteger(ref) && ref >= 0))) {
    throw new InvalidInputError(`Invalid input for field/attribute flavorRef. Value: ${JSON.stringify(ref)}. ${JSON.stringify(ref)} is not valid under any of the given schemas`);
  }
  const diskConfig = optEnum(a, 'OS-DCF:diskConfig', ['AUTO', 'MANUAL']);
  assertUnlocked(req, row);
  checkState('resize', row, RESIZE_STATES);
  if (diskConfig === 'AUTO' && row.image_ref !== null) {
    // As Nova: the server's image (deleted or not) may forbid automatic disk resize.
    const image = await deps.db.selectFrom('images').select('properties').where('id', '=', row.image_ref).executeTakeFirst();
    diskConfigFor(diskConfig, row.image_ref, image ? parseStringMap(image.properties)['auto_disk_config'] : undefined);
  }
  const oldFlavor = parseFlavor(row.flavor);
  const newFlavor = await flavorSnapshot(deps, req, String(ref));
  if (newFlavor.id === oldFlavor.id) throw new InvalidInputError('When resizing, instances must change flavor!');
  if (newFlavor.root_gb === 0 && oldFlavor.root_gb !== 0) throw new InvalidInputError('Resize to zero disk flavor is not allowed.');
  await assertHypervisorSupports(deps, row, 'resize');
  await assertSourceUp(deps, row);
  const quota = async (trx: Db) => {
    const deltas = { cores: newFlavor.vcpus - oldFlavor.vcpus, ram: newFlavor.memory_mb - oldFlavor.memory_mb };
    if (deltas.cores <= 0 && deltas.ram <= 0) return;
    await lockQuotaScope(trx, deps.dialect, `project:${row.project_id}`);
    const limits = await projectQuotas(trx, defaultQuotas(deps.config.quota), row.project_id);
    const used = await computeUsage(trx, deps.dialect, row.project_id);
    const overs = (['cores', 'ram'] as const).filter((r) => deltas[r] > 0 && limits[r] >= 0 && used[r] + deltas[r] > limits[r]);
    if (overs.length === 0) return;
    const list = (f: (r: (typeof overs)[number]) => string) => overs.map(f).join(', ');
    const names = overs.join(', ');
    throw new QuotaExceededError(
      `Quota exceeded for ${names}: Requested ${list((r) => String(deltas[r]))}, but already used ${list((r) => String(used[r]))} of ${list((r) => String(limits[r]))} ${names}`,
      { overs },
    );
  };
  const sameHost = deps.config.DEFAULT.allow_resize_to_same_host;
  await startMove(req, deps, row, RESIZE_STATES, {
    action: 'resize',
    type: 'resize',
    status: 'pre-migrating',
    task: TaskState.RESIZE_PREP,
    newFlavor,
    target: { excludeHosts: sameHost ? [] : [row.host as string], excludeNodes: [], capability: 'supports_migrate', ...(await sourceType(deps, row)) },
    quota,
    // As Nova, the resize request's diskConfig is kept at once (a revert does not restore it).
    ...(diskConfig === undefined ? {} : { set: { auto_disk_config: diskConfig === 'AUTO' ? 1 : 0 } }),
  });
}

/** `confirmResize` / `revertResize`: only from VERIFY_RESIZE with a finished migration. */
async function confirmOrRevert(req: FastifyRequest, deps: ComputeDeps, row: InstanceRow, action: 'confirmResize' | 'revertResize'): Promise<void> {
  const ctx = callerOf(req);
  requireWriter(ctx, action === 'confirmResize' ? 'os_compute_api:servers:confirm_resize' : 'os_compute_api:servers:revert_resize');
  noArgs(req, action);
  assertUnlocked(req, row);
  if (row.vm_state !== VmState.RESIZED) throw invalidState(action, row, 'vm_state');
  if (row.task_state !== null) throw invalidState(action, row, 'task_state');
  const mig = await latestMigration(deps.db, row.uuid, { statuses: ['finished'], types: ['resize', 'migration'] });
  if (!mig || mig.source_compute === null) throw new InvalidInputError('Instance has not been resized.');
  const source = mig.source_compute;
  const ok = await deps.db.transaction().execute(async (trx) => {
    if (!(await updateMigration(trx, mig.id, ['finished'], { status: action === 'confirmResize' ? 'confirming' : 'reverting' }))) return false;
    if (action === 'revertResize') {
      const u = await updateInstance(trx, row.uuid, { vmState: VmState.RESIZED, taskState: null }, { task_state: TaskState.RESIZE_REVERTING });
      if (!u) throw new ConflictError(`Cannot 'revertResize' instance ${row.uuid} while it is in task_state ${String(row.task_state)}`);
    }
    await startInstanceAction(trx, { instanceUuid: row.uuid, action, requestId: req.id, userId: ctx.userId, projectId: ctx.projectId ?? row.project_id });
    return true;
  });
  if (!ok) throw new InvalidInputError('Instance has not been resized.');
  // Confirm is the source's work (it removes its copy); revert starts at the destination.
  await deps.bus.notify('instances', action === 'confirmResize' ? source : (row.host ?? ''));
}

/** `migrate` (admin): a cold migration to another host; 2.56 may name it. */
async function migrate(req: FastifyRequest, deps: ComputeDeps, row: InstanceRow): Promise<void> {
  const ctx = callerOf(req);
  requireAdmin(ctx, 'os_compute_api:os-migrate-server:migrate');
  let host: string | undefined;
  if (atLeast(req, 2, 56)) {
    const a = actionArgs(req.body, 'migrate', ['host'], { nullable: true });
    host = optString(a, 'host', { min: 1, max: 255, nullable: true }) ?? undefined;
  } else noArgs(req, 'migrate');
  assertUnlocked(req, row);
  checkState('migrate', row, RESIZE_STATES);
  if (host !== undefined) {
    await assertHostExists(deps, host);
    if (host === row.host) throw new InvalidInputError('Cannot migrate to the host where the server exists.');
  }
  await assertHypervisorSupports(deps, row, 'migrate');
  await assertSourceUp(deps, row);
  await startMove(req, deps, row, RESIZE_STATES, {
    action: 'migrate',
    type: 'migration',
    status: 'pre-migrating',
    task: TaskState.RESIZE_PREP,
    newFlavor: parseFlavor(row.flavor),
    target: { excludeHosts: [row.host as string], excludeNodes: [], capability: 'supports_migrate', ...(host !== undefined ? { host } : {}), ...(await sourceType(deps, row)) },
  });
}

const LIVE_STATES: readonly string[] = [VmState.ACTIVE, VmState.PAUSED];

/** `os-migrateLive` (admin): host (null: the scheduler picks), block_migration (bool, 'auto' from 2.25), force (2.30–2.67). */
async function migrateLive(req: FastifyRequest, deps: ComputeDeps, row: InstanceRow): Promise<void> {
  const ctx = callerOf(req);
  requireAdmin(ctx, 'os_compute_api:os-migrate-server:migrate_live');
  const v225 = atLeast(req, 2, 25);
  const allowed = ['block_migration', 'host'];
  if (!v225) allowed.push('disk_over_commit');
  if (atLeast(req, 2, 30) && !atLeast(req, 2, 68)) allowed.push('force');
  const a = actionArgs(req.body, 'os-migrateLive', allowed, { required: v225 ? ['block_migration', 'host'] : ['block_migration', 'disk_over_commit', 'host'] });
  if (!(v225 && a['block_migration'] === 'auto')) optBool(a, 'block_migration');
  if (!v225) optBool(a, 'disk_over_commit');
  const force = optBool(a, 'force') ?? false;
  const host = optString(a, 'host', { min: 1, max: 255, nullable: true }) ?? undefined;
  assertUnlocked(req, row);
  checkState('os-migrateLive', row, LIVE_STATES);
  if (host !== undefined) {
    await assertHostExists(deps, host);
    if (host === row.host) throw new InvalidInputError(`Unable to migrate instance (${row.uuid}) to current host (${host}).`);
  }
  await assertHypervisorSupports(deps, row, 'os-migrateLive');
  await assertSourceUp(deps, row);
  await startMove(req, deps, row, LIVE_STATES, {
    action: 'live-migration',
    type: 'live-migration',
    status: 'accepted',
    task: TaskState.MIGRATING,
    newFlavor: parseFlavor(row.flavor),
    target: {
      excludeHosts: [row.host as string],
      excludeNodes: [],
      capability: 'supports_live_migration',
      ...(host !== undefined ? { host, force } : {}),
      ...(await sourceType(deps, row)),
    },
  });
}

const EVACUATE_STATES: readonly string[] = [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR];
const PASSWORD_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** `evacuate` (admin): rebuild the server on another host because its own is down. Returns the admin password. */
async function evacuate(req: FastifyRequest, deps: ComputeDeps, row: InstanceRow): Promise<string> {
  const ctx = callerOf(req);
  requireAdmin(ctx, 'os_compute_api:os-evacuate');
  const allowed = ['host', 'adminPass'];
  if (!atLeast(req, 2, 14)) allowed.push('onSharedStorage');
  if (atLeast(req, 2, 29) && !atLeast(req, 2, 68)) allowed.push('force');
  const a = actionArgs(req.body, 'evacuate', allowed, { required: atLeast(req, 2, 14) ? [] : ['onSharedStorage'] });
  const host = optString(a, 'host', { min: 1, max: 255 }) ?? undefined;
  const adminPass = optString(a, 'adminPass') ?? undefined;
  optBool(a, 'onSharedStorage');
  const force = optBool(a, 'force') ?? false;
  checkState('evacuate', row, EVACUATE_STATES);
  if (host !== undefined) {
    await assertHostExists(deps, host, 'not_found');
    if (host === row.host) throw new InvalidInputError(`The target host can't be the same one.`);
  }
  const svc = await findService(deps.db, row.host as string, 'nova-compute');
  if (svc && isServiceUp(svc, deps.config.DEFAULT.service_down_time)) throw new InvalidInputError(`Compute service of ${row.host as string} is still in use.`);
  await startMove(req, deps, row, EVACUATE_STATES, {
    action: 'evacuate',
    type: 'evacuation',
    status: 'pre-migrating',
    task: TaskState.REBUILDING,
    newFlavor: parseFlavor(row.flavor),
    target: { excludeHosts: [row.host as string], excludeNodes: [], ...(host !== undefined ? { host, force } : {}) },
  });
  return adminPass ?? Array.from({ length: 12 }, () => PASSWORD_CHARS[randomInt(PASSWORD_CHARS.length)]).join('');
}
