import type { ImageRow } from '../../db/schema.js';
import { imageProperties } from '../../db/repos/images.js';
import { ForbiddenError, TooLargeError } from '../../errors.js';
import type { AuthContext } from '../../api/context.js';
import { checkAdapterAgainstDetected, checkDiskTypeAgainstDetected, checkPropertyValues, DETECTED_ADAPTER_PROPERTY, DETECTED_FORMAT_PROPERTY } from '../formats/index.js';
import { MAX_PROPERTIES, MAX_TAGS, type CoreValues } from './attributes.js';

/**
 * The user-writable part of an image, as create builds it and PATCH edits it. Rules that
 * involve several attributes or the caller (who may publicize, who may give an image away)
 * are checked here, once, for both.
 */
export interface ImageDraft {
  core: CoreValues;
  properties: Record<string, string>;
}

export function draftFromRow(row: ImageRow, tags: readonly string[]): ImageDraft {
  return {
    core: {
      name: row.name,
      visibility: row.visibility as CoreValues['visibility'],
      protected: row.protected === 1,
      os_hidden: row.os_hidden === 1,
      container_format: row.container_format,
      disk_format: row.disk_format,
      min_disk: row.min_disk,
      min_ram: row.min_ram,
      tags: [...tags],
      owner: row.owner,
    },
    properties: imageProperties(row),
  };
}

/** Checks a draft against policy and quotas; `before` is the stored image (undefined on create). */
export function checkDraft(ctx: AuthContext, draft: ImageDraft, before: ImageDraft | undefined): void {
  const { core } = draft;
  if (core.visibility === 'public' && before?.core.visibility !== 'public' && !ctx.isAdmin) {
    throw new ForbiddenError("Policy doesn't allow publicize_image to be performed: only administrators may make an image public.");
  }
  const ownerChanged = before === undefined ? core.owner !== ctx.projectId : core.owner !== before.core.owner;
  if (ownerChanged && !ctx.isAdmin) {
    throw new ForbiddenError(`You are not permitted to ${before ? 'change the owner of this image' : `create images owned by '${core.owner ?? ''}'`}.`);
  }
  if (Object.keys(draft.properties).length > MAX_PROPERTIES) {
    throw new TooLargeError(`Maximum number of properties exceeded: at most ${MAX_PROPERTIES} custom properties per image.`);
  }
  if (core.tags.length > MAX_TAGS) throw new TooLargeError(`Maximum number of tags exceeded: at most ${MAX_TAGS} tags per image.`);
  // VMware and hypervisor properties get valid values at once, not a failed boot later; only
  // what this request sets is checked, so an old image with a legacy value stays editable.
  const changed: Record<string, string> = {};
  for (const [k, v] of Object.entries(draft.properties)) if (before?.properties[k] !== v) changed[k] = v;
  checkPropertyValues(changed);
  if (before !== undefined) {
    checkDiskTypeAgainstDetected(draft.properties[DETECTED_FORMAT_PROPERTY], core.disk_format, changed['vmware_disktype']);
    checkAdapterAgainstDetected(draft.properties[DETECTED_ADAPTER_PROPERTY], changed['vmware_adaptertype']);
  }
}
