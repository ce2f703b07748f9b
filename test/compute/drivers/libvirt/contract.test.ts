import { LibvirtDriver } from '../../../../src/compute/drivers/libvirt/index.js';
import { startTestLibvirtd } from '../../../support/libvirtd.js';
import { driverContract, rawImage } from '../contract.js';
import { testOptions } from './support.js';

// A blank raw disk: the domain runs (SeaBIOS finds nothing to boot), which is all the contract needs;
// lifecycle.test.ts boots a real guest. Soft reboots of a guest that ignores ACPI turn hard after 1 s.
driverContract('libvirt (private libvirtd, QEMU)', {
  async start() {
    const lv = await startTestLibvirtd();
    return { driver: new LibvirtDriver(testOptions(lv, { waitSoftRebootSeconds: 1 })), stop: () => lv.stop() };
  },
  image: () => rawImage(1024 * 1024),
});
