import type { UploadFacts, UploadInspector } from '../api/deps.js';
import type { ImageRow } from '../../db/schema.js';
import { imageProperties } from '../../db/repos/images.js';
import { checkPropertyValues, reconcileWithContent } from './content-rules.js';
import { DiskInspector } from './disk-inspector.js';
import { adapterFromDdb } from './vmware-properties.js';
import type { ParseLimits } from './format-parser.js';

/** Property recording what the content really is, shown on the image (Glance has no field for it). */
export const DETECTED_FORMAT_PROPERTY = 'polyvisor_detected_format';
/** The VMDK's own adapter (ddb.adapterType, in vmware_adaptertype's terms): later edits are checked against it. */
export const DETECTED_ADAPTER_PROPERTY = 'polyvisor_detected_adapter';

/**
 * One upload's disk-format inspector: detects and parses the content while it streams
 * (through DiskInspector), then at the end checks the image's claims against it. Throwing
 * from `end` makes the store discard the upload and the image stay queued. Content is only
 * inspected for container_format "bare" (an OVA or AMI wraps its disk); property values
 * are checked for every image.
 */
export class DiskFormatUploadInspector implements UploadInspector {
  readonly #image: ImageRow;
  readonly #disk: DiskInspector | undefined;
  #facts: UploadFacts = {};

  constructor(image: ImageRow, limits: ParseLimits) {
    this.#image = image;
    this.#disk = image.container_format === 'bare' || image.container_format === null ? new DiskInspector(limits) : undefined;
  }

  update(chunk: Buffer): void {
    this.#disk?.update(chunk);
  }

  end(): void {
    const properties = imageProperties(this.#image);
    if (!this.#disk) {
      checkPropertyValues(properties);
      return;
    }
    this.#disk.end();
    const info = this.#disk.info;
    if (!info) return;
    const fill = reconcileWithContent({ diskFormat: this.#image.disk_format, containerFormat: this.#image.container_format, properties }, info);
    const recorded: Record<string, string> = { ...fill, [DETECTED_FORMAT_PROPERTY]: info.vmdk ? `vmdk/${info.vmdk.createType}` : info.format };
    const adapter = adapterFromDdb(info.vmdk?.adapterType);
    if (adapter !== undefined) recorded[DETECTED_ADAPTER_PROPERTY] = adapter;
    this.#facts = {
      ...(info.virtualSize === undefined ? {} : { virtualSize: info.virtualSize }),
      properties: recorded,
    };
  }

  facts(): UploadFacts {
    return this.#facts;
  }
}
