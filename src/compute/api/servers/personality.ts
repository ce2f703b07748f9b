import { InvalidInputError, QuotaExceededError } from '../../../errors.js';
import type { QuotaLimits } from '../../../db/repos/quotas.js';

/** One personality file as stored with the instance: contents base64, as submitted. */
export interface PersonalityFile {
  readonly path: string;
  readonly contents: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Nova's personality (file injection, microversions before 2.57) on create and rebuild:
 * each item's `contents` must be base64 (Nova's schema: 400 "... is not a 'base64'"), then
 * the quotas apply as Nova's compute API checks them — the number of files
 * (injected_files: 403 "Personality file limit exceeded"), each path's length
 * (injected_file_path_bytes) and each decoded content's size (injected_file_content_bytes);
 * -1 is unlimited. Returns the files to store, or null when none were given.
 */
export function checkPersonality(items: readonly unknown[] | undefined, quotas: Pick<QuotaLimits, 'injected_files' | 'injected_file_path_bytes' | 'injected_file_content_bytes'>): PersonalityFile[] | null {
  if (items === undefined) return null;
  const files: { path: string; contents: string; size: number }[] = [];
  for (const item of items) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      throw new InvalidInputError(`Invalid input for field/attribute personality. Value: ${JSON.stringify(item)}. ${JSON.stringify(item)} is not of type 'object'`);
    }
    const o = item as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== 'path' && k !== 'contents');
    if (extra.length > 0) throw new InvalidInputError(`Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
    for (const k of ['path', 'contents'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'string') {
        throw new InvalidInputError(`Invalid input for field/attribute ${k}. Value: ${JSON.stringify(o[k])}. ${JSON.stringify(o[k])} is not of type 'string'`);
      }
    }
    const path = (o['path'] as string | undefined) ?? '';
    const contents = (o['contents'] as string | undefined) ?? '';
    const compact = contents.replace(/\s+/g, '');
    if (!BASE64.test(compact) || compact.length % 4 !== 0) {
      throw new InvalidInputError(`Invalid input for field/attribute contents. Value: ${contents}. '${contents}' is not a 'base64'`);
    }
    files.push({ path, contents, size: Buffer.from(compact, 'base64').length });
  }
  if (quotas.injected_files >= 0 && files.length > quotas.injected_files) throw new QuotaExceededError('Personality file limit exceeded');
  for (const f of files) {
    const max = quotas.injected_file_path_bytes;
    if (max >= 0 && Buffer.byteLength(f.path, 'utf8') > max) throw new QuotaExceededError(`Personality file path exceeds maximum ${max}`);
  }
  for (const f of files) {
    const max = quotas.injected_file_content_bytes;
    if (max >= 0 && f.size > max) throw new QuotaExceededError(`Personality file content exceeds maximum ${max}`);
  }
  return files.map(({ path, contents }) => ({ path, contents }));
}

/** The stored column back as files (an unreadable value is no files). */
export function parsePersonality(text: string | null | undefined): PersonalityFile[] {
  if (text == null || text === '') return [];
  try {
    const v: unknown = JSON.parse(text);
    if (!Array.isArray(v)) return [];
    return v.filter((f): f is PersonalityFile => !!f && typeof f === 'object' && typeof (f as PersonalityFile).path === 'string' && typeof (f as PersonalityFile).contents === 'string');
  } catch {
    return [];
  }
}
