import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf } from '../request.js';
import { pythonIsoTime } from '../times.js';
import { INTERNAL_ZONE, listZones } from './zones.js';

/** `os-availability-zone` (everyone; compute zones only) and `/detail` (admin; with hosts and services). */
export function availabilityZoneRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/os-availability-zone', async (req) => {
    callerOf(req);
    const zones = [...(await listZones(deps)).values()].filter((z) => z.name !== INTERNAL_ZONE);
    zones.sort((a, b) => a.name.localeCompare(b.name));
    return { availabilityZoneInfo: zones.map((z) => ({ zoneName: z.name, zoneState: { available: z.available }, hosts: null })) };
  });

  app.get('/os-availability-zone/detail', async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-availability-zone:detail');
    const zones = [...(await listZones(deps)).values()].sort((a, b) => a.name.localeCompare(b.name));
    return {
      availabilityZoneInfo: zones.map((z) => ({
        zoneName: z.name,
        zoneState: { available: z.available },
        hosts: Object.fromEntries(
          [...z.hosts].map(([host, services]) => [
            host,
            Object.fromEntries(
              [...services].map(([binary, s]) => [
                binary,
                { available: s.up, active: s.service.disabled === 0, updated_at: pythonIsoTime(s.service.last_seen_at ?? s.service.updated_at) },
              ]),
            ),
          ]),
        ),
      })),
    };
  });
}
