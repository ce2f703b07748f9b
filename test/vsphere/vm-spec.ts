import type { VirtualMachineConfigSpec } from '../../src/vsphere/index.js';

/** A small VM spec vcsim accepts: a SCSI controller and a 1 GiB thin disk on `datastore`. */
export function smallVmSpec(name: string, datastore: string): VirtualMachineConfigSpec {
  return {
    name,
    guestId: 'otherGuest64',
    numCPUs: 1,
    memoryMB: 128,
    files: { vmPathName: `[${datastore}]` },
    deviceChange: [
      { operation: 'add', device: { _type: 'VirtualLsiLogicController', key: 1000, busNumber: 0, sharedBus: 'noSharing' } },
      {
        operation: 'add',
        fileOperation: 'create',
        device: {
          _type: 'VirtualDisk', key: -1, controllerKey: 1000, unitNumber: 0, capacityInKB: 1024 * 1024,
          backing: { _type: 'VirtualDiskFlatVer2BackingInfo', fileName: '', diskMode: 'persistent', thinProvisioned: true },
        },
      },
    ],
  };
}
