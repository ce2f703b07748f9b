import { randomInt } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireAdmin, requireWriter } from '../../../api/policy.js';
import { findUsableImage } from '../../../db/repos/images.js';
import { getSystemMetadata, setSystemMetadata } from '../../../db/repos/instance-extras.js';
import type { InstanceRow } from '../../../db/schema.js';
import { ConflictError, InvalidInputError } from '../../../errors.js';
import { TaskState, VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { validateName } from '../names.js';
import { callerOf } from '../request.js';
import { consoleOutput } from './console-output.js';
import { assertUnlocked, visibleServer } from './lookup.js';
import { createSnapshotImage } from './snapshot-image.js';
import { startTask, type TaskRule } from './task-action.js';

/*
 * Keys of instance_system_metadata shared with the compute agent (src/compute/agent/tasks):
 * the API never imports the agent, so the names are repeated here, once.
 */
const SNAPSHOT_IMAGE_KEY = 'snapshot_image_id';
const BACKUP_TYPE_KEY = 'backup_type';
const BACKUP_ROTATION_KEY = 'backup_rotation';
const SHELVED_IMAGE_KEY = 'shelved_image_id';
const SAVED_ZONE_KEY = 'unshelve_saved_requested_zone';
const RESCUE_IMAGE_KEY = 'rescue_image_ref';
/*
 * Passwords for rescue and changePassword travel to the agent through the database (there is
 * no RPC): stored under these keys in the action's transaction and deleted by the agent as it
 * reads them, before it calls the driver. They never appear in a response other than the
 * rescue's own, nor in logs.
 */
const RESCUE_PASSWORD_KEY = 'rescue_admin_pass_pending';
const ADMIN_PASSWORD_KEY = 'admin_pass_pending';

const SNAPSHOT_FROM = [VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED];
const RULES = {
  shelve: { name: 'shelve', vmStates: SNAPSHOT_FROM, newTask: TaskState.SHELVING },
  shelveOffload: { name: 'shelveOffload', vmStates: [VmState.SHELVED], newTask: TaskState.SHELVING_OFFLOADING },
  unshelve: { name: 'unshelve', vmStates: [VmState.SHELVED, VmState.SHELVED_OFFLOADED], newTask: TaskState.UNSHELVING },
  rescue: { name: 'rescue', vmStates: [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR], newTask: TaskState.RESCUING },
  unrescue: { name: 'unrescue', vmStates: [VmState.RESCUED], newTask: TaskState.UNRESCUING },
  changePassword: { name: 'changePassword', vmStates: [VmState.ACTIVE], newTask: TaskState.UPDATING_PASSWORD },
  trigger_crash_dump: { name: 'trigger_crash_dump', vmStates: [VmState.ACTIVE, VmState.ERROR], newTask: TaskState.CRASH_DUMPING },
  createImage: { name: 'createImage', vmStates: SNAPSHOT_FROM, newTask: TaskState.IMAGE_SNAPSHOT_PENDING },
  createBackup: { name: 'createBackup', vmStates: SNAPSHOT_FROM, newTask: TaskState.IMAGE_BACKUP },
} as const satisfies Record<string, TaskRule>;

type GuestAction = keyof typeof RULES | 'os-getConsoleOutput';
const ACTIONS = new Set<string>([...Object.keys(RULES), 'os-getConsoleOutput']);

/** The action named by a one-key body, when it is one of shelve/rescue/snapshot/password/console output/crash dump. */
export function guestActionOf(body: unknown): GuestAction | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  const key = keys[0];
  return keys.length === 1 && key !== undefined && ACTIONS.has(key) ? (key as GuestAction) : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The action's argument as an object with only `allowed` keys (null accepted when `nullable`). */
function argObject(action: string, arg: unknown, allowed: readonly string[], nullable: boolean): Record<string, unknown> {
  if (arg === null && nullable) return {};
  if (!isRecord(arg)) throw new InvalidInputError(`Invalid input for field/attribute ${action}. Value: ${JSON.stringify(arg)}. ${JSON.stringify(arg)} is not of type 'object'`);
  const extra = Object.keys(arg).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new InvalidInputError(`Invalid input for field/attribute ${action}. Additional properties are not allowed ('${extra}' was unexpected)`);
  return arg;
}

function required(action: string, arg: Record<string, unknown>, key: string): unknown {
  if (arg[key] === undefined) throw new InvalidInputError(`Invalid input for field/attribute ${action}. '${key}' is a required property`);
  return arg[key];
}

function stringField(key: string, v: unknown, o: { min?: number; max?: number } = {}): string {
  if (typeof v !== 'string') throw new InvalidInputError(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'string'`);
  if (o.min !== undefined && v.length < o.min) throw new InvalidInputError(`Invalid input for field/attribute ${key}. Value: ${v}. '${v}' is too short`);
  if (o.max !== undefined && v.length > o.max) throw new InvalidInputError(`Invalid input for field/attribute ${key}. Value: ${v}. '${v}' is too long`);
  return v;
}

/** Image metadata of createImage/createBackup: string keys (1–255) to string values (≤ 255). */
function metadataField(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw new InvalidInputError(`Invalid input for field/attribute metadata. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'object'`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (k.length < 1 || k.length > 255) throw new InvalidInputError(`Invalid input for field/attribute metadata. Key '${k}' must be 1 to 255 characters long.`);
    out[k] = stringField(`metadata.${k}`, val, { max: 255 });
  }
  return out;
}

function generatePassword(): string {
  const chars = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  return Array.from({ length: 12 }, () => chars[randomInt(chars.length)]).join('');
}

/** A placed server: an action for the agent needs one (an unplaced one is building or offloaded). */
function placedHost(rule: TaskRule, row: InstanceRow): string {
  if (row.host === null) throw new ConflictError(`Cannot '${rule.name}' instance ${row.uuid} while it is in vm_state ${row.vm_state}`);
  return row.host;
}

/**
 * `POST /servers/{id}/action` for shelve, shelveOffload, unshelve, rescue, unrescue,
 * createImage, createBackup, changePassword, trigger_crash_dump (2.17) and
 * os-getConsoleOutput. Each checks Nova's policy, lock and state rule, then hands the work
 * to the agent in one transaction (startTask); Nova's status codes and bodies.
 */
export async function guestAction(req: FastifyRequest, reply: FastifyReply, deps: ComputeDeps, action: GuestAction): Promise<FastifyReply> {
  const ctx = callerOf(req);
  const arg = (req.body as Record<string, unknown>)[action];
  if (action === 'os-getConsoleOutput') {
    const row = await visibleServer(req, deps);
    requireWriter(ctx, 'os_compute_api:os-console-output');
    return reply.status(200).send(await consoleOutput(deps, row, argObject(action, arg, ['length'], true)));
  }
  if (action === 'trigger_crash_dump' && !atLeast(req, 2, 17)) throw new InvalidInputError(`There is no such action: ${action}`);
  const row = await visibleServer(req, deps);
  const rule: TaskRule = RULES[action];
  switch (action) {
    case 'shelve':
      requireWriter(ctx, 'os_compute_api:os-shelve:shelve');
      argObject(action, arg, [], true);
      assertUnlocked(req, row);
      placedHost(rule, row);
      await startTask(deps, req, row, rule, {
        extra: async (trx) => {
          const imageId = await createSnapshotImage(trx, row, { name: `${row.display_name}-shelved`, userId: ctx.userId, imageType: 'snapshot' });
          await setSystemMetadata(trx, row.uuid, { [SHELVED_IMAGE_KEY]: imageId });
        },
      });
      return reply.status(202).send();
    case 'shelveOffload':
      requireAdmin(ctx, 'os_compute_api:os-shelve:shelve_offload');
      argObject(action, arg, [], true);
      placedHost(rule, row);
      await startTask(deps, req, row, rule);
      return reply.status(202).send();
    case 'unshelve':
      requireWriter(ctx, 'os_compute_api:os-shelve:unshelve');
      assertUnlocked(req, row);
      await unshelve(deps, req, row, arg);
      return reply.status(202).send();
    case 'rescue': {
      requireWriter(ctx, 'os_compute_api:os-rescue');
      const a = argObject(action, arg, ['adminPass', 'rescue_image_ref'], true);
      assertUnlocked(req, row);
      placedHost(rule, row);
      const password = a['adminPass'] === undefined ? generatePassword() : stringField('adminPass', a['adminPass']);
      let imageRef: string | undefined;
      if (a['rescue_image_ref'] !== undefined) {
        imageRef = stringField('rescue_image_ref', a['rescue_image_ref']);
        const image = await findUsableImage(deps.db, imageRef, ctx.projectId, ctx.isAdmin);
        if (!image || image.status !== 'active') throw new InvalidInputError(`Image ${imageRef} could not be found.`);
      }
      await startTask(deps, req, row, rule, {
        extra: (trx) => setSystemMetadata(trx, row.uuid, { [RESCUE_PASSWORD_KEY]: password, [RESCUE_IMAGE_KEY]: imageRef ?? null }),
      });
      return reply.status(200).send({ adminPass: password });
    }
    case 'unrescue':
      requireWriter(ctx, 'os_compute_api:os-rescue:unrescue');
      argObject(action, arg, [], true);
      assertUnlocked(req, row);
      placedHost(rule, row);
      await startTask(deps, req, row, rule);
      return reply.status(202).send();
    case 'changePassword': {
      requireWriter(ctx, 'os_compute_api:os-admin-password');
      const a = argObject(action, arg, ['adminPass'], false);
      const password = stringField('adminPass', required(action, a, 'adminPass'));
      assertUnlocked(req, row);
      placedHost(rule, row);
      await startTask(deps, req, row, rule, { extra: (trx) => setSystemMetadata(trx, row.uuid, { [ADMIN_PASSWORD_KEY]: password }) });
      return reply.status(202).send();
    }
    case 'trigger_crash_dump':
      requireWriter(ctx, 'os_compute_api:servers:trigger_crash_dump');
      argObject(action, arg, [], true);
      assertUnlocked(req, row);
      placedHost(rule, row);
      await startTask(deps, req, row, rule);
      return reply.status(202).send();
    case 'createImage':
    case 'createBackup':
      return snapshot(deps, req, reply, row, action, arg);
  }
}

/** createImage / createBackup: the queued image now, the bits from the agent; 2.45+ answers {"image_id"}, before it a Location header. */
async function snapshot(deps: ComputeDeps, req: FastifyRequest, reply: FastifyReply, row: InstanceRow, action: 'createImage' | 'createBackup', arg: unknown): Promise<FastifyReply> {
  const ctx = callerOf(req);
  const backup = action === 'createBackup';
  requireWriter(ctx, backup ? 'os_compute_api:os-create-backup' : 'os_compute_api:servers:create_image');
  const a = argObject(action, arg, backup ? ['name', 'backup_type', 'rotation', 'metadata'] : ['name', 'metadata'], false);
  const name = stringField('name', required(action, a, 'name'), { min: 1, max: 255 });
  validateName(name, 'name');
  const metadata = metadataField(a['metadata']);
  let backupType = '';
  let rotation = 0;
  if (backup) {
    backupType = stringField('backup_type', required(action, a, 'backup_type'));
    const r = required(action, a, 'rotation');
    rotation = typeof r === 'number' ? r : typeof r === 'string' && /^-?[0-9]+$/.test(r) ? Number(r) : NaN;
    if (!Number.isInteger(rotation) || rotation < 0) {
      throw new InvalidInputError(`Invalid input for field/attribute rotation. Value: ${JSON.stringify(r)}. ${JSON.stringify(r)} is not a valid non-negative integer`);
    }
  }
  const rule: TaskRule = RULES[action];
  assertUnlocked(req, row);
  placedHost(rule, row);
  let imageId = '';
  await startTask(deps, req, row, rule, {
    extra: async (trx) => {
      imageId = await createSnapshotImage(trx, row, {
        name,
        userId: ctx.userId,
        imageType: backup ? 'backup' : 'snapshot',
        ...(backup ? { extra: { backup_type: backupType } } : {}),
        metadata,
      });
      await setSystemMetadata(trx, row.uuid, {
        [SNAPSHOT_IMAGE_KEY]: imageId,
        [BACKUP_TYPE_KEY]: backup ? backupType : null,
        [BACKUP_ROTATION_KEY]: backup ? String(rotation) : null,
      });
    },
  });
  if (atLeast(req, 2, 45)) return reply.status(202).send({ image_id: imageId });
  reply.header('Location', `${deps.publicUrl().replace(/\/+$/, '')}/image/v2/images/${imageId}`);
  return reply.status(202).send();
}

/**
 * unshelve: a SHELVED server powers on where it is; an offloaded one goes back to the
 * scheduler (task 'unshelving', no host). 2.77 adds {"availability_zone": az} and 2.91
 * {"availability_zone": az|null, "host": h} (host: admins only), both for offloaded servers only.
 */
async function unshelve(deps: ComputeDeps, req: FastifyRequest, row: InstanceRow, arg: unknown): Promise<void> {
  const ctx = callerOf(req);
  const rule: TaskRule = RULES.unshelve;
  let zone: string | null | undefined;
  let host: string | undefined;
  if (atLeast(req, 2, 77) && arg !== null) {
    const a = argObject('unshelve', arg, atLeast(req, 2, 91) ? ['availability_zone', 'host'] : ['availability_zone'], true);
    if (a['availability_zone'] !== undefined) {
      const z = a['availability_zone'];
      if (z === null && atLeast(req, 2, 91)) zone = null;
      else zone = stringField('availability_zone', z, { min: 1, max: 255 });
    }
    if (a['host'] !== undefined) {
      requireAdmin(ctx, 'os_compute_api:os-shelve:unshelve_to_host');
      host = stringField('host', a['host'], { min: 1, max: 255 });
    }
  }
  if ((zone !== undefined || host !== undefined) && row.vm_state !== VmState.SHELVED_OFFLOADED) {
    throw new ConflictError(
      `The unshelve server operation on a shelved instance with availability_zone or host is only supported for a server in vm_state shelved_offloaded; instance ${row.uuid} is in vm_state ${row.vm_state}.`,
    );
  }
  if (typeof zone === 'string' && !(await zoneExists(deps, zone))) throw new InvalidInputError(`The requested availability zone is not available`);
  if (host !== undefined && !(await hostExists(deps, host))) throw new InvalidInputError(`Compute host ${host} could not be found.`);
  if (row.vm_state === VmState.SHELVED && row.host === null) throw new ConflictError(`Instance ${row.uuid} is not ready`);
  const set: { requested_availability_zone?: string | null } = {};
  let saved: string | undefined;
  if (zone !== undefined || host !== undefined) {
    // The zone becomes the server's (as Nova updates its request spec); a forced host holds for this unshelve only.
    const base = zone === undefined ? (row.requested_availability_zone?.split(':')[0] ?? '') : (zone ?? '');
    if (host !== undefined) saved = base;
    set.requested_availability_zone = host !== undefined ? `${base}:${host}` : base === '' ? null : base;
  }
  const sys = await getSystemMetadata(deps.db, row.uuid);
  if (row.vm_state === VmState.SHELVED_OFFLOADED && sys[SHELVED_IMAGE_KEY] === undefined && row.image_ref === '') {
    throw new ConflictError(`Instance ${row.uuid} has no shelved image to unshelve from`);
  }
  await startTask(deps, req, row, rule, {
    set,
    ...(saved !== undefined ? { extra: (trx) => setSystemMetadata(trx, row.uuid, { [SAVED_ZONE_KEY]: saved ?? '' }) } : {}),
  });
}

async function zoneExists(deps: ComputeDeps, zone: string): Promise<boolean> {
  if (zone === deps.config.DEFAULT.default_availability_zone) return true;
  const node = await deps.db.selectFrom('compute_nodes').select('id').where('availability_zone', '=', zone).where('deleted', '=', 0).executeTakeFirst();
  return node !== undefined;
}

async function hostExists(deps: ComputeDeps, host: string): Promise<boolean> {
  const svc = await deps.db.selectFrom('services').select('id').where('host', '=', host).where('binary', '=', 'nova-compute').executeTakeFirst();
  return svc !== undefined;
}

