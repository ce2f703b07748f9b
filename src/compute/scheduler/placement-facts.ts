import type { Db } from '../../db/database.js';
import type { InstanceRow } from '../../db/schema.js';
import { groupPlacementOf } from '../../db/repos/server-groups.js';
import type { FlavorSnapshot } from '../states.js';
import { flavorResources, parseHostHints, parseStringMap, type RequestSpec } from './request-spec.js';

/**
 * Where the servers of the same_host / different_host hints run, read inside the caller's
 * transaction so that servers placed earlier in the same batch count. An empty list is no hint
 * (Nova's filters pass every host then).
 */
export async function hostHintPlacement(trx: Db, text: string): Promise<{ sameHost?: Set<string>; differentHost?: Set<string> }> {
  const hints = parseHostHints(text);
  const hostsOf = async (uuids: string[]): Promise<Set<string>> => {
    const rows = await trx.selectFrom('instances').select('host').where('uuid', 'in', uuids).where('deleted_at', 'is', null).where('host', 'is not', null).execute();
    return new Set(rows.map((r) => r.host as string));
  };
  const out: { sameHost?: Set<string>; differentHost?: Set<string> } = {};
  if (hints.sameHost && hints.sameHost.length > 0) out.sameHost = await hostsOf(hints.sameHost);
  if (hints.differentHost && hints.differentHost.length > 0) out.differentHost = await hostsOf(hints.differentHost);
  return out;
}

/**
 * The request spec of a move (resize, migration, live migration, evacuation), as Nova's
 * conductor rebuilds it from the instance: the zone the user asked for at create, else
 * `[DEFAULT] default_schedule_zone` (never an admin's forced `zone:host`, which held for the
 * build only, as Nova's reset_forced_destinations), its image's properties (a deleted image's
 * too), its server group (the other members) and its same_host / different_host hints, with
 * the flavor it moves to.
 */
export async function moveRequestSpec(
  trx: Db,
  row: Pick<InstanceRow, 'uuid' | 'requested_availability_zone' | 'scheduler_hints' | 'image_ref'>,
  flavor: FlavorSnapshot,
  defaultScheduleZone: string | null,
): Promise<RequestSpec> {
  const image = await trx.selectFrom('images').select('properties').where('id', '=', row.image_ref).executeTakeFirst();
  const zone = (row.requested_availability_zone ?? defaultScheduleZone ?? '').split(':')[0] ?? '';
  let spec: RequestSpec = {
    instanceUuid: row.uuid,
    flavor,
    ...flavorResources(flavor),
    availabilityZone: zone === '' ? null : zone,
    imageProperties: parseStringMap(image?.properties ?? null),
    retryNodes: new Set(),
  };
  const group = await groupPlacementOf(trx, row.uuid);
  if (group) spec = { ...spec, group };
  if (row.scheduler_hints !== null) spec = { ...spec, ...(await hostHintPlacement(trx, row.scheduler_hints)) };
  return spec;
}
