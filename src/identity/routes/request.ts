import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../api/context.js';
import { requireAuth } from '../../api/server.js';

/** The authenticated caller (every identity route but version discovery, login and password change). */
export function caller(req: FastifyRequest): AuthContext {
  return requireAuth(req);
}

export function param(req: FastifyRequest, name: string): string {
  const params = req.params;
  if (typeof params === 'object' && params !== null && name in params) {
    const v: unknown = (params as Record<string, unknown>)[name];
    if (typeof v === 'string') return v;
  }
  return '';
}

/** One query parameter; the first when repeated. */
export function query(req: FastifyRequest, name: string): string | undefined {
  const q = req.query;
  if (typeof q !== 'object' || q === null || !(name in q)) return undefined;
  const v: unknown = (q as Record<string, unknown>)[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
