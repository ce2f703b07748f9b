import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FlavorSnapshot } from '../../../../src/compute/states.js';
import type { ImageSource, InstanceSpec } from '../../../../src/compute/drivers/driver.js';
import type { VmwareDriverOptions } from '../../../../src/compute/drivers/vmware/index.js';
import type { Vcsim } from '../../../vsphere/vcsim-harness.js';

/** Driver options pointing at a vcsim (its CA trusted), as the seeds' [vmware] block would. */
export function simOptions(sim: Vcsim, extra: Partial<VmwareDriverOptions> = {}): VmwareDriverOptions {
  return {
    hostIp: sim.url,
    hostPort: 443,
    username: sim.username,
    password: sim.password,
    ...(sim.caFile === undefined ? {} : { caFile: sim.caFile }),
    insecure: false,
    clusterNames: ['DC0_C0', 'DC0_C1'],
    datastoreRegex: null,
    apiRetryCount: 2,
    maximumObjects: 100,
    useLinkedClone: true,
    cacheFolder: 'vmware_base',
    portGroup: 'DC0_DVPG0',
    vlanInterface: null,
    vncPort: 5900,
    vncPortTotal: 206,
    removeUnusedBaseImages: true,
    removeUnusedMinimumAgeSeconds: 86400,
    myIp: '127.0.0.1',
    ...extra,
  };
}

export const FLAVOR: FlavorSnapshot = { id: '2', name: 'm1.small', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

export function instanceSpec(node: string, extra: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    uuid: randomUUID(), node, driverInfo: {}, name: 'demo', hostname: 'demo', projectId: 'p-1234', userId: 'u-1',
    flavor: FLAVOR, metadata: {}, keyData: null, userData: null, networks: 'auto', ...extra,
  };
}

/** An image whose bits are `data`, counting how many times they were read. */
export interface TestImage extends ImageSource {
  readonly opens: () => number;
}

export function testImage(data: Buffer, extra: { id?: string; diskFormat?: string; properties?: Record<string, string> } = {}): TestImage {
  let opens = 0;
  return {
    id: extra.id ?? randomUUID(),
    name: 'cirros',
    diskFormat: extra.diskFormat ?? 'vmdk',
    containerFormat: 'bare',
    size: data.length,
    virtualSize: null,
    properties: { vmware_disktype: 'preallocated', vmware_adaptertype: 'lsiLogic', vmware_ostype: 'otherGuest64', ...extra.properties },
    opens: () => opens,
    open(_format, signal) {
      signal.throwIfAborted();
      opens++;
      return Promise.resolve(Readable.from([data]));
    },
  };
}

/** The local directory behind vcsim's only datastore (LocalDS_0). */
export function datastorePath(sim: Vcsim): string {
  const entries = readdirSync(sim.datastoreDir);
  if (entries.length !== 1 || entries[0] === undefined) throw new Error(`expected one datastore directory in ${sim.datastoreDir}: ${entries.join(', ')}`);
  return join(sim.datastoreDir, entries[0]);
}
