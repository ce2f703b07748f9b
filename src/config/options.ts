import { hostname } from 'node:os';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { opt, type ConfigSchema, type ConfigValues } from './types.js';

/**
 * Every option Polyvisor reads, by section, with nova.conf's names, defaults and meaning
 * where Nova has the option. An option not listed here is an error at start-up.
 */
export const SCHEMA = {
  DEFAULT: {
    compute_driver: opt.str('fake.FakeDriver', 'Which hypervisor driver the compute agent uses.', {
      choices: ['fake.FakeDriver', 'vmwareapi.VMwareVCDriver', 'libvirt.LibvirtDriver'],
    }),
    host: opt.str(hostname(), 'Name of this host as a compute service; unique per compute agent.'),
    my_ip: opt.str('127.0.0.1', 'IP address of this host (reported as the hypervisor host_ip).'),
    state_path: opt.str(join(homedir(), '.polyvisor'), 'Top-level directory for Polyvisor state: the SQLite database, image store and caches.'),
    debug: opt.bool(false, 'Log at debug level.'),
    verbose: opt.bool(true, 'Accepted for old nova.conf files.', { ignoredBecause: 'verbose logging is always on; use debug for more' }),
    log_file: opt.strOrNull('Write logs to this file instead of standard error.'),
    log_dir: opt.strOrNull('Directory for log_file when it is relative.'),
    reserved_host_memory_mb: opt.int(512, 'Memory (MB) kept for the host; the seeds advise 0 for a vCenter cluster node.', { min: 0 }),
    reserved_host_disk_mb: opt.int(0, 'Disk (MB) kept for the host.', { min: 0 }),
    reserved_host_cpus: opt.int(0, 'vCPUs kept for the host.', { min: 0 }),
    cpu_allocation_ratio: opt.float(4.0, 'Virtual CPU to physical CPU allocation ratio.', { min: 0 }),
    ram_allocation_ratio: opt.float(1.5, 'Virtual RAM to physical RAM allocation ratio.', { min: 0 }),
    disk_allocation_ratio: opt.float(1.0, 'Virtual disk to physical disk allocation ratio.', { min: 0 }),
    default_availability_zone: opt.str('nova', 'Availability zone of compute hosts that are not in one explicitly.'),
    default_schedule_zone: opt.strOrNull('Availability zone for servers created without one (none: any zone).'),
    instance_name_template: opt.str('instance-%08x', 'Template for hypervisor-side instance names (the vCenter driver names VMs by UUID instead).'),
    service_down_time: opt.int(60, 'Seconds without a heartbeat after which a service is reported down.', { min: 1 }),
    report_interval: opt.int(10, 'Seconds between a service heartbeat and resource report.', { min: 1 }),
    sync_power_state_interval: opt.int(600, 'Seconds between power-state syncs with the hypervisor; -1 disables.', { min: -1 }),
    reclaim_instance_interval: opt.int(0, 'Accepted for compatibility; soft delete is not supported.', { ignoredBecause: 'soft delete is not supported: deletes are immediate' }),
    flat_network_bridge: opt.str('br100', 'Bridge (VMware: port group) for flat networking.'),
    vlan_interface: opt.strOrNull('Physical interface (VMware: vSwitch uplink) for VLAN networks.'),
    osapi_compute_listen: opt.strOrNull('Deprecated name of [api] listen.'),
    osapi_compute_listen_port: opt.intOrNull('Deprecated name of [api] port.'),
    // Older releases kept the image-cache options in [DEFAULT]; they are read from there too.
    remove_unused_base_images: opt.strOrNull('Deprecated location of [image_cache] remove_unused_base_images.'),
    remove_unused_original_minimum_age_seconds: opt.strOrNull('Deprecated location of [image_cache] remove_unused_original_minimum_age_seconds.'),
    image_cache_subdirectory_name: opt.strOrNull('Deprecated location of [image_cache] subdirectory_name.'),
  },
  api: {
    listen: opt.str('127.0.0.1', 'Address the API listens on (identity, compute and image on one port).'),
    port: opt.int(8774, 'TCP port of the API.', { min: 0, max: 65535 }),
    public_endpoint: opt.strOrNull('Base URL advertised in the service catalog (default: http://<listen>:<port>).'),
    max_request_body_size: opt.int(114688, 'Largest JSON request body accepted, in bytes (oslo.middleware default).', { min: 1024 }),
    max_limit: opt.int(1000, 'Largest page a list call returns (osapi_max_limit).', { min: 1 }),
    workers: opt.int(1, 'API worker processes.', { min: 1 }),
  },
  database: {
    connection: opt.str('', 'Database URL: empty or sqlite:///path for embedded SQLite, postgresql://user:pass@host/db for PostgreSQL.'),
    max_pool_size: opt.int(10, 'Connections kept in the PostgreSQL pool.', { min: 1 }),
  },
  token: {
    expiration: opt.int(3600, 'Seconds a token stays valid (Keystone [token] expiration).', { min: 60 }),
  },
  scheduler: {
    max_attempts: opt.int(3, 'Nodes tried for one build before the server goes to ERROR.', { min: 1 }),
    periodic_task_interval: opt.int(60, 'Seconds between full refreshes of the scheduler host cache.', { min: 1 }),
  },
  filter_scheduler: {
    enabled_filters: opt.list(
      ['ComputeFilter', 'AvailabilityZoneFilter', 'ComputeCapabilitiesFilter', 'ImagePropertiesFilter', 'RamFilter', 'CoreFilter', 'DiskFilter'],
      'Filters every candidate node must pass.',
    ),
    weight_classes: opt.list(['RAMWeigher'], 'Weighers that rank the nodes that pass (RAMWeigher, CPUWeigher, DiskWeigher).'),
    ram_weight_multiplier: opt.float(1.0, 'Positive spreads by free RAM, negative stacks.'),
    cpu_weight_multiplier: opt.float(1.0, 'Positive spreads by free vCPUs, negative stacks.'),
    disk_weight_multiplier: opt.float(1.0, 'Positive spreads by free disk, negative stacks.'),
    host_subset_size: opt.int(1, 'Pick at random among this many best nodes (reduces races between schedulers).', { min: 1 }),
  },
  quota: {
    instances: opt.int(10, 'Servers per project (-1: unlimited).', { min: -1 }),
    cores: opt.int(20, 'vCPUs per project (-1: unlimited).', { min: -1 }),
    ram: opt.int(51200, 'MB of RAM per project (-1: unlimited).', { min: -1 }),
    metadata_items: opt.int(128, 'Metadata items per server (-1: unlimited).', { min: -1 }),
    key_pairs: opt.int(100, 'Key pairs per user (-1: unlimited).', { min: -1 }),
    injected_files: opt.int(5, 'Accepted for compatibility.', { min: -1 }),
    injected_file_content_bytes: opt.int(10240, 'Accepted for compatibility.', { min: -1 }),
    injected_file_path_length: opt.int(255, 'Accepted for compatibility.', { min: -1 }),
    server_groups: opt.int(10, 'Accepted for compatibility.', { min: -1 }),
    server_group_members: opt.int(10, 'Accepted for compatibility.', { min: -1 }),
  },
  glance_store: {
    filesystem_store_datadir: opt.str('$state_path/images', 'Directory of the local image store.'),
  },
  image: {
    image_size_cap: opt.int(1099511627776, 'Largest image upload accepted, in bytes (Glance image_size_cap).', { min: 1 }),
    max_virtual_size: opt.int(1099511627776 * 4, 'Largest virtual disk size an image may declare, in bytes.', { min: 1 }),
  },
  fake: {
    nodes: opt.int(1, 'Fake driver: number of hypervisor nodes this compute agent reports.', { min: 0 }),
    vcpus: opt.int(64, 'Fake driver: vCPUs per node.', { min: 0 }),
    memory_mb: opt.int(262144, 'Fake driver: memory per node (MB).', { min: 0 }),
    local_gb: opt.int(4096, 'Fake driver: disk per node (GB).', { min: 0 }),
    hypervisor_type: opt.str('fake', 'Fake driver: the hypervisor type its nodes report.'),
    spawn_delay_ms: opt.int(0, 'Fake driver: time a spawn takes.', { min: 0 }),
    operation_delay_ms: opt.int(0, 'Fake driver: time every other operation takes.', { min: 0 }),
  },
  vmware: {
    host_ip: opt.strOrNull('Hostname or IP address of vCenter (or a standalone ESXi host).'),
    host_port: opt.int(443, 'Port of vCenter.', { min: 1, max: 65535 }),
    host_username: opt.strOrNull('vCenter user name.'),
    host_password: opt.secret('vCenter password.'),
    ca_file: opt.strOrNull('CA bundle that signs the vCenter certificate.'),
    insecure: opt.bool(false, 'Do not verify the vCenter certificate (ignored when ca_file is set).'),
    cluster_name: opt.multi('A vCenter cluster to use; repeat for several clusters (each one compute node).'),
    datastore_regex: opt.strOrNull('Regular expression selecting the datastores to use.'),
    task_poll_interval: opt.float(0.5, 'Seconds between task polls (tasks are awaited by WaitForUpdatesEx; used as a fallback).', { min: 0 }),
    api_retry_count: opt.int(10, 'Times a failed vSphere call is retried for transient faults.', { min: 0 }),
    maximum_objects: opt.int(100, 'Objects returned per page by the PropertyCollector.', { min: 1 }),
    use_linked_clone: opt.bool(true, 'Boot from linked clones of the cached image disk.'),
    cache_prefix: opt.strOrNull('Prefix of the image cache folder on the datastore.'),
    integration_bridge: opt.strOrNull('Port group for instances (NSX: br-int).'),
    vnc_port: opt.int(5900, 'First VNC port on the ESX hosts.', { min: 1, max: 65535 }),
    vnc_port_total: opt.int(10000, 'Number of VNC ports.', { min: 1 }),
    console_delay_seconds: opt.intOrNull('Seconds to wait before reading a serial console.'),
    wsdl_location: opt.strOrNull('Accepted for old nova.conf files.', { ignoredBecause: 'Polyvisor speaks vim25 SOAP without a local WSDL copy' }),
    serial_port_service_uri: opt.strOrNull('Serial port service URI.'),
    serial_port_proxy_uri: opt.strOrNull('Serial port proxy URI.'),
    pbm_enabled: opt.bool(false, 'Storage policy based placement.'),
    pbm_default_policy: opt.strOrNull('Default storage policy.'),
    pbm_wsdl_location: opt.strOrNull('Accepted for compatibility.', { ignoredBecause: 'no local WSDL is needed' }),
  },
  libvirt: {
    virt_type: opt.str('kvm', 'kvm, or qemu where there is no /dev/kvm.', { choices: ['kvm', 'qemu'] }),
    connection_uri: opt.str('', 'libvirt URI (default: qemu:///system).'),
    images_type: opt.str('qcow2', 'Disk format of instance disks.', { choices: ['qcow2', 'raw', 'default'] }),
    cpu_mode: opt.strOrNull('CPU mode for guests.'),
  },
  image_cache: {
    remove_unused_base_images: opt.bool(true, 'Remove cached base images that no instance uses.'),
    remove_unused_original_minimum_age_seconds: opt.int(86400, 'Age a cached base image must reach unused before it is removed.', { min: 0 }),
    subdirectory_name: opt.str('_base', 'Name of the cache folder (the VMware driver uses vmware_base when unset).'),
    manager_interval: opt.int(2400, 'Seconds between image-cache ageing runs.', { min: -1 }),
  },
} as const satisfies ConfigSchema;

export type Config = ConfigValues<typeof SCHEMA>;
