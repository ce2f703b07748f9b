import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../../../api/context.js';
import { ForbiddenError, InvalidInputError } from '../../../errors.js';
import { atLeast } from '../microversion.js';
import type { CreateServerBody } from './create-schema.js';

/**
 * The parts of Nova's server create schema that differ between microversions, checked on
 * top of the union schema in create-schema.ts: network device tags (2.32, gone 2.37-2.41,
 * back at 2.42), networks required (2.37; 'auto'/'none' and description are accepted at
 * every version, as create-schema.ts explains),
 * personality (gone at 2.57), trusted_image_certificates (2.63: Polyvisor verifies no image
 * signatures, so it refuses them rather than ignore them), host / hypervisor_hostname
 * (2.74, admin), hostname (2.90; FQDNs from 2.94).
 */
function unexpected(field: string): InvalidInputError {
  return new InvalidInputError(`Invalid input for field/attribute server. Additional properties are not allowed ('${field}' was unexpected)`);
}

export interface VersionedCreate {
  readonly hostname: string | null;
  readonly host: string | null;
  readonly node: string | null;
}

export function checkCreateVersion(req: FastifyRequest, ctx: AuthContext, body: CreateServerBody): VersionedCreate {
  const s = body.server;
  if (s.networks === undefined && atLeast(req, 2, 37)) throw new InvalidInputError("Invalid input for field/attribute server. 'networks' is a required property");
  if (Array.isArray(s.networks) && s.networks.some((n) => n.tag !== undefined)) {
    const tagged = atLeast(req, 2, 42) || (atLeast(req, 2, 32) && !atLeast(req, 2, 37));
    if (!tagged) throw new InvalidInputError("Invalid input for field/attribute networks. Additional properties are not allowed ('tag' was unexpected)");
  }
  if (s.personality !== undefined && atLeast(req, 2, 57)) throw unexpected('personality');
  if (s.trusted_image_certificates !== undefined) {
    if (!atLeast(req, 2, 63)) throw unexpected('trusted_image_certificates');
    throw new InvalidInputError('Image signature certificate validation is not supported by this cloud; trusted_image_certificates cannot be used.');
  }
  for (const f of ['host', 'hypervisor_hostname'] as const) {
    if (s[f] !== undefined && !atLeast(req, 2, 74)) throw unexpected(f);
  }
  const host = s.host ?? null;
  const node = s.hypervisor_hostname ?? null;
  if ((host !== null || node !== null) && !ctx.isAdmin) {
    throw new ForbiddenError("Policy doesn't allow compute:servers:create:requested_destination to be performed.");
  }
  if ((host !== null || node !== null) && s.availability_zone?.includes(':') === true) {
    throw new InvalidInputError('host and hypervisor_hostname cannot be given with the zone:host:node form of availability_zone.');
  }
  let hostname: string | null = null;
  if (s.hostname !== undefined) {
    if (!atLeast(req, 2, 90)) throw unexpected('hostname');
    const fqdn = atLeast(req, 2, 94);
    const ok = fqdn ? /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,253}[a-zA-Z0-9])?$/.test(s.hostname) : /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(s.hostname);
    if (!ok) throw new InvalidInputError(`Invalid input for field/attribute hostname. Value: ${s.hostname}. Invalid hostname.`);
    if (Number(s.max_count ?? s.min_count ?? 1) > 1) throw new InvalidInputError('Unable to specify the hostname when creating multiple instances.');
    hostname = s.hostname;
  }
  return { hostname, host, node };
}
