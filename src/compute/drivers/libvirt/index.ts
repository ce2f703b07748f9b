/**
 * The KVM/QEMU driver through libvirt (`compute_driver = libvirt.LibvirtDriver`).
 *
 * Entry point for the composition root:
 *   new LibvirtDriver(libvirtOptionsFromConfig(config), logger)
 * where libvirtOptionsFromConfig reads [libvirt] (virt_type, connection_uri, cpu_mode, wait_soft_reboot_seconds),
 * [DEFAULT] (instances_path, flat_network_bridge, host, my_ip, and the deprecated
 * libvirt_type), [vnc] (enabled, server_listen, server_proxyclient_address), [serial_console] (enabled, proxyclient_address, port_range) and
 * [image_cache] (subdirectory_name, remove_unused_*). init() creates instances_path,
 * reaches libvirtd and checks that virt_type can run here; each failure is a DriverError
 * whose message names the option.
 */
export { LibvirtDriver } from './libvirt-driver.js';
export { libvirtOptionsFromConfig, type LibvirtDriverOptions } from './config.js';
export { LibvirtStartupError } from './startup-checks.js';
export { LibvirtError } from './virsh.js';
export type { LibvirtDriverInfo } from './spawn.js';
