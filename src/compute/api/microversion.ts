import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInputError, PolyvisorError } from '../../errors.js';

/**
 * Compute API microversions. We claim as maximum only a version whose every change
 * we implement, because clients (openstacksdk, OSC) negotiate the highest common one.
 */
export interface ApiVersion {
  readonly major: number;
  readonly minor: number;
}

export const MIN_VERSION: ApiVersion = { major: 2, minor: 1 };
export const MAX_VERSION: ApiVersion = { major: 2, minor: 96 };

export function versionString(v: ApiVersion): string {
  return `${v.major}.${v.minor}`;
}

export function compareVersions(a: ApiVersion, b: ApiVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

const negotiated = new WeakMap<FastifyRequest, ApiVersion>();

/** The version negotiated for this request (2.1 when the request never went through negotiation). */
export function versionOf(req: FastifyRequest): ApiVersion {
  return negotiated.get(req) ?? MIN_VERSION;
}

/** True when the request's version is at least `major.minor`. */
export function atLeast(req: FastifyRequest, major: number, minor: number): boolean {
  return compareVersions(versionOf(req), { major, minor }) >= 0;
}

/**
 * Reads `OpenStack-API-Version: compute X.Y` (preferred) or `X-OpenStack-Nova-API-Version: X.Y`,
 * accepts 'latest', and answers 406 for a version outside [MIN, MAX]. Echoes both headers and Vary.
 */
export function negotiateVersion(req: FastifyRequest, reply: FastifyReply): void {
  const requested = requestedVersion(req);
  let v: ApiVersion = MIN_VERSION;
  if (requested !== undefined) {
    if (requested.toLowerCase() === 'latest') v = MAX_VERSION;
    else {
      const m = /^([1-9]\d*)\.(0|[1-9]\d*)$/.exec(requested.trim());
      if (!m) {
        throw new InvalidInputError(`API Version String ${requested} is of invalid format. Must be of format MajorNum.MinorNum.`);
      }
      v = { major: Number(m[1]), minor: Number(m[2]) };
      if (compareVersions(v, MIN_VERSION) < 0 || compareVersions(v, MAX_VERSION) > 0) {
        throw new PolyvisorError(
          'not_acceptable',
          `Version ${versionString(v)} is not supported by the API. Minimum is ${versionString(MIN_VERSION)} and maximum is ${versionString(MAX_VERSION)}.`,
        );
      }
    }
  }
  negotiated.set(req, v);
  reply.header('OpenStack-API-Version', `compute ${versionString(v)}`);
  reply.header('X-OpenStack-Nova-API-Version', versionString(v));
  reply.header('Vary', 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
}

function requestedVersion(req: FastifyRequest): string | undefined {
  const modern = headerValue(req, 'openstack-api-version');
  if (modern !== undefined) {
    for (const part of modern.split(',')) {
      const [service, version] = part.trim().split(/\s+/, 2);
      if (service?.toLowerCase() === 'compute' && version !== undefined) return version;
    }
  }
  return headerValue(req, 'x-openstack-nova-api-version');
}

function headerValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
