import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../api/context.js';
import { requireAuth } from '../../api/server.js';
import { InvalidInputError } from '../../errors.js';
import type { ComputeDeps } from './deps.js';

/** Small helpers every compute route uses: caller, query parameters, links, paging. */
export function callerOf(req: FastifyRequest): AuthContext {
  return requireAuth(req);
}

export type Query = Readonly<Record<string, string | string[] | undefined>>;

export function queryOf(req: FastifyRequest): Query {
  return (req.query ?? {}) as Query;
}

/** The last value of a query parameter (Nova reads the last one for single-valued filters). */
export function param(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function params(q: Query, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Path parameters as strings. */
export function pathParam(req: FastifyRequest, name: string): string {
  const p = req.params as Readonly<Record<string, string | undefined>>;
  return p[name] ?? '';
}

/** oslo's bool_from_string(strict=True) for filters; `what` names the parameter in the error. */
export function parseBool(value: string, what: string): boolean {
  const v = value.trim().toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(v)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(v)) return false;
  throw new InvalidInputError(`Invalid value '${value}' for ${what}: expected a boolean.`);
}

/** `limit` capped by [api] max_limit (Nova's osapi_max_limit). */
export function parseLimit(q: Query, maxLimit: number): number {
  const raw = param(q, 'limit');
  if (raw === undefined) return maxLimit;
  if (!/^\d+$/.test(raw.trim())) throw new InvalidInputError(`Invalid input for query parameters limit. Value: ${raw}. '${raw}' is not a non-negative integer.`);
  return Math.min(Number(raw), maxLimit);
}

export interface Link {
  readonly rel: string;
  readonly href: string;
  readonly type?: string;
}

/** Builds Nova's self/bookmark links, keeping the /{project_id} segment when the request used one. */
export class Linker {
  readonly #base: string;
  readonly #project: string;

  constructor(req: FastifyRequest, deps: ComputeDeps) {
    this.#base = `${deps.publicUrl().replace(/\/+$/, '')}/compute`;
    const p = pathParam(req, 'project_id');
    this.#project = p === '' ? '' : `/${encodeURIComponent(p)}`;
  }

  get root(): string {
    return this.#base;
  }

  self(collection: string, id: string): string {
    return `${this.#base}/v2.1${this.#project}/${collection}/${encodeURIComponent(id)}`;
  }

  bookmark(collection: string, id: string): string {
    return `${this.#base}${this.#project}/${collection}/${encodeURIComponent(id)}`;
  }

  links(collection: string, id: string): Link[] {
    return [
      { rel: 'self', href: this.self(collection, id) },
      { rel: 'bookmark', href: this.bookmark(collection, id) },
    ];
  }

  /** The `next` link of a full page: the same query with `marker` replaced. */
  next(path: string, q: Query, marker: string): Link[] {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) {
      if (k === 'marker' || v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) search.append(k, one);
    }
    search.append('marker', marker);
    return [{ rel: 'next', href: `${this.#base}/v2.1${this.#project}/${path}?${search.toString()}` }];
  }
}
