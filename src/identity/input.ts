import { InvalidInputError } from '../errors.js';

/**
 * Parsing of request bodies into typed values, with Keystone's 400 wording: the message
 * names the field (`user/name`) and what was wrong. Values are never echoed back, so a
 * misplaced password cannot leak through an error.
 */
export type JsonObject = Readonly<Record<string, unknown>>;

export function invalidField(path: string, what: string): InvalidInputError {
  return new InvalidInputError(`Invalid input for field '${path}': ${what}`, { field: path });
}

export function objectAt(value: unknown, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidField(path, 'expected an object.');
  return value as JsonObject;
}

export function onlyFields(o: JsonObject, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw invalidField(path, `additional properties are not allowed ('${key}' was unexpected).`);
  }
}

export function requiredObject(o: JsonObject, key: string, path: string): JsonObject {
  if (o[key] === undefined) throw invalidField(path, `'${key}' is a required property.`);
  return objectAt(o[key], `${path}/${key}`);
}

export function optionalObject(o: JsonObject, key: string, path: string): JsonObject | undefined {
  return o[key] === undefined ? undefined : objectAt(o[key], `${path}/${key}`);
}

export interface StringRule {
  readonly min?: number;
  readonly max?: number;
}

export function optionalString(o: JsonObject, key: string, path: string, rule: StringRule = {}): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  const at = path === '' ? key : `${path}/${key}`;
  if (typeof v !== 'string') throw invalidField(at, 'expected a string.');
  const min = rule.min ?? 0;
  if (v.length < min) throw invalidField(at, min === 1 ? 'must not be empty.' : `must be at least ${min} characters.`);
  if (rule.max !== undefined && v.length > rule.max) throw invalidField(at, `must be at most ${rule.max} characters.`);
  return v;
}

export function requiredString(o: JsonObject, key: string, path: string, rule: StringRule = {}): string {
  const v = optionalString(o, key, path, rule);
  if (v === undefined) throw invalidField(path === '' ? key : path, `'${key}' is a required property.`);
  return v;
}

/** A string or null (null clears the attribute). */
export function optionalNullableString(o: JsonObject, key: string, path: string, rule: StringRule = {}): string | null | undefined {
  if (o[key] === null) return null;
  return optionalString(o, key, path, rule);
}

export function optionalBoolean(o: JsonObject, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw invalidField(path === '' ? key : `${path}/${key}`, 'expected a boolean.');
  return v;
}

export function optionalStringArray(o: JsonObject, key: string, path: string): string[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  const at = path === '' ? key : `${path}/${key}`;
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw invalidField(at, 'expected an array of strings.');
  return v;
}

/** Query-string booleans as Keystone reads them: absent, or true unless "0"/"false"/"no". */
export function queryFlag(value: string | undefined): boolean {
  if (value === undefined) return false;
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}

export function queryBoolean(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new InvalidInputError(`Invalid query parameter '${name}': expected a boolean, got '${value}'.`);
}
