import { invalidField, type JsonObject } from './input.js';

/**
 * Keystone's "extra" attributes: a user or project body may carry fields Keystone does
 * not model (tempest's dynamic credentials send `project_id` on a new user); Keystone
 * stores them as given and returns them with the entity. Extras can never shadow a
 * modelled attribute (the views put modelled ones last) and are bounded in size so a
 * body cannot grow a row without limit.
 */
export type Extras = Readonly<Record<string, unknown>>;

/** Serialized size limit of all extras of one entity (Keystone's blob is a TEXT column). */
export const MAX_EXTRA_BYTES = 65535;
/** Attributes that are never stored as extras, whatever the body says. */
const NEVER = new Set(['links', 'password', 'password_hash', 'extra']);

/**
 * The fields of `body` outside `modelled`, validated; throws 400 naming a bad one. `id` is
 * never an extra: Keystone assigns it on create and, on update, accepts only the entity's
 * own (tempest's update_user sends it), which `checkSameId` enforces.
 */
export function extrasOf(body: JsonObject, modelled: readonly string[], path: string): Extras {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (modelled.includes(key) || key === 'id') continue;
    if (NEVER.has(key)) throw invalidField(`${path}/${key}`, 'this attribute cannot be set.');
    if (key.length === 0 || key.length > 255) throw invalidField(path, 'attribute names must be 1 to 255 characters.');
    out[key] = value;
  }
  return out;
}

/** On update: an `id` in the body must be the entity's own (Keystone: "Cannot change ID"). */
export function checkSameId(body: JsonObject, id: string, path: string): void {
  if (body['id'] !== undefined && body['id'] !== id) throw invalidField(`${path}/id`, `cannot change the ${path} ID.`);
}

/** Keystone's update semantics: given extras replace stored ones key by key (null stays null). */
export function mergeExtras(stored: Extras, patch: Extras): Extras {
  return { ...stored, ...patch };
}

/** The JSON text to store; throws 400 when the extras are over the limit. */
export function serializeExtras(extras: Extras, path: string): string {
  const text = JSON.stringify(extras);
  if (Buffer.byteLength(text) > MAX_EXTRA_BYTES) throw invalidField(path, `extra attributes must total at most ${MAX_EXTRA_BYTES} bytes of JSON.`);
  return text;
}

/** Reads a stored extra column; a damaged value reads as no extras rather than failing every listing. */
export function parseExtras(text: string): Extras {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Extras) : {};
  } catch {
    return {};
  }
}
