import type { AuthContext } from '../../../api/context.js';
import { ForbiddenError, InvalidInputError, PolyvisorError, QuotaExceededError } from '../../../errors.js';
import { listNodes } from '../../../db/repos/compute-admin.js';
import { getExtraSpecs, getFlavor } from '../../../db/repos/flavors.js';
import { findUsableImage, imageProperties } from '../../../db/repos/images.js';
import { getKeypair } from '../../../db/repos/keypairs.js';
import type { QuotaLimits } from '../../../db/repos/quotas.js';
import { projectLimits } from '../quotas/effective.js';
import { userQuotaOverrides } from '../../../db/repos/quotas.js';
import { getServerGroup } from '../../../db/repos/server-groups.js';
import { canSee } from '../../../api/policy.js';
import type { FlavorSnapshot } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { validateName } from '../names.js';
import { parseBool } from '../request.js';
import { listZones } from '../admin/zones.js';
import { canonicalIpv6 } from './ipv6.js';
import { checkPersonality, type PersonalityFile } from './personality.js';
import type { CreateServerBody } from './create-schema.js';
import type { VersionedCreate } from './create-versions.js';

/** A create request that passed every check that does not depend on quota usage. */
export interface PreparedCreate {
  readonly name: string;
  readonly description: string | null;
  readonly flavor: FlavorSnapshot;
  readonly imageRef: string;
  readonly keyName: string | null;
  readonly keyData: string | null;
  readonly userData: string | null;
  /** Personality files (before 2.57), checked against the injected_file* quotas; null: none. */
  readonly injectedFiles: PersonalityFile[] | null;
  readonly configDrive: string;
  readonly networks: string;
  readonly availabilityZone: string | null;
  readonly requestedHost: string | null;
  readonly requestedNode: string | null;
  readonly accessIPv4: string | null;
  readonly accessIPv6: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly minCount: number;
  readonly maxCount: number;
  readonly returnReservationId: boolean;
  readonly adminPass: string | undefined;
  readonly diskConfig: 'AUTO' | 'MANUAL';
  readonly securityGroups: readonly string[];
  readonly quotas: QuotaLimits;
  /** The caller's per-user overrides within the project (checked against the user's own usage). */
  readonly userQuotas: Partial<QuotaLimits>;
  /** The server group of the `group` scheduler hint. */
  readonly groupUuid: string | null;
  /** The same_host / different_host scheduler hints as JSON (SameHostFilter, DifferentHostFilter); null: none. */
  readonly schedulerHints: string | null;
  /** 2.90: the guest hostname asked for (else derived from the name). */
  readonly hostname: string | null;
}

/** The id at the end of a reference that may be a URL (Nova accepts both for imageRef and flavorRef). */
function refId(ref: string): string {
  return ref.replace(/\/+$/, '').replace(/^.*\//, '');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Polyvisor has no networking service, so the only security group is 'default'; naming
 * another is Nova's 400 for a group that does not exist, rather than a server created
 * without it. (Network ids are not checked here: they are the deployment's configured
 * VLAN network ids, any string, which the compute driver resolves.)
 */
function checkSecurityGroups(s: CreateServerBody['server']): void {
  const unknown = (s.security_groups ?? []).find((g) => g.name !== 'default');
  if (unknown) throw new InvalidInputError(`Security group ${unknown.name} not found.`);
}

export async function prepareCreate(
  deps: ComputeDeps,
  ctx: AuthContext,
  projectId: string,
  body: CreateServerBody,
  versioned: VersionedCreate = { hostname: null, host: null, node: null },
): Promise<PreparedCreate> {
  const s = body.server;
  validateName(s.name, 'name');
  checkSecurityGroups(s);

  const minCount = Number(s.min_count ?? 1);
  const maxCount = Number(s.max_count ?? minCount);
  if (minCount > maxCount) throw new InvalidInputError('min_count must be <= max_count');

  const quotas = await projectLimits(deps.db, deps, projectId);
  const userQuotas = await userQuotaOverrides(deps.db, projectId, ctx.userId);
  const groupUuid = await groupHint(deps, ctx, body);
  const schedulerHints = hostHints(body);
  const metadata = s.metadata ?? {};
  const metaLimit = quotas.metadata_items;
  if (metaLimit >= 0 && Object.keys(metadata).length > metaLimit) {
    throw new QuotaExceededError(`Quota exceeded for metadata_items: maximum number of metadata items exceeds ${metaLimit}`);
  }

  let userData: string | null = null;
  if (s.user_data !== undefined) {
    const compact = s.user_data.replace(/\s+/g, '');
    if (!BASE64.test(compact) || compact.length % 4 !== 0) throw new InvalidInputError('User data needs to be valid base 64.');
    userData = s.user_data;
  }

  const injectedFiles = checkPersonality(s.personality, quotas);

  let keyName: string | null = null;
  let keyData: string | null = null;
  if (s.key_name !== undefined) {
    const key = await getKeypair(deps.db, ctx.userId, s.key_name);
    if (!key) throw new InvalidInputError('Invalid key_name provided.');
    keyName = key.name;
    keyData = key.public_key;
  }

  const flavorId = refId(String(s.flavorRef));
  const flavorRow = await getFlavor(deps.db, flavorId, ctx);
  if (!flavorRow) throw new InvalidInputError(`Flavor ${flavorId} could not be found.`);
  if (flavorRow.disabled === 1) throw new InvalidInputError('Flavor is disabled.');
  const flavor: FlavorSnapshot = {
    id: flavorRow.flavorid,
    name: flavorRow.name,
    vcpus: flavorRow.vcpus,
    memory_mb: flavorRow.memory_mb,
    root_gb: flavorRow.root_gb,
    ephemeral_gb: flavorRow.ephemeral_gb,
    swap: flavorRow.swap,
    extra_specs: await getExtraSpecs(deps.db, flavorRow.id),
  };

  if (s.imageRef === undefined || s.imageRef === '') throw new InvalidInputError('Missing imageRef attribute');
  const imageId = refId(s.imageRef);
  const image = await findUsableImage(deps.db, imageId, projectId, ctx.isAdmin);
  if (!image) throw new InvalidInputError(`Image ${imageId} could not be found.`);
  if (image.status !== 'active') throw new InvalidInputError(`Image ${imageId} is not active.`);
  if (image.min_ram > flavor.memory_mb) throw new InvalidInputError("Flavor's memory is too small for requested image.");
  const GiB = 1024 ** 3;
  if (flavor.root_gb > 0) {
    if (image.min_disk > flavor.root_gb) {
      throw new InvalidInputError(
        `Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is ${flavor.root_gb * GiB} bytes, minimum size is ${image.min_disk * GiB} bytes.`,
      );
    }
    const size = image.virtual_size ?? image.size ?? 0;
    if (size > flavor.root_gb * GiB) {
      throw new InvalidInputError(`Flavor's disk is too small for requested image. Flavor disk is ${flavor.root_gb * GiB} bytes, image is ${size} bytes.`);
    }
  }

  const diskConfig = diskConfigFor(s['OS-DCF:diskConfig'], image.id, imageProperties(image)['auto_disk_config']);

  let placement = await resolveZone(deps, ctx, s.availability_zone);
  if (versioned.host !== null || versioned.node !== null) placement = { ...placement, ...(await requestedDestination(deps, versioned.host, versioned.node)) };

  return {
    name: s.name,
    description: s.description ?? null,
    flavor,
    imageRef: image.id,
    keyName,
    keyData,
    userData,
    injectedFiles,
    configDrive: s.config_drive !== undefined && parseBool(String(s.config_drive), 'config_drive') ? 'True' : '',
    networks: JSON.stringify(s.networks ?? 'auto'),
    ...placement,
    accessIPv4: s.accessIPv4 ?? null,
    accessIPv6: s.accessIPv6 === undefined ? null : canonicalIpv6(s.accessIPv6),
    metadata,
    minCount,
    maxCount,
    returnReservationId: s.return_reservation_id !== undefined && parseBool(String(s.return_reservation_id), 'return_reservation_id'),
    adminPass: s.adminPass,
    diskConfig,
    securityGroups: (s.security_groups ?? [{ name: 'default' }]).map((g) => g.name),
    quotas,
    userQuotas,
    groupUuid,
    schedulerHints,
    hostname: versioned.hostname,
  };
}

/** 2.74: the named host and/or node must exist (Nova: 400). */
async function requestedDestination(deps: ComputeDeps, host: string | null, node: string | null): Promise<{ requestedHost: string | null; requestedNode: string | null }> {
  const nodes = (await listNodes(deps.db)).filter((x) => (host === null || x.service.host === host) && (node === null || x.node.hypervisor_hostname === node));
  if (nodes.length === 0) {
    throw new InvalidInputError(node !== null && host !== null ? `Compute host ${host} with node ${node} could not be found.` : node !== null ? `Compute host ${node} could not be found.` : `Compute host ${host ?? ''} could not be found.`);
  }
  return { requestedHost: host, requestedNode: node };
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** The `group` scheduler hint: a server group of the caller's project (Nova: uuid format, 400 otherwise). */
async function groupHint(deps: ComputeDeps, ctx: AuthContext, body: CreateServerBody): Promise<string | null> {
  const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};
  const raw = hints['group'];
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || !UUID.test(raw)) {
    throw new InvalidInputError(`Invalid input for field/attribute group. Value: ${JSON.stringify(raw)}. ${JSON.stringify(raw)} is not a 'uuid'`);
  }
  const g = await getServerGroup(deps.db, raw);
  if (!g || !canSee(ctx, g.row.project_id)) throw new InvalidInputError(`Instance group ${raw} could not be found.`);
  return g.row.uuid;
}

/**
 * OS-DCF:diskConfig as Nova decides it: the image's `auto_disk_config` property ('disabled'
 * refuses AUTO with 400; a true value makes AUTO the default), MANUAL otherwise. Polyvisor's
 * drivers never resize a guest's partitions, so the choice is kept and shown, nothing more.
 */
export function diskConfigFor(requested: 'AUTO' | 'MANUAL' | undefined, imageId: string, imageProp: string | undefined): 'AUTO' | 'MANUAL' {
  const prop = (imageProp ?? '').trim().toLowerCase();
  if (requested === 'AUTO' && prop === 'disabled') throw new InvalidInputError(`Requested image ${imageId} has automatic disk resize disabled.`);
  if (requested !== undefined) return requested;
  return ['1', 't', 'true', 'on', 'y', 'yes'].includes(prop) ? 'AUTO' : 'MANUAL';
}

/**
 * The same_host / different_host hints: a server uuid or a list of them (Nova's schema; 400
 * otherwise). Servers that do not exist are not looked up, as in Nova: they are on no host,
 * so same_host then finds no valid host and different_host excludes nothing.
 */
function hostHints(body: CreateServerBody): string | null {
  const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'] ?? {};
  const out: Record<string, string[]> = {};
  for (const key of ['same_host', 'different_host'] as const) {
    const raw = hints[key];
    if (raw === undefined) continue;
    const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
    for (const v of list) {
      if (typeof v !== 'string' || !UUID.test(v)) {
        throw new InvalidInputError(`Invalid input for field/attribute ${key}. Value: ${JSON.stringify(raw)}. ${JSON.stringify(v)} is not a 'uuid'`);
      }
    }
    out[key] = list as string[];
  }
  return Object.keys(out).length === 0 ? null : JSON.stringify(out);
}

/**
 * The requested zone must be an available one. Admins may also name a host (and node)
 * as `zone:host[:node]`; it must exist. No zone given: [DEFAULT] default_schedule_zone.
 */
async function resolveZone(
  deps: ComputeDeps,
  ctx: AuthContext,
  requested: string | undefined,
): Promise<{ availabilityZone: string | null; requestedHost: string | null; requestedNode: string | null }> {
  if (requested === undefined) return { availabilityZone: deps.config.DEFAULT.default_schedule_zone, requestedHost: null, requestedNode: null };
  let zone: string | null = requested;
  let host: string | null = null;
  let node: string | null = null;
  if (requested.includes(':')) {
    if (!ctx.isAdmin) throw new ForbiddenError("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.");
    const [z, h, n] = requested.split(':', 3);
    zone = z === undefined || z === '' ? null : z;
    host = h === undefined || h === '' ? null : h;
    node = n === undefined || n === '' ? null : n;
    if (host !== null || node !== null) {
      const nodes = (await listNodes(deps.db)).filter(
        (x) => (host === null || x.service.host === host) && (node === null || x.node.hypervisor_hostname === node),
      );
      if (nodes.length === 0) {
        throw new PolyvisorError('invalid_input', node !== null && host !== null ? `Compute host ${host} with node ${node} could not be found.` : `Compute host ${host ?? node ?? ''} could not be found.`);
      }
    }
  }
  if (zone !== null) {
    const z = (await listZones(deps)).get(zone);
    if (!z || !z.available || z.name === 'internal') throw new InvalidInputError('The requested availability zone is not available');
  }
  return { availabilityZone: zone, requestedHost: host, requestedNode: node };
}
