import { isFault, morefKey, type Client } from '../../../vsphere/index.js';
import { DriverError } from '../driver.js';
import type { VmwareDriverOptions } from './config.js';
import { REQUIRED_PRIVILEGES } from './privileges.js';
import { encodeVersion, usableDatastores } from './resources.js';
import type { ComputeTarget, Topology } from './topology.js';

export const MIN_VCENTER_VERSION = '5.5.0';

/** A start-up check failed: the agent stops with this message. */
export class VmwareStartupError extends DriverError {
  constructor(check: string, message: string, details: Record<string, unknown> = {}) {
    super('vmware_startup_check', message, { details: { check, ...details } });
  }
}

/** The vCenter (or ESXi) must be 5.5.0 or newer. */
export function checkVersion(client: Client): void {
  const { version, fullName } = client.content.about;
  if (encodeVersion(version) < encodeVersion(MIN_VCENTER_VERSION)) {
    throw new VmwareStartupError('version', `${fullName || 'vSphere'} reports version ${version}; Polyvisor needs vCenter ${MIN_VCENTER_VERSION} or newer`, { version });
  }
}

/** Translates a failed login into a message that names the problem, never the password. */
export function connectError(err: unknown, options: Pick<VmwareDriverOptions, 'username' | 'hostIp'>): DriverError {
  if (isFault(err, 'InvalidLogin')) {
    return new VmwareStartupError('credentials', `vCenter ${options.hostIp} refused the login of ${options.username}: wrong [vmware] host_username or host_password`);
  }
  if (err instanceof DriverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DriverError('vmware_connect', `cannot connect to vCenter ${options.hostIp}: ${message}`, { cause: err, retryable: true });
}

/**
 * The compute targets the configuration names: each cluster_name must exist (the error
 * lists those that do). Against a standalone ESXi host, its one compute resource.
 */
export function selectTargets(client: Client, topology: Topology, options: Pick<VmwareDriverOptions, 'clusterNames'>): ComputeTarget[] {
  if (!client.isVCenter) {
    if (topology.standalone.length === 0) throw new VmwareStartupError('cluster_name', 'the ESXi host shows no compute resource');
    return [...topology.standalone];
  }
  if (options.clusterNames.length === 0) {
    throw new VmwareStartupError('cluster_name', `[vmware] cluster_name is required with a vCenter; its clusters are: ${listNames(topology.clusters.map((c) => c.name))}`);
  }
  const missing = options.clusterNames.filter((n) => !topology.clusters.some((c) => c.name === n));
  if (missing.length > 0) {
    throw new VmwareStartupError(
      'cluster_name',
      `[vmware] cluster_name ${missing.map((m) => `"${m}"`).join(', ')} not found in vCenter; existing clusters: ${listNames(topology.clusters.map((c) => c.name))}`,
      { missing },
    );
  }
  return options.clusterNames.map((n) => topology.clusters.find((c) => c.name === n)).filter((c): c is ComputeTarget => c !== undefined);
}

/** Each target must have at least one usable datastore matching datastore_regex (the error lists its datastores). */
export function checkDatastores(targets: readonly ComputeTarget[], regex: RegExp | null): void {
  for (const t of targets) {
    if (usableDatastores(t, regex).length === 0) {
      const what = regex === null ? 'has no accessible datastore' : `has no datastore matching [vmware] datastore_regex = ${regex.source}`;
      throw new VmwareStartupError('datastore_regex', `cluster ${t.name} ${what}; its datastores: ${listNames(t.datastores.map((d) => d.name))}`, { cluster: t.name });
    }
  }
}

/**
 * The session must hold every privilege of the guides' permission table on each
 * datacenter root (one HasPrivilegeOnEntities call); the error names each missing one.
 */
export async function checkPrivileges(client: Client, targets: readonly ComputeTarget[], signal?: AbortSignal): Promise<void> {
  const session = client.session.userSession;
  if (session === undefined || client.content.authorizationManager === undefined) return;
  const dcs = [...new Map(targets.map((t) => [morefKey(t.datacenter.ref), t.datacenter])).values()];
  const ids = Object.keys(REQUIRED_PRIVILEGES);
  const granted = await client.authorizationManager().hasPrivilegeOnEntities(dcs.map((d) => d.ref), session.key, ids, signal === undefined ? {} : { signal });
  const missing: string[] = [];
  for (const dc of dcs) {
    const got = granted.get(morefKey(dc.ref));
    for (const id of ids) if (got?.get(id) !== true && !missing.includes(id)) missing.push(id);
  }
  if (missing.length > 0) {
    const names = missing.map((id) => `${id} (${REQUIRED_PRIVILEGES[id] ?? id})`);
    throw new VmwareStartupError(
      'privileges',
      `the vCenter account ${session.userName} lacks ${missing.length} required privilege(s) on datacenter ${dcs.map((d) => d.name).join(', ')}: ${names.join('; ')}`,
      { missing },
    );
  }
}

function listNames(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : names.map((n) => `"${n}"`).join(', ');
}
