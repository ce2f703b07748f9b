import type { Config } from '../../config/options.js';
import type { ImageRow } from '../../db/schema.js';
import type { UploadInspector } from '../api/deps.js';
import { DiskFormatUploadInspector } from './upload-inspector.js';

export type { DiskInfo, DetectedFormat, VmdkFacts, Qcow2Facts } from './disk-info.js';
export { ImageContentError } from './disk-info.js';
export { DiskInspector, inspectBuffer, sniffFormat, SNIFF_PREFIX_BYTES } from './disk-inspector.js';
export { checkAdapterAgainstDetected, checkDiskTypeAgainstDetected, checkPropertyValues, reconcileWithContent, type ImageClaims } from './content-rules.js';
export { DETECTED_ADAPTER_PROPERTY, DETECTED_FORMAT_PROPERTY } from './upload-inspector.js';

/**
 * The disk-format intelligence for uploads: pass the result as `inspectorsFor` to
 * imageRoutes. Each upload gets a fresh inspector that detects the real format while the
 * data streams (VMDK sparse/streamOptimized/flat extent/descriptor, qcow2, raw, ISO 9660),
 * enforces [image] max_virtual_size and the safety rules, refuses contradicting properties
 * and fills in vmware_disktype / vmware_adaptertype from the file.
 */
export function diskInspectorsFor(config: Config): (image: ImageRow) => UploadInspector[] {
  const limits = { maxVirtualSize: config.image.max_virtual_size };
  return (image) => [new DiskFormatUploadInspector(image, limits)];
}
