import type { DataObject } from './data-object.js';
import type { ManagedObjectReference } from './moref.js';

/**
 * Hand-written shapes of the VM specs the driver builds. They name the fields we use;
 * the encoder checks every key against the vim25 schema, so a misspelt field fails
 * loudly instead of being dropped.
 */
export interface VirtualMachineFileInfo extends DataObject {
  readonly vmPathName?: string;
  readonly snapshotDirectory?: string;
  readonly suspendDirectory?: string;
  readonly logDirectory?: string;
}

export interface OptionValue extends DataObject {
  readonly key: string;
  readonly value: unknown;
}

export interface Description extends DataObject {
  readonly label: string;
  readonly summary: string;
}

export interface VirtualDeviceBackingInfo extends DataObject {
  readonly _type?: string;
  readonly fileName?: string;
  readonly datastore?: ManagedObjectReference;
  readonly diskMode?: string;
  readonly thinProvisioned?: boolean;
  readonly deviceName?: string;
  readonly network?: ManagedObjectReference;
  readonly port?: DataObject;
  /** A linked clone's delta disk names its base disk here. */
  readonly parent?: VirtualDeviceBackingInfo;
  readonly deltaDiskFormat?: string;
}

export interface VirtualDeviceConnectInfo extends DataObject {
  readonly startConnected: boolean;
  readonly allowGuestControl: boolean;
  readonly connected: boolean;
}

export interface VirtualDevice extends DataObject {
  readonly _type?: string;
  readonly key: number;
  readonly deviceInfo?: Description;
  readonly backing?: VirtualDeviceBackingInfo;
  readonly connectable?: VirtualDeviceConnectInfo;
  readonly controllerKey?: number;
  readonly unitNumber?: number;
  readonly capacityInKB?: number;
  readonly capacityInBytes?: number;
  readonly busNumber?: number;
  readonly sharedBus?: string;
  readonly addressType?: string;
  readonly macAddress?: string;
  readonly wakeOnLanEnabled?: boolean;
}

export interface VirtualDeviceConfigSpec extends DataObject {
  readonly operation?: 'add' | 'remove' | 'edit';
  readonly fileOperation?: 'create' | 'destroy' | 'replace';
  readonly device: VirtualDevice;
}

export interface VirtualMachineConfigSpec extends DataObject {
  readonly name?: string;
  readonly version?: string;
  readonly uuid?: string;
  readonly instanceUuid?: string;
  readonly guestId?: string;
  readonly annotation?: string;
  readonly files?: VirtualMachineFileInfo;
  readonly numCPUs?: number;
  readonly numCoresPerSocket?: number;
  readonly memoryMB?: number;
  readonly deviceChange?: readonly VirtualDeviceConfigSpec[];
  readonly extraConfig?: readonly OptionValue[];
  readonly firmware?: string;
}

export interface VirtualMachineRelocateSpec extends DataObject {
  readonly service?: DataObject;
  readonly folder?: ManagedObjectReference;
  readonly datastore?: ManagedObjectReference;
  readonly diskMoveType?: string;
  readonly pool?: ManagedObjectReference;
  readonly host?: ManagedObjectReference;
  readonly deviceChange?: readonly VirtualDeviceConfigSpec[];
}

export interface VirtualMachineCloneSpec extends DataObject {
  readonly location: VirtualMachineRelocateSpec;
  readonly template: boolean;
  readonly config?: VirtualMachineConfigSpec;
  readonly powerOn: boolean;
  readonly snapshot?: ManagedObjectReference;
}

export type VirtualMachinePowerState = 'poweredOff' | 'poweredOn' | 'suspended';
