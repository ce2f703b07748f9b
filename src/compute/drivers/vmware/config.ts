import type { Config } from '../../../config/options.js';
import { DriverError } from '../driver.js';
import { parseVlanNetworks, type VlanNetwork } from './vlan-port-groups.js';

/**
 * Everything the VMware driver reads from nova.conf, parsed once at construction (never
 * from a global at import time). Built from `[vmware]`, `[DEFAULT]` and `[image_cache]`
 * by {@link vmwareOptionsFromConfig}; tests build it directly.
 */
export interface VmwareDriverOptions {
  /** [vmware] host_ip (a vCenter, or a standalone ESXi host) and host_port. */
  readonly hostIp: string;
  readonly hostPort: number;
  readonly username: string;
  readonly password: string;
  /** [vmware] ca_file: PEM CAs to trust; insecure: skip verification (ignored with ca_file). */
  readonly caFile?: string;
  readonly insecure: boolean;
  /** [vmware] cluster_name, repeatable: each cluster is one compute node. Empty with an ESXi host. */
  readonly clusterNames: readonly string[];
  /** [vmware] datastore_regex (null: every datastore of the cluster). */
  readonly datastoreRegex: RegExp | null;
  readonly apiRetryCount: number;
  readonly maximumObjects: number;
  readonly useLinkedClone: boolean;
  /** `<cache_prefix><subdirectory_name>`: the image cache folder on each datastore. */
  readonly cacheFolder: string;
  /** `<cache_prefix>vmware_temp`: where snapshots stage their disk copies on a datastore (default vmware_temp). */
  readonly tempFolder?: string;
  /** Port group of instance NICs: [vmware] integration_bridge, else [DEFAULT] flat_network_bridge. */
  readonly portGroup: string;
  /** [DEFAULT] vlan_interface: the vSwitch uplink where VLAN port groups are created. */
  readonly vlanInterface: string | null;
  /** [vmware] vlan_network: networks a server may ask for by id, each a VLAN port group (none by default). */
  readonly vlanNetworks?: readonly VlanNetwork[];
  readonly vncPort: number;
  readonly vncPortTotal: number;
  readonly removeUnusedBaseImages: boolean;
  readonly removeUnusedMinimumAgeSeconds: number;
  /** [DEFAULT] my_ip / host: what node records show as host_ip, and the service's name. */
  readonly myIp: string;
  /** How long an agent waits for another agent's unfinished image transfer before taking it over (ms; default 120 s). */
  readonly cacheLockTimeoutMs?: number;
  /** Per-call timeout of vSphere calls (ms). */
  readonly timeoutMs?: number;
}

function bool(section: string, option: string, v: string): boolean {
  if (/^(true|yes|on|1)$/i.test(v)) return true;
  if (/^(false|no|off|0)$/i.test(v)) return false;
  throw new DriverError('invalid_config', `[${section}] ${option} = ${v}: expected a boolean (True or False)`);
}

function int(section: string, option: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new DriverError('invalid_config', `[${section}] ${option} = ${v}: expected a non-negative integer`);
  return n;
}

/**
 * The driver's options from the configuration. Older releases kept the image-cache
 * options in [DEFAULT]: they apply when [image_cache] leaves them at their defaults.
 * Throws a DriverError naming the option when one is missing or malformed.
 */
export function vmwareOptionsFromConfig(config: Config): VmwareDriverOptions {
  const v = config.vmware;
  const d = config.DEFAULT;
  const ic = config.image_cache;
  if (v.host_ip === null || v.host_ip === '') throw new DriverError('invalid_config', '[vmware] host_ip is required with compute_driver = vmwareapi.VMwareVCDriver');
  if (v.host_username === null || v.host_username === '') throw new DriverError('invalid_config', '[vmware] host_username is required');
  if (v.host_password === '') throw new DriverError('invalid_config', '[vmware] host_password is required');
  let datastoreRegex: RegExp | null = null;
  if (v.datastore_regex !== null && v.datastore_regex !== '') {
    try {
      datastoreRegex = new RegExp(v.datastore_regex.replace(/^"(.*)"$/, '$1'));
    } catch (err) {
      throw new DriverError('invalid_config', `[vmware] datastore_regex = ${v.datastore_regex} is not a valid regular expression`, { cause: err });
    }
  }
  const subdir = ic.subdirectory_name !== '_base' ? ic.subdirectory_name : (d.image_cache_subdirectory_name ?? 'vmware_base');
  const removeUnused =
    ic.remove_unused_base_images === true && d.remove_unused_base_images !== null
      ? bool('DEFAULT', 'remove_unused_base_images', d.remove_unused_base_images)
      : ic.remove_unused_base_images;
  const minAge =
    ic.remove_unused_original_minimum_age_seconds === 86400 && d.remove_unused_original_minimum_age_seconds !== null
      ? int('DEFAULT', 'remove_unused_original_minimum_age_seconds', d.remove_unused_original_minimum_age_seconds)
      : ic.remove_unused_original_minimum_age_seconds;
  return {
    hostIp: v.host_ip,
    hostPort: v.host_port,
    username: v.host_username,
    password: v.host_password,
    ...(v.ca_file === null ? {} : { caFile: v.ca_file }),
    insecure: v.ca_file === null && v.insecure,
    clusterNames: v.cluster_name,
    datastoreRegex,
    apiRetryCount: v.api_retry_count,
    maximumObjects: v.maximum_objects,
    useLinkedClone: v.use_linked_clone,
    cacheFolder: `${v.cache_prefix ?? ''}${subdir}`,
    tempFolder: `${v.cache_prefix ?? ''}vmware_temp`,
    portGroup: v.integration_bridge ?? d.flat_network_bridge,
    vlanInterface: d.vlan_interface,
    vlanNetworks: parseVlanNetworks(v.vlan_network),
    vncPort: v.vnc_port,
    vncPortTotal: v.vnc_port_total,
    removeUnusedBaseImages: removeUnused,
    removeUnusedMinimumAgeSeconds: minAge,
    myIp: d.my_ip,
  };
}

/** The SDK URL for host_ip/host_port (host_ip may already be a URL, as in tests). */
export function vmwareUrl(options: Pick<VmwareDriverOptions, 'hostIp' | 'hostPort'>): string {
  if (/^https?:\/\//i.test(options.hostIp)) return options.hostIp;
  const host = options.hostIp.includes(':') ? `[${options.hostIp}]` : options.hostIp;
  return `https://${host}:${options.hostPort}/sdk`;
}
