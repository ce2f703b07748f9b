import type { FastifyRequest } from 'fastify';
import type { Aggregate } from '../../../db/repos/aggregates.js';
import { AZ_KEY } from '../../../db/repos/aggregates.js';
import { atLeast } from '../microversion.js';
import { pythonIsoTime } from '../times.js';

/**
 * Nova's aggregate view: every field of the Aggregate object (naive timestamps), the zone
 * taken from the metadata, `uuid` from 2.41. Aggregates are hard-deleted, so `deleted` is
 * always false. `create` leaves out hosts and metadata, as Nova's create does.
 */
export function aggregateView(req: FastifyRequest, a: Aggregate, form: 'full' | 'created' = 'full'): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: a.row.id,
    name: a.row.name,
    availability_zone: a.metadata[AZ_KEY] ?? null,
    created_at: pythonIsoTime(a.row.created_at),
    updated_at: pythonIsoTime(a.row.updated_at),
    deleted_at: null,
    deleted: false,
  };
  if (form === 'full') {
    view['hosts'] = [...a.hosts];
    view['metadata'] = { ...a.metadata };
  }
  if (atLeast(req, 2, 41)) view['uuid'] = a.row.uuid;
  return view;
}
