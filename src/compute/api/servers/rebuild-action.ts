import { randomInt } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import { InvalidInputError } from '../../../errors.js';
import { findUsableImage, imageProperties } from '../../../db/repos/images.js';
import { getInstance, startInstanceAction, updateInstance } from '../../../db/repos/instances.js';
import type { InstanceUpdate } from '../../../db/schema.js';
import { parseFlavor } from '../../scheduler/request-spec.js';
import { TaskState, VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast, versionOf } from '../microversion.js';
import { validateName } from '../names.js';
import { callerOf, Linker } from '../request.js';
import { actionArgs, optBool, optEnum, optMetadata, optString } from './action-args.js';
import { canonicalIpv6 } from './ipv6.js';
import { lookup } from './lookup-view.js';
import { checkPersonality } from './personality.js';
import { projectLimits } from '../quotas/effective.js';
import { assertUnlocked, invalidState, visibleServer } from './lookup.js';
import { diskConfigFor } from './prepare-create.js';
import { checkMetadataQuota } from './server-metadata.js';
import { serverDetail, serverUpdateView } from './server-view.js';

const REBUILD_VM_STATES: readonly string[] = [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR];
const PASSWORD_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function allowedFields(req: FastifyRequest): string[] {
  const f = ['imageRef', 'name', 'adminPass', 'metadata', 'accessIPv4', 'accessIPv6', 'OS-DCF:diskConfig', 'preserve_ephemeral'];
  if (!atLeast(req, 2, 57)) f.push('personality');
  if (atLeast(req, 2, 19)) f.push('description');
  if (atLeast(req, 2, 54)) f.push('key_name');
  if (atLeast(req, 2, 57)) f.push('user_data');
  if (atLeast(req, 2, 63)) f.push('trusted_image_certificates');
  if (atLeast(req, 2, 90)) f.push('hostname');
  return f;
}

/**
 * `POST /servers/{id}/action {"rebuild": {...}}`: Nova's rebuild — the server keeps its id,
 * flavor and host and gets a new root disk from `imageRef`, with the name, metadata (replaced
 * when given), access addresses, key (2.54) and user data (2.57) given here. Allowed from
 * ACTIVE, SHUTOFF and ERROR; the agent destroys and spawns again, and a server rebuilt while
 * stopped stays stopped. Answers 202 with the server (the update view before 2.75, the full
 * detail from 2.75) and adminPass.
 */
export async function rebuildAction(req: FastifyRequest, reply: FastifyReply, deps: ComputeDeps): Promise<unknown> {
  const ctx = callerOf(req);
  const row = await visibleServer(req, deps);
  requireWriter(ctx, 'os_compute_api:servers:rebuild');
  const a = actionArgs(req.body, 'rebuild', allowedFields(req), { required: ['imageRef'] });
  const imageRef = optString(a, 'imageRef') ?? '';
  const set: InstanceUpdate = {};
  const name = optString(a, 'name', { min: 1, max: 255 });
  if (name != null) {
    validateName(name, 'name');
    set.display_name = name;
  }
  const adminPass = optString(a, 'adminPass');
  const metadata = optMetadata(a, 'metadata');
  const v4 = optString(a, 'accessIPv4');
  if (v4 != null) {
    if (!isIPv4(v4)) throw new InvalidInputError(`Invalid input for field/attribute accessIPv4. Value: ${v4}. '${v4}' is not a 'ipv4'`);
    set.access_ip_v4 = v4;
  }
  const v6 = optString(a, 'accessIPv6');
  if (v6 != null) {
    if (!isIPv6(v6)) throw new InvalidInputError(`Invalid input for field/attribute accessIPv6. Value: ${v6}. '${v6}' is not a 'ipv6'`);
    set.access_ip_v6 = canonicalIpv6(v6);
  }
  const diskConfig = optEnum(a, 'OS-DCF:diskConfig', ['AUTO', 'MANUAL']);
  optBool(a, 'preserve_ephemeral');
  const description = optString(a, 'description', { max: 255, nullable: true });
  if (description !== undefined) set.display_description = description;
  if (a['personality'] !== undefined && !Array.isArray(a['personality'])) throw new InvalidInputError("Invalid input for field/attribute personality. Value: " + JSON.stringify(a['personality']) + ". is not of type 'array'");
  // Personality (before 2.57): only the files given to this rebuild are injected (Nova keeps
  // none from the create), checked against the project's injected_file* quotas.
  const personality = Array.isArray(a['personality']) ? checkPersonality(a['personality'] as unknown[], await projectLimits(deps.db, deps, row.project_id)) : null;
  set.injected_files = personality === null ? null : JSON.stringify(personality);
  if (a['trusted_image_certificates'] !== undefined && a['trusted_image_certificates'] !== null) {
    // No image signature verification here: Nova refuses certificates when it is off too.
    throw new InvalidInputError('Image certificate validation is not enabled.');
  }
  const hostname = optString(a, 'hostname', { min: 1, max: 63 });
  if (hostname != null) set.hostname = hostname;
  if ('key_name' in a) {
    const keyName = optString(a, 'key_name', { min: 1, max: 255, nullable: true });
    if (keyName === null || keyName === undefined) {
      set.key_name = null;
      set.key_data = null;
    } else {
      const key = await deps.db.selectFrom('keypairs').selectAll().where('user_id', '=', ctx.userId).where('name', '=', keyName).executeTakeFirst();
      if (!key) throw new InvalidInputError(`Invalid key_name provided.`);
      set.key_name = key.name;
      set.key_data = key.public_key;
    }
  }
  if ('user_data' in a) {
    const userData = optString(a, 'user_data', { max: 65535, nullable: true });
    if (userData != null) {
      const compact = userData.replace(/\s+/g, '');
      if (!BASE64.test(compact) || compact.length % 4 !== 0) throw new InvalidInputError('User data needs to be valid base 64.');
    }
    set.user_data = userData ?? null;
  }

  assertUnlocked(req, row);
  if (!REBUILD_VM_STATES.includes(row.vm_state)) throw invalidState('rebuild', row, 'vm_state');
  if (row.task_state !== null) throw invalidState('rebuild', row, 'task_state');
  if (row.host === null) throw invalidState('rebuild', row, 'vm_state');

  const imageId = imageRef.replace(/\/+$/, '').replace(/^.*\//, '');
  const image = imageId === '' ? undefined : await findUsableImage(deps.db, imageId, row.project_id, ctx.isAdmin);
  if (!image) throw new InvalidInputError('Cannot find image for rebuild');
  if (image.status !== 'active') throw new InvalidInputError(`Image ${image.id} is not active.`);
  if (diskConfig !== undefined) set.auto_disk_config = diskConfigFor(diskConfig, image.id, imageProperties(image)['auto_disk_config']) === 'AUTO' ? 1 : 0;
  const flavor = parseFlavor(row.flavor);
  if (image.min_ram > flavor.memory_mb) throw new InvalidInputError("Flavor's memory is too small for requested image.");
  const GiB = 1024 ** 3;
  if (flavor.root_gb > 0 && image.min_disk > flavor.root_gb) {
    throw new InvalidInputError(
      `Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is ${flavor.root_gb * GiB} bytes, minimum size is ${image.min_disk * GiB} bytes.`,
    );
  }
  if (metadata !== undefined) await checkMetadataQuota(deps, row.project_id, Object.keys(metadata).length);
  set.image_ref = image.id;
  set.task_state = TaskState.REBUILDING;
  set.progress = 0;

  const host = row.host;
  const updated = await deps.db.transaction().execute(async (trx) => {
    const u = await updateInstance(trx, row.uuid, { vmState: REBUILD_VM_STATES, taskState: null, host }, set);
    if (!u) return undefined;
    if (metadata !== undefined) {
      await trx.deleteFrom('instance_metadata').where('instance_uuid', '=', row.uuid).execute();
      const items = Object.entries(metadata).map(([key, value]) => ({ instance_uuid: row.uuid, key, value }));
      if (items.length > 0) await trx.insertInto('instance_metadata').values(items).execute();
    }
    await startInstanceAction(trx, { instanceUuid: row.uuid, action: 'rebuild', requestId: req.id, userId: ctx.userId, projectId: ctx.projectId ?? row.project_id });
    return u;
  });
  if (!updated) {
    const current = (await getInstance(deps.db, row.uuid)) ?? row;
    throw invalidState('rebuild', current, REBUILD_VM_STATES.includes(current.vm_state) ? 'task_state' : 'vm_state');
  }
  await deps.bus.notify('instances', host);

  const linker = new Linker(req, deps);
  const view = await lookup(deps, linker, ctx.isAdmin, [updated], versionOf(req), { withServerGroups: true });
  const server = serverUpdateView(serverDetail(updated, view), view);
  // Nova's rebuild response adds key_name from 2.54 (which the update view leaves out before
  // 2.75) and the instance's user_data from 2.57, as `user_data`, never as the admin-only
  // extended attribute that show carries.
  delete server['OS-EXT-SRV-ATTR:user_data'];
  if (atLeast(req, 2, 54)) server['key_name'] = updated.key_name;
  if (atLeast(req, 2, 57)) server['user_data'] = updated.user_data;
  // [api] enable_instance_password is on (Nova's default): the password is returned.
  server['adminPass'] = adminPass ?? Array.from({ length: 12 }, () => PASSWORD_CHARS[randomInt(PASSWORD_CHARS.length)]).join('');
  return reply.status(202).send({ server });
}
