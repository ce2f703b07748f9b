import { ForbiddenError, InvalidInputError } from '../../errors.js';

/** Glance's vocabularies (image schema enums). */
export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'] as const;
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'] as const;
export const VISIBILITIES = ['public', 'private', 'shared', 'community'] as const;
export const MEMBER_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** Core attributes a user may set (create) and change (PATCH). */
export const MUTABLE_CORE = ['name', 'visibility', 'protected', 'os_hidden', 'container_format', 'disk_format', 'min_disk', 'min_ram', 'tags', 'owner'] as const;
export type MutableCore = (typeof MUTABLE_CORE)[number];

/** Computed by the service: setting them is 403 "Attribute 'x' is read-only." as in Glance. */
export const READ_ONLY = [
  'id',
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'size',
  'virtual_size',
  'direct_url',
  'self',
  'file',
  'schema',
  'stores',
] as const;
/** Reserved by Glance: 403 "Attribute 'x' is reserved." */
export const RESERVED = ['location', 'locations', 'deleted', 'deleted_at'] as const;
/** Glance reserves os_glance*; Polyvisor's own inspection results (polyvisor_*) are set only by the service. */
const RESERVED_NAMESPACES = ['os_glance', 'polyvisor_'] as const;

export const MAX_STRING = 255;
/** Glance image_property_quota and image_tag_quota defaults. */
export const MAX_PROPERTIES = 128;
export const MAX_TAGS = 128;

const MUTABLE_SET: ReadonlySet<string> = new Set(MUTABLE_CORE);
const READ_ONLY_SET: ReadonlySet<string> = new Set(READ_ONLY);
const RESERVED_SET: ReadonlySet<string> = new Set(RESERVED);

export function isMutableCore(name: string): name is MutableCore {
  return MUTABLE_SET.has(name);
}

/** Refuses attribute names a user may never write, with Glance's 403 messages. */
export function assertWritableName(name: string, creating: boolean): void {
  if (creating && name === 'id') return;
  if (READ_ONLY_SET.has(name)) throw new ForbiddenError(`Attribute '${name}' is read-only.`);
  if (RESERVED_SET.has(name) || RESERVED_NAMESPACES.some((ns) => name.startsWith(ns))) throw new ForbiddenError(`Attribute '${name}' is reserved.`);
}

/** The typed value of one mutable core attribute, or a 400 naming the attribute and what it must be. */
export type CoreValues = {
  name: string | null;
  visibility: Visibility;
  protected: boolean;
  os_hidden: boolean;
  container_format: string | null;
  disk_format: string | null;
  min_disk: number;
  min_ram: number;
  tags: string[];
  owner: string | null;
};

export function parseCore<K extends MutableCore>(name: K, value: unknown): CoreValues[K] {
  return PARSERS[name](value);
}

const PARSERS: { [K in MutableCore]: (v: unknown) => CoreValues[K] } = {
  name: (v) => nullableString('name', v),
  owner: (v) => nullableString('owner', v),
  visibility: (v) => oneOf('visibility', v, VISIBILITIES),
  protected: (v) => bool('protected', v),
  os_hidden: (v) => bool('os_hidden', v),
  container_format: (v) => (v === null ? null : oneOf('container_format', v, CONTAINER_FORMATS)),
  disk_format: (v) => (v === null ? null : oneOf('disk_format', v, DISK_FORMATS)),
  min_disk: (v) => nonNegativeInt('min_disk', v),
  min_ram: (v) => nonNegativeInt('min_ram', v),
  tags: (v) => tagList(v),
};

/** A custom property: name and value strings of at most 255 characters. */
export function parseProperty(name: string, value: unknown): string {
  if (name.length === 0 || name.length > MAX_STRING) throw new InvalidInputError(`Property name '${name.slice(0, 40)}' must be 1 to ${MAX_STRING} characters long.`);
  if (typeof value !== 'string') throw new InvalidInputError(`Provided object does not match schema 'image': ${JSON.stringify(value)} is not of type 'string' (property '${name}').`);
  if (value.length > MAX_STRING) throw new InvalidInputError(`Provided object does not match schema 'image': the value of property '${name}' is longer than ${MAX_STRING} characters.`);
  return value;
}

export function parseTag(v: unknown): string {
  if (typeof v !== 'string') throw new InvalidInputError(`Provided object does not match schema 'image': tag ${JSON.stringify(v)} is not of type 'string'.`);
  if (v.length > MAX_STRING) throw new InvalidInputError(`Invalid tag: tags may be at most ${MAX_STRING} characters long.`);
  return v;
}

function tagList(v: unknown): string[] {
  if (!Array.isArray(v)) throw new InvalidInputError(`Provided object does not match schema 'image': 'tags' must be an array of strings.`);
  const tags = (v as unknown[]).map(parseTag);
  if (new Set(tags).size !== tags.length) throw new InvalidInputError(`Provided object does not match schema 'image': 'tags' has non-unique elements.`);
  return tags;
}

function nullableString(name: string, v: unknown): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') throw new InvalidInputError(`Provided object does not match schema 'image': ${JSON.stringify(v)} is not of type 'null', 'string' (attribute '${name}').`);
  if (v.length > MAX_STRING) throw new InvalidInputError(`Provided object does not match schema 'image': '${name}' is longer than ${MAX_STRING} characters.`);
  return v;
}

function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new InvalidInputError(`Provided object does not match schema 'image': ${JSON.stringify(v)} is not of type 'boolean' (attribute '${name}').`);
  return v;
}

function nonNegativeInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidInputError(`Provided object does not match schema 'image': ${JSON.stringify(v)} is not a non-negative integer (attribute '${name}').`);
  }
  return v;
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new InvalidInputError(`Invalid value ${JSON.stringify(v)} for attribute '${name}': expected one of ${allowed.join(', ')}.`);
  }
  return v as T;
}
