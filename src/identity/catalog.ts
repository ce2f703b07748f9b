import { stableId } from './secrets.js';

/**
 * The service catalog: fixed, derived from the public base URL, which is only known once
 * the server listens. Every interface (public, internal, admin) has the same URL: one
 * process serves all three APIs.
 */
export const REGION = 'RegionOne';
export const INTERFACES = ['public', 'internal', 'admin'] as const;

export interface CatalogService {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly description: string;
  readonly path: string;
}

export interface CatalogEndpoint {
  readonly id: string;
  readonly interface: (typeof INTERFACES)[number];
  readonly region: string;
  readonly region_id: string;
  readonly url: string;
  readonly service_id: string;
}

const SERVICES: readonly CatalogService[] = [
  { type: 'identity', name: 'keystone', description: 'Identity (Keystone v3)', path: '/identity' },
  // No project id in the path: novaclient and the openstack CLI accept either form.
  { type: 'compute', name: 'nova', description: 'Compute (v2.1)', path: '/compute/v2.1' },
  { type: 'image', name: 'glance', description: 'Image (v2)', path: '/image' },
  // Discovery only (see src/network/api): clients that require a network endpoint find one that offers nothing.
  { type: 'network', name: 'neutron', description: 'Networking (discovery only: no networks yet)', path: '/network' },
].map((s) => ({ ...s, id: stableId(`service:${s.type}`) }));

export function catalogServices(): readonly CatalogService[] {
  return SERVICES;
}

export function catalogEndpoints(base: string): CatalogEndpoint[] {
  const root = base.replace(/\/+$/, '');
  return SERVICES.flatMap((s) =>
    INTERFACES.map((iface) => ({
      id: stableId(`endpoint:${s.type}:${iface}`),
      interface: iface,
      region: REGION,
      region_id: REGION,
      url: `${root}${s.path}`,
      service_id: s.id,
    })),
  );
}

/** The catalog as a token carries it. */
export function tokenCatalog(base: string): Record<string, unknown>[] {
  const endpoints = catalogEndpoints(base);
  return SERVICES.map((s) => ({
    id: s.id,
    type: s.type,
    name: s.name,
    endpoints: endpoints
      .filter((e) => e.service_id === s.id)
      .map((e) => ({ id: e.id, interface: e.interface, region: e.region, region_id: e.region_id, url: e.url })),
  }));
}
