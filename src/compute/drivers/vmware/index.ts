/**
 * The VMware vCenter driver (`compute_driver = vmwareapi.VMwareVCDriver`).
 *
 * Entry point for the composition root:
 *   new VmwareDriver(vmwareOptionsFromConfig(config), logger)
 * where vmwareOptionsFromConfig reads [vmware] (host_ip, host_port, host_username,
 * host_password, ca_file, insecure, cluster_name (repeatable), datastore_regex,
 * api_retry_count, maximum_objects, use_linked_clone, cache_prefix, integration_bridge,
 * vnc_port, vnc_port_total), [DEFAULT] (flat_network_bridge, vlan_interface, my_ip, and
 * the old image-cache option names) and [image_cache] (remove_unused_base_images,
 * remove_unused_original_minimum_age_seconds, subdirectory_name). init() connects and runs
 * the start-up checks; each failure is a DriverError whose message names the problem.
 */
export { VmwareDriver } from './vmware-driver.js';
export { vmwareOptionsFromConfig, vmwareUrl, type VmwareDriverOptions } from './config.js';
export { VmwareStartupError } from './startup-checks.js';
export type { VmwareDriverInfo } from './spawn.js';
