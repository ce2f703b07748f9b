import type { CallOptions } from '../soap/round-tripper.js';
import { isMoref } from '../types/moref.js';
import { VsphereTransportError } from '../soap/errors.js';
import { Folder } from './folder.js';
import { ManagedObject } from './managed-object.js';

export interface DatacenterFolders {
  readonly vmFolder: Folder;
  readonly hostFolder: Folder;
  readonly datastoreFolder: Folder;
  readonly networkFolder: Folder;
}

export class Datacenter extends ManagedObject {
  /** The four folders of a datacenter, in one round trip. */
  async folders(options: CallOptions = {}): Promise<DatacenterFolders> {
    const p = await this.properties(['vmFolder', 'hostFolder', 'datastoreFolder', 'networkFolder'], options);
    const folder = (v: unknown, what: string): Folder => {
      if (!isMoref(v)) throw new VsphereTransportError(`datacenter ${this.ref.value} has no ${what}`, { retryable: false, sent: true });
      return new Folder(this.ctx, v);
    };
    return {
      vmFolder: folder(p.vmFolder, 'vmFolder'),
      hostFolder: folder(p.hostFolder, 'hostFolder'),
      datastoreFolder: folder(p.datastoreFolder, 'datastoreFolder'),
      networkFolder: folder(p.networkFolder, 'networkFolder'),
    };
  }
}
