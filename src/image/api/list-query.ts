import type { AuthContext } from '../../api/context.js';
import {
  IMAGE_SORT_KEYS,
  type FilterOp,
  type ImageFilter,
  type ImageFilterColumn,
  type ImageListQuery,
  type ImageSortKey,
} from '../../db/repos/images.js';
import type { ImageRow } from '../../db/schema.js';
import { InvalidInputError } from '../../errors.js';

export type RawQuery = Record<string, string | string[] | undefined>;

/** Glance limit_param_default; the maximum is api_limit_max (1000) or [api] max_limit. */
const DEFAULT_LIMIT = 25;
const VISIBILITY_FILTERS = ['public', 'private', 'shared', 'community', 'all'] as const;
const MEMBER_STATUS_FILTERS = ['accepted', 'pending', 'rejected', 'all'] as const;
/** Query keys with a meaning of their own; any other key filters on a custom property. */
const KNOWN = new Set([
  'limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'visibility', 'member_status', 'tag', 'os_hidden',
  'size', 'size_min', 'size_max', 'name', 'status', 'owner', 'disk_format', 'container_format', 'id', 'protected',
  'created_at', 'updated_at',
]);
const STRING_COLUMNS = ['id', 'name', 'status', 'owner', 'disk_format', 'container_format'] as const;
const OPERATORS: readonly FilterOp[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in'];

export interface ParsedList {
  readonly query: Omit<ImageListQuery, 'marker'>;
  readonly markerId: string | undefined;
}

/** GET /v2/images query → a typed list query, or a 400 naming the parameter that is wrong. */
export function parseListQuery(ctx: AuthContext, raw: RawQuery, maxLimit: number): ParsedList {
  const one = (key: string): string | undefined => {
    const v = raw[key];
    return Array.isArray(v) ? v[v.length - 1] : v;
  };
  const all = (key: string): string[] => {
    const v = raw[key];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };

  const limitText = one('limit');
  let limit = DEFAULT_LIMIT;
  if (limitText !== undefined) {
    if (!/^\d+$/.test(limitText)) throw new InvalidInputError(`limit param must be a non-negative integer, not "${limitText}".`);
    limit = Number(limitText);
  }
  limit = Math.min(limit, maxLimit);

  const filters: ImageFilter[] = [];
  for (const column of STRING_COLUMNS) {
    const v = one(column);
    if (v !== undefined) filters.push(withOperator(column, v, (s) => s));
  }
  for (const column of ['created_at', 'updated_at'] as const) {
    const v = one(column);
    if (v !== undefined) filters.push(withOperator(column, v, (s) => isoTime(column, s)));
  }
  // Glance filters on the core size attribute exactly as well as by range.
  const size = one('size');
  if (size !== undefined) filters.push({ column: 'size', op: 'eq', value: nonNegative('size', size) });
  const sizeMin = one('size_min');
  if (sizeMin !== undefined) filters.push({ column: 'size', op: 'gte', value: nonNegative('size_min', sizeMin) });
  const sizeMax = one('size_max');
  if (sizeMax !== undefined) filters.push({ column: 'size', op: 'lte', value: nonNegative('size_max', sizeMax) });
  const prot = one('protected');
  if (prot !== undefined) filters.push({ column: 'protected', op: 'eq', value: boolParam('protected', prot) ? 1 : 0 });

  const visibility = one('visibility');
  if (visibility !== undefined && !(VISIBILITY_FILTERS as readonly string[]).includes(visibility)) {
    throw new InvalidInputError(`Invalid visibility value: ${visibility}; expected one of ${VISIBILITY_FILTERS.join(', ')}.`);
  }
  const memberStatus = one('member_status') ?? 'accepted';
  if (!(MEMBER_STATUS_FILTERS as readonly string[]).includes(memberStatus)) {
    throw new InvalidInputError(`Invalid status value: ${memberStatus}; member_status must be one of ${MEMBER_STATUS_FILTERS.join(', ')}.`);
  }
  const hidden = one('os_hidden');

  const properties: Record<string, string> = {};
  for (const key of Object.keys(raw)) {
    const v = one(key);
    if (!KNOWN.has(key) && v !== undefined) properties[key] = v;
  }

  const query: Omit<ImageListQuery, 'marker'> = {
    viewer: { projectId: ctx.projectId, isAdmin: ctx.isAdmin },
    ...(visibility === undefined ? {} : { visibility: visibility as (typeof VISIBILITY_FILTERS)[number] }),
    memberStatus: memberStatus as (typeof MEMBER_STATUS_FILTERS)[number],
    filters,
    tags: all('tag'),
    properties,
    osHidden: hidden === undefined ? false : boolParam('os_hidden', hidden),
    sort: parseSort(raw, one, all),
    limit,
  };
  return { query, markerId: one('marker') };
}

function parseSort(raw: RawQuery, one: (k: string) => string | undefined, all: (k: string) => string[]): ImageListQuery['sort'] {
  const sort: { key: ImageSortKey; dir: 'asc' | 'desc' }[] = [];
  const newStyle = one('sort');
  if (newStyle !== undefined) {
    if (raw['sort_key'] !== undefined || raw['sort_dir'] !== undefined) {
      throw new InvalidInputError("The 'sort' param cannot be used with the 'sort_key' or 'sort_dir' params.");
    }
    for (const part of newStyle.split(',')) {
      const [key = '', dir = 'desc', ...rest] = part.trim().split(':');
      if (rest.length > 0) throw new InvalidInputError(`Invalid sort value: ${part}.`);
      sort.push({ key: sortKey(key), dir: sortDir(dir) });
    }
  } else {
    const keys = all('sort_key');
    const dirs = all('sort_dir');
    if (dirs.length > 1 && dirs.length !== keys.length) {
      throw new InvalidInputError('Number of sort dirs does not match the number of sort keys.');
    }
    keys.forEach((k, i) => sort.push({ key: sortKey(k), dir: sortDir(dirs[dirs.length > 1 ? i : 0] ?? 'desc') }));
    if (keys.length === 0 && dirs.length === 1) sort.push({ key: 'created_at', dir: sortDir(dirs[0] ?? 'desc') });
  }
  // Glance's tie-breakers: created_at, then id, so that every page boundary is exact.
  const tieDir = sort[0]?.dir ?? 'desc';
  if (!sort.some((s) => s.key === 'created_at')) sort.push({ key: 'created_at', dir: tieDir });
  if (!sort.some((s) => s.key === 'id')) sort.push({ key: 'id', dir: tieDir });
  return sort;
}

function sortKey(k: string): ImageSortKey {
  if (!(IMAGE_SORT_KEYS as readonly string[]).includes(k)) {
    throw new InvalidInputError(`Invalid sort key: ${k}. It must be one of the following: ${IMAGE_SORT_KEYS.join(', ')}.`);
  }
  return k as ImageSortKey;
}

function sortDir(d: string): 'asc' | 'desc' {
  if (d !== 'asc' && d !== 'desc') throw new InvalidInputError(`Invalid sort direction: ${d}; expected asc or desc.`);
  return d;
}

/** `value`, `in:a,b` or `<op>:value` (eq, neq, gt, gte, lt, lte), as Glance's filters. */
function withOperator(column: ImageFilterColumn, text: string, parse: (s: string) => string): ImageFilter {
  const m = /^([a-z]+):(.*)$/.exec(text);
  const op = m?.[1] as FilterOp | undefined;
  if (m && op !== undefined && OPERATORS.includes(op)) {
    const rest = m[2] ?? '';
    if (op === 'in') return { column, op, value: rest.split(',').map((s) => parse(s.replace(/^"|"$/g, ''))) };
    return { column, op, value: parse(rest) };
  }
  return { column, op: 'eq', value: parse(text) };
}

function isoTime(name: string, s: string): string {
  const t = Date.parse(s);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(t)) throw new InvalidInputError(`Invalid time format for ${name}: "${s}" is not an ISO 8601 time.`);
  return new Date(t).toISOString();
}

function nonNegative(name: string, s: string): number {
  if (!/^\d+$/.test(s)) throw new InvalidInputError(`${name} must be a non-negative integer, not "${s}".`);
  return Number(s);
}

function boolParam(name: string, s: string): boolean {
  const v = s.toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return true;
  if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false;
  throw new InvalidInputError(`Invalid value for ${name}: "${s}" is not a boolean.`);
}

/** `first` and `next` links as Glance builds them: the same query, without or with the marker. */
export function pageLinks(url: string, rows: readonly ImageRow[], more: boolean): { first: string; next?: string } {
  const qs = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const params = new URLSearchParams(qs);
  params.delete('marker');
  const first = params.size > 0 ? `/v2/images?${params.toString()}` : '/v2/images';
  const last = rows[rows.length - 1];
  if (!more || !last) return { first };
  params.set('marker', last.id);
  return { first, next: `/v2/images?${params.toString()}` };
}
