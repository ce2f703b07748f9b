import { ConflictError, ForbiddenError, InvalidInputError } from '../../errors.js';
import { assertWritableName, isMutableCore, parseCore, parseProperty, parseTag, type CoreValues } from './attributes.js';
import type { ImageDraft } from './image-draft.js';

/** The media types Glance accepts for PATCH; v2.0 is draft-04 style with stricter "add". */
export const PATCH_V21 = 'application/openstack-images-v2.1-json-patch';
export const PATCH_V20 = 'application/openstack-images-v2.0-json-patch';

export interface PatchOp {
  readonly op: 'add' | 'replace' | 'remove';
  /** Decoded JSON-pointer segments: ['name'] or ['tags', '-']. */
  readonly path: readonly string[];
  readonly value: unknown;
}

/** Parses a JSON-patch document into operations, or a 400 saying what is wrong with it. */
export function parsePatch(body: unknown, version: '2.0' | '2.1'): PatchOp[] {
  if (!Array.isArray(body)) throw new InvalidInputError('Request body must be a JSON array of operation objects.');
  return (body as unknown[]).map((raw) => parseOp(raw, version));
}

function parseOp(raw: unknown, version: '2.0' | '2.1'): PatchOp {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidInputError('Operations must be JSON objects.');
  const o = raw as Record<string, unknown>;
  let op: unknown;
  let pathText: unknown;
  if (version === '2.1') {
    op = o['op'];
    pathText = o['path'];
    const allowed = new Set(['op', 'path', 'value']);
    const extra = Object.keys(o).find((k) => !allowed.has(k));
    if (extra !== undefined) throw new InvalidInputError(`Operation objects must not contain '${extra}'.`);
  } else {
    // v2.0: {"replace": "/name", "value": ...}
    op = ['add', 'replace', 'remove'].find((k) => k in o);
    pathText = op === undefined ? undefined : o[op as string];
  }
  if (op !== 'add' && op !== 'replace' && op !== 'remove') {
    throw new InvalidInputError(`Invalid operation: ${JSON.stringify(op ?? null)}; expected one of add, replace, remove.`);
  }
  if (typeof pathText !== 'string') throw new InvalidInputError("Unable to find 'path' element: operation objects must contain a string 'path'.");
  const path = parsePointer(pathText);
  if (op !== 'remove' && !('value' in o)) throw new InvalidInputError(`Operation objects must contain exactly one member named "value" (op ${op} ${pathText}).`);
  return { op, path, value: o['value'] };
}

function parsePointer(text: string): string[] {
  if (!text.startsWith('/')) throw new InvalidInputError(`Pointer \`${text}\` does not start with "/".`);
  if (/~(?![01])/.test(text)) throw new InvalidInputError(`Invalid pointer \`${text}\`: '~' must be followed by 0 or 1.`);
  const parts = text
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts.some((p) => p === '')) throw new InvalidInputError(`Pointer \`${text}\` contains an empty segment.`);
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'tags')) throw new InvalidInputError(`Nested paths are not allowed: \`${text}\`.`);
  return parts;
}

/**
 * Applies the operations, in order, to a copy of the draft, with Glance's semantics:
 * read-only attributes 403; removing a core attribute 403; replacing or removing a property
 * that does not exist 409; v2.0 "add" of something present 409; formats change only while
 * the image is queued (403).
 */
export function applyPatch(before: ImageDraft, ops: readonly PatchOp[], version: '2.0' | '2.1', status: string): ImageDraft {
  const draft: ImageDraft = { core: { ...before.core, tags: [...before.core.tags] }, properties: { ...before.properties } };
  for (const op of ops) {
    const [root, index] = op.path as [string, string | undefined];
    assertWritableName(root, false);
    if (index !== undefined) {
      applyTagElement(draft, op, index);
      continue;
    }
    if (isMutableCore(root)) {
      if (op.op === 'remove') throw new ForbiddenError(`Property ${root} may not be removed.`);
      if (op.op === 'add' && version === '2.0') throw new ConflictError(`Property ${root} already present.`);
      if ((root === 'disk_format' || root === 'container_format') && status !== 'queued') {
        const value = parseCore(root, op.value);
        if (value !== draft.core[root]) throw new ForbiddenError(`Attribute ${root} can be only replaced for a queued image.`);
      }
      setCore(draft.core, root, op.value);
      continue;
    }
    const exists = Object.hasOwn(draft.properties, root);
    switch (op.op) {
      case 'remove':
        if (!exists) throw new ConflictError(`Property ${root} does not exist.`);
        delete draft.properties[root];
        break;
      case 'replace':
        if (!exists) throw new ConflictError(`Property ${root} does not exist.`);
        draft.properties[root] = parseProperty(root, op.value);
        break;
      case 'add':
        if (exists && version === '2.0') throw new ConflictError(`Property ${root} already present.`);
        draft.properties[root] = parseProperty(root, op.value);
        break;
    }
  }
  return draft;
}

function setCore<K extends keyof CoreValues>(core: CoreValues, key: K, value: unknown): void {
  core[key] = parseCore(key, value);
}

/** `/tags/-` (append) and `/tags/<n>`, as JSON patch allows on arrays. */
function applyTagElement(draft: ImageDraft, op: PatchOp, index: string): void {
  const tags = draft.core.tags;
  const at = index === '-' ? tags.length : /^(0|[1-9]\d*)$/.test(index) ? Number(index) : NaN;
  if (Number.isNaN(at)) throw new InvalidInputError(`Invalid array index \`${index}\` in path /tags/${index}.`);
  switch (op.op) {
    case 'add': {
      if (at > tags.length) throw new ConflictError(`Array index ${index} is out of range for /tags.`);
      const tag = parseTag(op.value);
      if (!tags.includes(tag)) tags.splice(at, 0, tag);
      break;
    }
    case 'replace':
    case 'remove':
      if (at >= tags.length) throw new ConflictError(`Array index ${index} is out of range for /tags.`);
      if (op.op === 'remove') tags.splice(at, 1);
      else tags[at] = parseTag(op.value);
      break;
  }
  if (new Set(tags).size !== tags.length) throw new InvalidInputError("Provided object does not match schema 'image': 'tags' has non-unique elements.");
}
