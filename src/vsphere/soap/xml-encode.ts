import { InvalidInputError } from '../../errors.js';
import { isMoref } from '../types/moref.js';
import { vim25, SCALAR_TYPES } from '../types/schema.js';

const XSD_OF: Readonly<Record<string, string>> = { string: 'xsd:string', boolean: 'xsd:boolean', number: 'xsd:int' };

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/**
 * Encodes `value` as the element `name` of the declared vim25 `type`, in schema order.
 * A data object whose `_type` differs from the declared type gets `xsi:type` (that is how
 * vim25 says "a VirtualDisk where a VirtualDevice is declared"); keys the schema does not
 * know are refused, so a typo in a spec is an error rather than a silently ignored field.
 */
export function encodeElement(name: string, type: string, value: unknown, where = name): string {
  if (value === undefined || value === null) return '';
  if (type === 'MOR' || type === 'ManagedObjectReference') {
    if (!isMoref(value)) throw new InvalidInputError(`${where}: expected a managed object reference`);
    return `<${name} type="${escapeXml(value.type)}">${escapeXml(value.value)}</${name}>`;
  }
  if (type === 'anyType') return encodeAny(name, value, where);
  if (SCALAR_TYPES.has(type) || !vim25().has(type)) return `<${name}>${escapeXml(scalarText(value, where))}</${name}>`;
  if (typeof value !== 'object') throw new InvalidInputError(`${where}: expected a ${type} object`);
  const actual = dataType(value) ?? type;
  if (actual !== type && !vim25().isA(actual, type)) {
    throw new InvalidInputError(`${where}: a ${actual} is not a ${type}`);
  }
  const attr = actual === type ? '' : ` xsi:type="${escapeXml(actual)}"`;
  return `<${name}${attr}>${encodeFields(actual, value as Record<string, unknown>, where)}</${name}>`;
}

/** The children of a data object (or of a method's request element) in schema order. */
export function encodeFields(type: string, obj: Readonly<Record<string, unknown>>, where = type): string {
  const schema = vim25();
  for (const key of Object.keys(obj)) {
    if (key !== '_type' && obj[key] !== undefined && schema.field(type, key) === undefined) {
      throw new InvalidInputError(`${where}: ${type} has no field "${key}"`, { type, field: key });
    }
  }
  let out = '';
  for (const f of schema.fields(type)) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.array) {
      if (!Array.isArray(v)) throw new InvalidInputError(`${where}.${f.name}: expected an array`);
      for (const item of v as unknown[]) out += encodeElement(f.name, f.type, item, `${where}.${f.name}[]`);
    } else {
      out += encodeElement(f.name, f.type, v, `${where}.${f.name}`);
    }
  }
  return out;
}

function encodeAny(name: string, value: unknown, where: string): string {
  if (isMoref(value)) {
    return `<${name} xsi:type="ManagedObjectReference" type="${escapeXml(value.type)}">${escapeXml(value.value)}</${name}>`;
  }
  if (Array.isArray(value)) throw new InvalidInputError(`${where}: arrays in an anyType field need a typed ArrayOf wrapper`);
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const t = dataType(value);
    if (t === undefined) throw new InvalidInputError(`${where}: a data object in an anyType field needs _type`);
    return `<${name} xsi:type="${escapeXml(t)}">${encodeFields(t, value as Record<string, unknown>, where)}</${name}>`;
  }
  const xsd = value instanceof Date ? 'xsd:dateTime' : XSD_OF[typeof value] ?? 'xsd:string';
  return `<${name} xsi:type="${xsd}">${escapeXml(scalarText(value, where))}</${name}>`;
}

function scalarText(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return value.toISOString();
  throw new InvalidInputError(`${where}: expected a scalar value`);
}

function dataType(value: object): string | undefined {
  const t = (value as { _type?: unknown })._type;
  return typeof t === 'string' ? t : undefined;
}
