import { InvalidInputError } from '../../../errors.js';

/**
 * Hand validation of a server action's argument (the action body's one key picks the
 * schema), with the wording of Nova's JSON-schema validator.
 */
export type Args = Readonly<Record<string, unknown>>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The action's argument object; `nullable` accepts null (e.g. `{"migrate": null}`) as {}. */
export function actionArgs(body: unknown, action: string, allowed: readonly string[], options: { nullable?: boolean; required?: readonly string[] } = {}): Args {
  const arg = (body as Record<string, unknown>)[action];
  if (arg === null && options.nullable) return {};
  if (!isRecord(arg)) throw new InvalidInputError(`Invalid input for field/attribute ${action}. Value: ${JSON.stringify(arg)}. ${JSON.stringify(arg)} is not of type 'object'`);
  const extra = Object.keys(arg).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new InvalidInputError(`Invalid input for field/attribute ${action}. Additional properties are not allowed ('${extra}' was unexpected)`);
  const missing = (options.required ?? []).find((k) => !(k in arg));
  if (missing !== undefined) throw new InvalidInputError(`Invalid input for field/attribute ${action}. '${missing}' is a required property`);
  return arg;
}

function bad(field: string, value: unknown, why: string): InvalidInputError {
  return new InvalidInputError(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(value)}. ${why}`);
}

export function optString(a: Args, field: string, o: { min?: number; max?: number; nullable?: boolean } = {}): string | null | undefined {
  const v = a[field];
  if (v === undefined) return undefined;
  if (v === null && o.nullable) return null;
  if (typeof v !== 'string') throw bad(field, v, `${JSON.stringify(v)} is not of type 'string'`);
  if (o.min !== undefined && v.length < o.min) throw bad(field, v, `${JSON.stringify(v)} is too short`);
  if (o.max !== undefined && v.length > o.max) throw bad(field, v, `${JSON.stringify(v)} is too long`);
  return v;
}

const TRUE = new Set(['true', 't', '1', 'on', 'y', 'yes']);
const FALSE = new Set(['false', 'f', '0', 'off', 'n', 'no']);

/** Nova's parameter_types.boolean: a JSON boolean or one of its strings. */
export function optBool(a: Args, field: string): boolean | undefined {
  const v = a[field];
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && TRUE.has(v.toLowerCase())) return true;
  if (typeof v === 'string' && FALSE.has(v.toLowerCase())) return false;
  throw bad(field, v, `${JSON.stringify(v)} is not of type 'boolean', 'string'`);
}

export function optEnum<T extends string>(a: Args, field: string, values: readonly T[]): T | undefined {
  const v = a[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !values.includes(v as T)) throw bad(field, v, `${JSON.stringify(v)} is not one of ${JSON.stringify(values)}`);
  return v as T;
}

/** Nova's metadata: an object of 1–255 character keys and string values up to 255. */
export function optMetadata(a: Args, field: string): Record<string, string> | undefined {
  const v = a[field];
  if (v === undefined) return undefined;
  if (!isRecord(v)) throw bad(field, v, `${JSON.stringify(v)} is not of type 'object'`);
  for (const [k, val] of Object.entries(v)) {
    if (k.length < 1 || k.length > 255) throw bad(field, v, `Additional properties are not allowed ('${k}' was unexpected)`);
    if (typeof val !== 'string') throw bad(`${field}/${k}`, val, `${JSON.stringify(val)} is not of type 'string'`);
    if (val.length > 255) throw bad(`${field}/${k}`, val, `${JSON.stringify(val)} is too long`);
  }
  return v as Record<string, string>;
}
