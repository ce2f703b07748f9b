import { createHash } from 'node:crypto';
import type { ServerViewRow } from '../../../db/repos/server-queries.js';
import type { InstanceFaultRow } from '../../../db/schema.js';
import { apiTime } from '../../../db/time.js';
import { serverStatus, type FlavorSnapshot } from '../../states.js';
import { compareVersions, type ApiVersion } from '../microversion.js';
import type { Linker } from '../request.js';
import { pythonIsoTime } from '../times.js';

/** What a server view needs beyond the row: loaded once per page, never per row. */
export interface ServerViewContext {
  readonly linker: Linker;
  readonly isAdmin: boolean;
  readonly instanceNameTemplate: string;
  readonly metadata: ReadonlyMap<string, Record<string, string>>;
  readonly faults: ReadonlyMap<string, InstanceFaultRow>;
  /** The request's microversion: fields come and go with it. */
  readonly version: ApiVersion;
  /** user_data by uuid, loaded only when the view shows it (admin, 2.3+). */
  readonly userData: ReadonlyMap<string, string | null>;
  /** Compute service host → Nova's host_status, loaded only when shown (admin, 2.16+). */
  readonly hostStatus: ReadonlyMap<string, string>;
  /** 2.26: server tags by uuid, when the tags feature loaded them (a server without any shows []). */
  readonly tags?: ReadonlyMap<string, readonly string[]>;
  /** 2.71: server group uuids by server uuid; loaded for show, update and rebuild only (Nova leaves them out of lists). */
  readonly serverGroups?: ReadonlyMap<string, readonly string[]>;
}

function atLeast(v: ServerViewContext, minor: number): boolean {
  return compareVersions(v.version, { major: 2, minor }) >= 0;
}

const PROGRESS_STATUSES = new Set(['ACTIVE', 'BUILD', 'REBUILD', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING']);
const FAULT_STATUSES = new Set(['ERROR', 'DELETED']);

export function serverSummary(row: Pick<ServerViewRow, 'uuid' | 'display_name'>, linker: Linker) {
  return { id: row.uuid, name: row.display_name, links: linker.links('servers', row.uuid) };
}

/**
 * Nova's detail view: the OS-EXT-* extension attributes it always shows at 2.1, then per
 * microversion: 2.3 more OS-EXT-SRV-ATTR fields for admins, 2.9 `locked`, 2.16 `host_status`
 * for admins, 2.19 `description`, 2.26 `tags`, 2.47 the embedded flavor, 2.63
 * `trusted_image_certificates` (always null: none can be given), 2.71 `server_groups` (show),
 * 2.73 `locked_reason`, 2.90 `OS-EXT-SRV-ATTR:hostname` for everyone, 2.96
 * `pinned_availability_zone`.
 */
export function serverDetail(row: ServerViewRow, v: ServerViewContext): Record<string, unknown> {
  const status = serverStatus(row.vm_state, row.task_state);
  const flavor = parseFlavor(row.flavor);
  const out: Record<string, unknown> = {
    id: row.uuid,
    name: row.display_name,
    status,
    tenant_id: row.project_id,
    user_id: row.user_id,
    metadata: v.metadata.get(row.uuid) ?? {},
    hostId: hostIdOf(row.project_id, row.host),
    image: row.image_ref === '' ? '' : { id: row.image_ref, links: [{ rel: 'bookmark', href: v.linker.bookmark('images', row.image_ref) }] },
    flavor: atLeast(v, 47)
      ? {
          vcpus: flavor.vcpus,
          ram: flavor.memory_mb,
          disk: flavor.root_gb,
          ephemeral: flavor.ephemeral_gb,
          swap: flavor.swap,
          original_name: flavor.name,
          extra_specs: flavor.extra_specs,
        }
      : { id: flavor.id, links: [{ rel: 'bookmark', href: v.linker.bookmark('flavors', flavor.id) }] },
    created: apiTime(row.created_at),
    updated: apiTime(row.updated_at),
    addresses: {},
    accessIPv4: row.access_ip_v4 ?? '',
    accessIPv6: row.access_ip_v6 ?? '',
    key_name: row.key_name,
    config_drive: row.config_drive,
    links: v.linker.links('servers', row.uuid),
    'OS-DCF:diskConfig': row.auto_disk_config === 1 ? 'AUTO' : 'MANUAL',
    'OS-EXT-AZ:availability_zone': row.availability_zone ?? row.requested_availability_zone ?? '',
    'OS-EXT-STS:vm_state': row.vm_state,
    'OS-EXT-STS:task_state': row.task_state,
    'OS-EXT-STS:power_state': row.power_state,
    'OS-SRV-USG:launched_at': pythonIsoTime(row.launched_at),
    'OS-SRV-USG:terminated_at': pythonIsoTime(row.terminated_at),
    'os-extended-volumes:volumes_attached': [],
    security_groups: [{ name: 'default' }],
  };
  if (PROGRESS_STATUSES.has(status)) out['progress'] = row.progress;
  if (v.isAdmin) {
    out['OS-EXT-SRV-ATTR:host'] = row.host;
    out['OS-EXT-SRV-ATTR:hypervisor_hostname'] = row.node;
    out['OS-EXT-SRV-ATTR:instance_name'] = instanceName(v.instanceNameTemplate, row.uuid);
    if (atLeast(v, 3)) {
      out['OS-EXT-SRV-ATTR:reservation_id'] = row.reservation_id;
      out['OS-EXT-SRV-ATTR:launch_index'] = row.launch_index;
      out['OS-EXT-SRV-ATTR:hostname'] = row.hostname;
      // No kernel/ramdisk images or guest device names here: Nova shows '' and null for those.
      out['OS-EXT-SRV-ATTR:kernel_id'] = '';
      out['OS-EXT-SRV-ATTR:ramdisk_id'] = '';
      out['OS-EXT-SRV-ATTR:root_device_name'] = null;
      out['OS-EXT-SRV-ATTR:user_data'] = v.userData.get(row.uuid) ?? null;
    }
  }
  if (atLeast(v, 9)) out['locked'] = row.locked === 1;
  // A server not (yet) on a host, or whose compute service is gone, has the empty status.
  if (atLeast(v, 16) && v.isAdmin) out['host_status'] = row.host === null ? '' : (v.hostStatus.get(row.host) ?? '');
  if (atLeast(v, 19)) out['description'] = row.display_description;
  if (atLeast(v, 26)) out['tags'] = [...(v.tags?.get(row.uuid) ?? [])];
  if (atLeast(v, 63)) out['trusted_image_certificates'] = null;
  if (atLeast(v, 71) && v.serverGroups) out['server_groups'] = [...(v.serverGroups.get(row.uuid) ?? [])];
  if (atLeast(v, 73)) out['locked_reason'] = row.locked === 1 ? row.locked_reason : null;
  if (atLeast(v, 90)) out['OS-EXT-SRV-ATTR:hostname'] = row.hostname;
  if (atLeast(v, 96)) out['pinned_availability_zone'] = row.requested_availability_zone;
  const fault = FAULT_STATUSES.has(status) ? v.faults.get(row.uuid) : undefined;
  if (fault) {
    const f: Record<string, unknown> = { code: fault.code, created: apiTime(fault.created_at), message: fault.message };
    // Nova hides the details (a traceback) of internal errors from non-admins.
    if (fault.details !== '' && (v.isAdmin || fault.code !== 500)) f['details'] = fault.details;
    out['fault'] = f;
  }
  return out;
}

/** Nova's hostId: an opaque per-project digest of the host, so tenants can tell co-location without learning host names. */
export function hostIdOf(projectId: string, host: string | null): string {
  return host === null || host === '' ? '' : createHash('sha224').update(projectId + host).digest('hex');
}

function parseFlavor(json: string): FlavorSnapshot {
  const empty: FlavorSnapshot = { id: '', name: '', vcpus: 0, memory_mb: 0, root_gb: 0, ephemeral_gb: 0, swap: 0, extra_specs: {} };
  try {
    const p = JSON.parse(json) as Record<string, unknown>;
    const n = (k: string) => (typeof p[k] === 'number' ? p[k] : 0);
    const specs: Record<string, string> = {};
    if (p['extra_specs'] && typeof p['extra_specs'] === 'object') {
      for (const [k, val] of Object.entries(p['extra_specs'] as Record<string, unknown>)) if (typeof val === 'string') specs[k] = val;
    }
    return {
      id: typeof p['id'] === 'string' ? p['id'] : typeof p['id'] === 'number' ? String(p['id']) : '',
      name: typeof p['name'] === 'string' ? p['name'] : '',
      vcpus: n('vcpus'),
      memory_mb: n('memory_mb'),
      root_gb: n('root_gb'),
      ephemeral_gb: n('ephemeral_gb'),
      swap: n('swap'),
      extra_specs: specs,
    };
  } catch {
    return empty;
  }
}

/**
 * [DEFAULT] instance_name_template applied as Python's % operator would. Nova formats the
 * integer database id; instances here are keyed by uuid, so `%d`/`%x` get the number
 * formed by the uuid's first 8 hex digits, and `%(uuid)s` the uuid itself.
 */
export function instanceName(template: string, uuid: string): string {
  const n = Number.parseInt(uuid.replace(/-/g, '').slice(0, 8), 16) || 0;
  return template.replace(/%(\(uuid\)s|\(id\)[dxX]|(0?)(\d*)([dxXs])|%)/g, (whole: string, _spec: string, zero: string | undefined, width: string | undefined, conv: string | undefined) => {
    if (whole === '%%') return '%';
    if (whole === '%(uuid)s') return uuid;
    const c = conv ?? whole.slice(-1);
    const body = c === 'x' ? n.toString(16) : c === 'X' ? n.toString(16).toUpperCase() : c === 's' ? uuid : String(n);
    const w = Number(width ?? '0');
    return body.padStart(w, zero === '0' ? '0' : ' ');
  });
}

/** Detail fields Nova's PUT /servers/{id} response leaves out before 2.75 (its show_* flags are off there). */
const HIDDEN_IN_UPDATE = new Set(['key_name', 'config_drive', 'security_groups', 'host_status', 'os-extended-volumes:volumes_attached']);

/**
 * The server body of an update response: before microversion 2.75 Nova builds it without
 * the extension attributes (AZ, extended status/server attributes, usage, volumes, security
 * groups, key name, config drive, host status), and tempest's schema refuses them there.
 */
export function serverUpdateView(detail: Record<string, unknown>, v: Pick<ServerViewContext, 'version'>): Record<string, unknown> {
  if (compareVersions(v.version, { major: 2, minor: 75 }) >= 0) return detail;
  return Object.fromEntries(Object.entries(detail).filter(([k]) => !HIDDEN_IN_UPDATE.has(k) && !/^OS-(EXT-(AZ|STS|SRV-ATTR)|SRV-USG):/.test(k)));
}
