import { ImageContentError, sizeText, type DiskInfo } from './disk-info.js';
import type { FormatParser } from './format-parser.js';
import type { RangeReader } from './range-reader.js';
import { descriptorParent, MAX_DESCRIPTOR, parseVmdkDescriptor } from './vmdk-descriptor.js';
import { adapterFromDdb, diskTypeFromCreateType } from './vmware-properties.js';

/**
 * A VMDK descriptor uploaded on its own (monolithicFlat, vmfs, vmfsThin, vmfsSparse, ...):
 * it holds no data, only names of extent files, which are outside the upload. It is parsed
 * so that the refusal can say what to upload instead, as the seeds advise: the `-flat.vmdk`
 * extent with the disk type and adapter type this descriptor declares.
 */
export class VmdkDescriptorFileParser implements FormatParser {
  readonly #text: () => Buffer;

  /** `text`: the whole upload, which the sniffer holds while it is at most MAX_DESCRIPTOR bytes. */
  constructor(text: () => Buffer) {
    this.#text = text;
  }

  start(reader: RangeReader): void {
    reader.want(MAX_DESCRIPTOR, 1, () => {
      throw new ImageContentError(`This upload starts like a VMDK descriptor file but is over ${MAX_DESCRIPTOR} bytes: descriptors are small text files, so it is corrupt.`);
    });
  }

  finish(): DiskInfo {
    const d = parseVmdkDescriptor(this.#text());
    const diskType = diskTypeFromCreateType(d.createType);
    const adapter = adapterFromDdb(d.ddb.get('adapterType'));
    const files = d.extents.map((e) => `${e.type} extent "${e.file ?? ''}"`).join(', ');
    const parent = descriptorParent(d);
    const flatType = diskType === undefined || diskType === 'sparse' || diskType === 'streamOptimized' ? undefined : diskType;
    const advice =
      parent !== undefined || d.createType === 'vmfsSparse'
        ? `It is a delta disk whose parent (${parent ?? 'another disk'}) is elsewhere: flatten it first (qemu-img convert -O vmdk) and upload the result.`
        : `Upload the extent file itself${flatType ? ` with --property vmware_disktype=${flatType}` : ''}${adapter ? ` --property vmware_adaptertype=${adapter}` : ''}.`;
    throw new ImageContentError(
      `This is a VMDK descriptor file (createType ${d.createType}, ${sizeText(d.capacity)}${adapter ? `, adapter ${adapter}` : ''}) without data: its ${files} ${d.extents.length === 1 ? 'is' : 'are'} outside this upload. ${advice}`,
      { createType: d.createType },
    );
  }
}
