import type { DataObject, Decoded } from './data-object.js';
import type { ManagedObjectReference } from './moref.js';

export interface FileQueryFlags extends DataObject {
  readonly fileType: boolean;
  readonly fileSize: boolean;
  readonly modification: boolean;
  readonly fileOwner?: boolean;
}

export interface HostDatastoreBrowserSearchSpec extends DataObject {
  readonly query?: readonly DataObject[];
  readonly details?: FileQueryFlags;
  readonly searchCaseInsensitive?: boolean;
  readonly matchPattern?: readonly string[];
  readonly sortFoldersFirst?: boolean;
}

export interface FileInfo extends Decoded {
  readonly path: string;
  readonly friendlyName?: string;
  readonly fileSize?: number;
  readonly modification?: Date;
}

export interface HostDatastoreBrowserSearchResults extends Decoded {
  readonly datastore?: ManagedObjectReference;
  readonly folderPath?: string;
  readonly file?: readonly FileInfo[];
}

/** CopyVirtualDisk's destSpec: the disk type and adapter of the copy (VirtualDiskSpec). */
export interface VirtualDiskSpec extends DataObject {
  readonly diskType: string;
  readonly adapterType: string;
}

export interface FileBackedVirtualDiskSpec extends DataObject {
  readonly diskType: string;
  readonly adapterType: string;
  readonly capacityKb: number;
}
