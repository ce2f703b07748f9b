import { XMLParser } from 'fast-xml-parser';
import { vim25, SCALAR_TYPES } from '../types/schema.js';

/** A node of fast-xml-parser's ordered output: `{tag: children, ':@': attributes}` or `{'#text': s}`. */
export type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded by decodeEntities in one pass: the parser knows only the five
  // named ones, and Go's encoder (vcsim, and vCenter's own) writes newlines as &#xA;.
  processEntities: false,
  htmlEntities: false,
});

const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML character and entity references, decoded in a single pass (so "&amp;#xA;" stays "&#xA;"). */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    return NAMED[e] ?? m;
  });
}

/** Parses a document into ordered nodes; throws on malformed XML. */
export function parseXml(xml: string): XmlNode[] {
  return parser.parse(xml) as XmlNode[];
}

/** The element name of a node, without its namespace prefix ("soapenv:Body" → "Body"). */
export function tagOf(node: XmlNode): string | undefined {
  for (const k of Object.keys(node)) {
    if (k !== ':@' && k !== '#text') {
      const i = k.indexOf(':');
      return i < 0 ? k : k.slice(i + 1);
    }
  }
  return undefined;
}

export function childrenOf(node: XmlNode): XmlNode[] {
  for (const k of Object.keys(node)) {
    if (k !== ':@' && k !== '#text') return (node[k] as XmlNode[] | undefined) ?? [];
  }
  return [];
}

export function attrsOf(node: XmlNode): Readonly<Record<string, string>> {
  const raw = node[':@'] as Record<string, string> | undefined;
  if (raw === undefined) return {};
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, decodeEntities(v)]));
}

export function textOf(node: XmlNode): string {
  let s = '';
  for (const c of childrenOf(node)) if (typeof c['#text'] === 'string') s += c['#text'];
  return decodeEntities(s);
}

export function elementsOf(node: XmlNode): XmlNode[] {
  return childrenOf(node).filter((c) => tagOf(c) !== undefined);
}

/** The xsi:type attribute, whatever prefix the document bound the XMLSchema-instance namespace to. */
function xsiType(attrs: Readonly<Record<string, string>>): string | undefined {
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'xsi:type' || k.endsWith(':type')) {
      const i = v.indexOf(':');
      return i < 0 ? v : v.slice(i + 1);
    }
  }
  return undefined;
}

/**
 * Decodes an element of the declared vim25 `type` into a plain value, guided by the
 * schema: data objects get `_type`, references become `{type, value}`, numbers numbers,
 * `dateTime` a Date, repeated fields arrays (even with one element), and an `ArrayOfX`
 * inside an `anyType` the bare array. Fields the schema does not know (a newer server)
 * are kept as text or nested objects rather than dropped.
 */
export function decodeElement(node: XmlNode, declared: string): unknown {
  const attrs = attrsOf(node);
  const type = xsiType(attrs) ?? declared;
  if (type === 'MOR' || type === 'ManagedObjectReference') return { type: attrs['type'] ?? '', value: textOf(node) };
  if (SCALAR_TYPES.has(type) || XSD_SCALARS.has(type)) return decodeScalar(type, textOf(node));
  const schema = vim25();
  if (!schema.has(type)) {
    const kids = elementsOf(node);
    if (kids.length === 0) return textOf(node);
    return decodeUnknown(type, kids);
  }
  if (type.startsWith('ArrayOf')) {
    const [only] = schema.fields(type);
    if (only?.array === true) return elementsOf(node).map((c) => decodeElement(c, only.type));
  }
  const out: Record<string, unknown> = { _type: type };
  for (const child of elementsOf(node)) {
    const name = tagOf(child) ?? '';
    const f = schema.field(type, name);
    const v = f === undefined ? decodeLoose(child) : decodeElement(child, f.type);
    if (f?.array === true) {
      const arr = (out[name] as unknown[] | undefined) ?? [];
      arr.push(v);
      out[name] = arr;
    } else if (f === undefined && name in out) {
      const prev = out[name];
      out[name] = Array.isArray(prev) ? [...(prev as unknown[]), v] : [prev, v];
    } else {
      out[name] = v;
    }
  }
  return out;
}

const XSD_SCALARS: ReadonlySet<string> = new Set(['int', 'unsignedInt', 'integer', 'decimal', 'unsignedLong', 'unsignedShort', 'anyURI']);

function decodeScalar(type: string, text: string): unknown {
  switch (type) {
    case 'boolean':
      return text === 'true' || text === '1';
    case 'byte': case 'short': case 'int': case 'long': case 'float': case 'double':
    case 'unsignedInt': case 'integer': case 'decimal': case 'unsignedLong': case 'unsignedShort': {
      const n = Number(text);
      return Number.isNaN(n) ? text : n;
    }
    case 'dateTime': {
      const d = new Date(text);
      return Number.isNaN(d.getTime()) ? text : d;
    }
    default:
      return text;
  }
}

function decodeLoose(node: XmlNode): unknown {
  const t = xsiType(attrsOf(node));
  if (t !== undefined) return decodeElement(node, t);
  if (attrsOf(node)['type'] !== undefined) return { type: attrsOf(node)['type'], value: textOf(node) };
  const kids = elementsOf(node);
  return kids.length === 0 ? textOf(node) : decodeUnknown(undefined, kids);
}

function decodeUnknown(type: string | undefined, kids: XmlNode[]): Record<string, unknown> {
  const out: Record<string, unknown> = type === undefined ? {} : { _type: type };
  for (const c of kids) {
    const name = tagOf(c) ?? '';
    const v = decodeLoose(c);
    const prev = out[name];
    out[name] = prev === undefined ? v : Array.isArray(prev) ? [...(prev as unknown[]), v] : [prev, v];
  }
  return out;
}
