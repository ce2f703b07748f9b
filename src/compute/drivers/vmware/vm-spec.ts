import type { VirtualDevice, VirtualDeviceConfigSpec, VirtualMachineConfigSpec } from '../../../vsphere/index.js';
import { DriverError, type InstanceSpec } from '../driver.js';
import { GUEST_IDS } from '../../../vsphere/index.js';
import type { NetworkFacts } from './topology.js';

/** The port group a NIC joins: a known network, or a standard port group named only (one the driver just created). */
export type NicNetwork = Pick<NetworkFacts, 'name' | 'dvs'> & { readonly ref?: NetworkFacts['ref'] };

/** vmware_adaptertype values (Nova's names) → the controller device; ide uses the VM's built-in IDE controller. */
const CONTROLLERS: Readonly<Record<string, string | null>> = {
  lsiLogic: 'VirtualLsiLogicController',
  busLogic: 'VirtualBusLogicController',
  lsiLogicsas: 'VirtualLsiLogicSASController',
  paraVirtual: 'ParaVirtualSCSIController',
  ide: null,
};

/** hw_vif_model values → NIC devices (Nova's default is e1000). */
const NICS: Readonly<Record<string, string>> = {
  e1000: 'VirtualE1000',
  e1000e: 'VirtualE1000e',
  vmxnet: 'VirtualVmxnet',
  vmxnet3: 'VirtualVmxnet3',
  pcnet32: 'VirtualPCNet32',
};

/** The key of the first IDE controller every new VM gets. */
const IDE_CONTROLLER_KEY = 200;
const SCSI_CONTROLLER_KEY = -101;
const ROOT_DISK_KEY = -102;

export type AdapterType = keyof typeof CONTROLLERS;

/** The image's disk facts the VM needs, validated: a bad property is a clear fault, not a vCenter error. */
export interface GuestChoice {
  readonly guestId: string;
  readonly adapterType: string;
  readonly nicDevice: string;
}

export function guestChoice(properties: Readonly<Record<string, string>>): GuestChoice {
  const guestId = properties['vmware_ostype'] ?? 'otherGuest';
  if (!GUEST_IDS.has(guestId)) {
    throw new DriverError('invalid_image', `image property vmware_ostype = ${guestId} is not a vSphere guest ID (for example otherGuest64, ubuntu64Guest, windows9_64Guest)`);
  }
  const adapterType = properties['vmware_adaptertype'] ?? 'lsiLogic';
  if (!(adapterType in CONTROLLERS)) {
    throw new DriverError('invalid_image', `image property vmware_adaptertype = ${adapterType} is not one of ${Object.keys(CONTROLLERS).join(', ')}`);
  }
  const vif = properties['hw_vif_model'] ?? 'e1000';
  const nicDevice = NICS[vif];
  if (nicDevice === undefined) throw new DriverError('invalid_image', `image property hw_vif_model = ${vif} is not one of ${Object.keys(NICS).join(', ')}`);
  return { guestId, adapterType, nicDevice };
}

/** How the root disk is made. */
export type RootDisk =
  | { readonly kind: 'linked'; readonly parent: string; readonly capacityKb: number }
  | { readonly kind: 'blank'; readonly capacityKb: number }
  | { readonly kind: 'none' };

export interface VmSpecInput {
  readonly instance: InstanceSpec;
  readonly guest: GuestChoice;
  readonly datastoreName: string;
  readonly network: NicNetwork | undefined;
  readonly vncPort: number | undefined;
  readonly rootDisk: RootDisk;
  /** An ISO to attach on the IDE controller's CD-ROM (ISO images). */
  readonly isoPath?: string;
  readonly imageId: string;
}

/** The annotation vCenter shows: the instance's name and project, and which image it came from. */
export function annotation(instance: InstanceSpec, imageId: string): string {
  return [`name:${instance.name}`, `userid:${instance.userId}`, `projectid:${instance.projectId}`, `imageid:${imageId}`, `flavor:${instance.flavor.name}`, 'created by Polyvisor'].join('\n');
}

/**
 * The whole CreateVM_Task spec: name = instance UUID (also its instanceUuid, so the VM
 * can be found by it), guest, CPUs/memory from the flavor, controller, root disk (a delta
 * on the cached base for a linked clone), NIC on the port group, VNC and nvp.vm-uuid.
 * Everything a warm boot needs happens in this one task.
 */
export function createVmSpec(input: VmSpecInput): VirtualMachineConfigSpec {
  const { instance, guest } = input;
  const devices: VirtualDeviceConfigSpec[] = [];
  const controllerType = CONTROLLERS[guest.adapterType] ?? null;
  const controllerKey = controllerType === null ? IDE_CONTROLLER_KEY : SCSI_CONTROLLER_KEY;
  if (controllerType !== null && input.rootDisk.kind !== 'none') {
    const device: VirtualDevice = { _type: controllerType, key: SCSI_CONTROLLER_KEY, busNumber: 0, sharedBus: 'noSharing' };
    devices.push({ operation: 'add', device });
  }
  if (input.rootDisk.kind !== 'none') {
    const backing =
      input.rootDisk.kind === 'linked'
        ? {
            _type: 'VirtualDiskFlatVer2BackingInfo', fileName: `[${input.datastoreName}]`, diskMode: 'persistent', thinProvisioned: true,
            parent: { _type: 'VirtualDiskFlatVer2BackingInfo', fileName: input.rootDisk.parent, diskMode: 'persistent' },
          }
        : { _type: 'VirtualDiskFlatVer2BackingInfo', fileName: `[${input.datastoreName}]`, diskMode: 'persistent', thinProvisioned: true };
    devices.push({
      operation: 'add',
      fileOperation: 'create',
      device: { _type: 'VirtualDisk', key: ROOT_DISK_KEY, controllerKey, unitNumber: 0, capacityInKB: input.rootDisk.capacityKb, backing },
    });
  }
  // Ephemeral and swap disks from the flavor: blank thin disks after the root disk
  // (on the second IDE controller when the image wants IDE).
  const extraDisks: [number, number][] = [];
  if (instance.flavor.ephemeral_gb > 0) extraDisks.push([-110, instance.flavor.ephemeral_gb * 1024 * 1024]);
  if (instance.flavor.swap > 0) extraDisks.push([-111, instance.flavor.swap * 1024]);
  const needsScsi = controllerType !== null && input.rootDisk.kind === 'none' && extraDisks.length > 0;
  if (needsScsi) devices.push({ operation: 'add', device: { _type: controllerType, key: SCSI_CONTROLLER_KEY, busNumber: 0, sharedBus: 'noSharing' } });
  extraDisks.forEach(([key, capacityInKB], i) => {
    devices.push({
      operation: 'add',
      fileOperation: 'create',
      device: {
        _type: 'VirtualDisk', key, capacityInKB,
        controllerKey: controllerType === null ? IDE_CONTROLLER_KEY + 1 : SCSI_CONTROLLER_KEY,
        unitNumber: controllerType === null ? i : i + 1,
        backing: { _type: 'VirtualDiskFlatVer2BackingInfo', fileName: `[${input.datastoreName}]`, diskMode: 'persistent', thinProvisioned: true },
      },
    });
  });
  if (input.isoPath !== undefined) {
    devices.push({
      operation: 'add',
      device: {
        _type: 'VirtualCdrom', key: -103, controllerKey: IDE_CONTROLLER_KEY, unitNumber: input.rootDisk.kind !== 'none' && controllerType === null ? 1 : 0,
        backing: { _type: 'VirtualCdromIsoBackingInfo', fileName: input.isoPath },
        connectable: { startConnected: true, allowGuestControl: true, connected: true },
      },
    });
  }
  if (input.network !== undefined) {
    const backing = input.network.dvs === undefined
      ? { _type: 'VirtualEthernetCardNetworkBackingInfo', deviceName: input.network.name, ...(input.network.ref === undefined ? {} : { network: input.network.ref }) }
      : { _type: 'VirtualEthernetCardDistributedVirtualPortBackingInfo', port: { _type: 'DistributedVirtualSwitchPortConnection', switchUuid: input.network.dvs.switchUuid, portgroupKey: input.network.dvs.portgroupKey } };
    devices.push({
      operation: 'add',
      device: {
        _type: guest.nicDevice, key: -104, addressType: 'generated', wakeOnLanEnabled: true, backing,
        connectable: { startConnected: true, allowGuestControl: true, connected: true },
      },
    });
  }
  const extraConfig = [
    { _type: 'OptionValue', key: 'nvp.vm-uuid', value: instance.uuid },
    ...(input.vncPort === undefined
      ? []
      : [
          { _type: 'OptionValue', key: 'RemoteDisplay.vnc.enabled', value: 'true' },
          { _type: 'OptionValue', key: 'RemoteDisplay.vnc.port', value: String(input.vncPort) },
        ]),
  ];
  return {
    name: instance.uuid,
    instanceUuid: instance.uuid,
    guestId: guest.guestId,
    annotation: annotation(instance, input.imageId),
    files: { vmPathName: `[${input.datastoreName}]` },
    numCPUs: instance.flavor.vcpus,
    memoryMB: instance.flavor.memory_mb,
    deviceChange: devices,
    extraConfig,
  };
}
