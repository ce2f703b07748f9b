import { VmwareDriver } from '../../../../src/compute/drivers/vmware/index.js';
import { startTestVcsim } from '../../../vsphere/vcsim-harness.js';
import { driverContract, rawImage } from '../contract.js';
import { simOptions } from './support.js';

driverContract('VMware vCenter (vcsim)', {
  async start() {
    const sim = await startTestVcsim({ clusters: 1, hostsPerCluster: 2 });
    return { driver: new VmwareDriver(simOptions(sim, { clusterNames: ['DC0_C0'] })), stop: () => sim.stop() };
  },
  image: () => rawImage(1024 * 1024, { vmware_ostype: 'otherGuest64' }),
});
