import type { Config } from '../../config/options.js';
import type { Db } from '../../db/database.js';
import type { ImageRow } from '../../db/schema.js';
import type { Logger } from '../../log.js';
import type { ImageStore, StreamObserver } from '../store/image-store.js';

/**
 * A streaming inspector for uploads: sees every chunk once (as a StreamObserver, and may
 * refuse the data by throwing), then reports facts to record on the image. The disk-format
 * issue plugs its VMDK/qcow2/raw/ISO inspectors in here.
 */
export interface UploadInspector extends StreamObserver {
  /** Facts learnt from the data, recorded with the upload; called only when the upload succeeded. */
  facts?(): UploadFacts;
}

export interface UploadFacts {
  readonly virtualSize?: number;
  /** Properties to add to (or correct on) the image, such as vmware_disktype. */
  readonly properties?: Readonly<Record<string, string>>;
}

export interface ImageApiDeps {
  readonly db: Db;
  readonly config: Config;
  readonly logger: Logger;
  readonly store: ImageStore;
  /** Base URL of the API server (http://host:port), for the absolute links of version documents. */
  readonly publicUrl: () => string;
  /** Inspectors for one upload of this image (fresh instances each time); none by default. */
  readonly inspectorsFor?: (image: ImageRow) => UploadInspector[];
  /** Requeue uploads abandoned by a dead API process, at start and every minute (default true). */
  readonly sweepAbandonedUploads?: boolean;
  /** Called (not awaited) once an image's data is committed: background work such as format variants. */
  readonly afterUpload?: (image: ImageRow) => void;
}
