import { isServiceUp } from '../../service-status.js';
import { listServices } from '../../../db/repos/compute-admin.js';
import { zonedHosts } from '../../../db/repos/aggregates.js';
import type { ServiceRow } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';

/** Nova's internal_service_availability_zone: where every non-compute service lives. */
export const INTERNAL_ZONE = 'internal';

export interface ZoneService {
  readonly service: ServiceRow;
  readonly up: boolean;
}

export interface Zone {
  readonly name: string;
  /** A zone is available when at least one of its compute services is enabled. */
  available: boolean;
  /** host → binary → service */
  readonly hosts: Map<string, Map<string, ZoneService>>;
}

/**
 * Availability zones as Nova derives them: a compute service is in the zone of the
 * aggregates holding its host (zoneOfHost), else [DEFAULT] default_availability_zone;
 * other services are in the internal zone. Zones of aggregates without hosts do not show.
 */
export async function listZones(deps: ComputeDeps): Promise<Map<string, Zone>> {
  const [services, zoned] = await Promise.all([listServices(deps.db), zonedHosts(deps.db)]);
  const downTime = deps.config.DEFAULT.service_down_time;
  const zones = new Map<string, Zone>();
  const add = (zoneName: string, service: ServiceRow) => {
    let zone = zones.get(zoneName);
    if (!zone) zones.set(zoneName, (zone = { name: zoneName, available: false, hosts: new Map<string, Map<string, ZoneService>>() }));
    let host = zone.hosts.get(service.host);
    if (!host) zone.hosts.set(service.host, (host = new Map<string, ZoneService>()));
    host.set(service.binary, { service, up: isServiceUp(service, downTime) });
    if (service.disabled === 0) zone.available = true;
  };
  for (const s of services) add(s.binary === 'nova-compute' ? (zoned.get(s.host) ?? deps.config.DEFAULT.default_availability_zone) : INTERNAL_ZONE, s);
  return zones;
}
