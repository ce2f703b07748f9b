import { GOVMOMI_GUEST_IDS } from './generated/guest-ids.js';

/**
 * Guest OS identifiers vSphere 8 added after the govmomi release Debian ships; with the
 * generated list they make every value vmware_ostype may name.
 */
const VSPHERE8_GUEST_IDS = [
  'almalinux_64Guest', 'darwin22_64Guest', 'darwin23_64Guest', 'debian12Guest', 'debian12_64Guest', 'debian13Guest',
  'debian13_64Guest', 'freebsd14Guest', 'freebsd14_64Guest', 'freebsd15Guest', 'freebsd15_64Guest', 'kylinlinux_64Guest',
  'miraclelinux_64Guest', 'other6xLinux64Guest', 'other6xLinuxGuest', 'other7xLinux64Guest', 'other7xLinuxGuest',
  'pardus_64Guest', 'rhel10_64Guest', 'rockylinux_64Guest', 'vmkernel8Guest', 'vmkernel9Guest', 'windows11_64Guest',
  'windows12_64Guest', 'windows2022srvNext_64Guest',
] as const;

/** Every VirtualMachineGuestOsIdentifier: a guest ID outside this set makes vCenter refuse CreateVM. */
export const GUEST_IDS: ReadonlySet<string> = new Set([...GOVMOMI_GUEST_IDS, ...VSPHERE8_GUEST_IDS]);
