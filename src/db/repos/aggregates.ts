import { randomUUID } from 'node:crypto';
import type { Db } from '../database.js';
import type { DialectName } from '../dialect.js';
import type { AggregateRow } from '../schema.js';
import { now } from '../time.js';
import { lockQuotaScope } from './quotas.js';

/**
 * Host aggregates and the availability zones they define, as Nova has them: a host's zone
 * is the `availability_zone` metadata of an aggregate containing it, else
 * [DEFAULT] default_availability_zone. `compute_nodes.availability_zone` is a copy the
 * scheduler reads; every change here rewrites it for the affected hosts' nodes in the same
 * transaction and returns their names, so the caller can notify 'nodes' after commit.
 * Rules (a host in one zone only, no zone change under instances, ...) are checked in the
 * same transaction, serialised by one advisory lock on PostgreSQL (SQLite writes are serial).
 */
export const AZ_KEY = 'availability_zone';

export interface Aggregate {
  readonly row: AggregateRow;
  readonly hosts: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** Why a change was refused; `zones` lists the conflicting zones for 'zone_conflict'. */
export type AggregateRefusal =
  | { readonly ok: false; readonly reason: 'not_found' | 'duplicate' | 'host_not_found' | 'host_exists' | 'host_absent' | 'empty_zone' | 'instances_in_zone' | 'not_empty' }
  | { readonly ok: false; readonly reason: 'zone_conflict'; readonly zones: readonly string[] };

export type AggregateChange = { readonly ok: true; readonly aggregate: Aggregate; readonly changedNodes: readonly string[] } | AggregateRefusal;

export async function listAggregates(db: Db): Promise<Aggregate[]> {
  const rows = await db.selectFrom('aggregates').selectAll().orderBy('id').execute();
  return withMembers(db, rows);
}

export async function getAggregate(db: Db, id: number): Promise<Aggregate | undefined> {
  const row = await db.selectFrom('aggregates').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? (await withMembers(db, [row]))[0] : undefined;
}

async function withMembers(db: Db, rows: readonly AggregateRow[]): Promise<Aggregate[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [hosts, meta] = await Promise.all([
    db.selectFrom('aggregate_hosts').select(['aggregate_id', 'host']).where('aggregate_id', 'in', ids).orderBy('created_at').orderBy('host').execute(),
    db.selectFrom('aggregate_metadata').select(['aggregate_id', 'key', 'value']).where('aggregate_id', 'in', ids).orderBy('key').execute(),
  ]);
  return rows.map((row) => ({
    row,
    hosts: hosts.filter((h) => h.aggregate_id === row.id).map((h) => h.host),
    metadata: Object.fromEntries(meta.filter((m) => m.aggregate_id === row.id).map((m) => [m.key, m.value])),
  }));
}

/**
 * The zone of each host that is in a zoned aggregate (hosts not in the map are in the
 * default zone). Several zones for one host cannot be made through the API; should the
 * data hold them anyway they are joined with ',' as Nova does.
 */
export async function zonedHosts(db: Db, hosts?: readonly string[]): Promise<Map<string, string>> {
  if (hosts !== undefined && hosts.length === 0) return new Map();
  let q = db
    .selectFrom('aggregate_hosts')
    .innerJoin('aggregate_metadata', 'aggregate_metadata.aggregate_id', 'aggregate_hosts.aggregate_id')
    .select(['aggregate_hosts.host as host', 'aggregate_metadata.value as zone'])
    .where('aggregate_metadata.key', '=', AZ_KEY);
  if (hosts !== undefined) q = q.where('aggregate_hosts.host', 'in', [...hosts]);
  const zones = new Map<string, Set<string>>();
  for (const r of await q.execute()) {
    let set = zones.get(r.host);
    if (!set) zones.set(r.host, (set = new Set()));
    set.add(r.zone);
  }
  return new Map([...zones].map(([host, set]) => [host, [...set].sort().join(',')]));
}

/** THE zone of a service host: its aggregate's `availability_zone`, else `defaultZone`. */
export async function zoneOfHost(db: Db, host: string, defaultZone: string): Promise<string> {
  return (await zonedHosts(db, [host])).get(host) ?? defaultZone;
}

/** Rewrites compute_nodes.availability_zone for these hosts' live nodes; returns the node names changed. */
async function syncNodeZones(trx: Db, hosts: readonly string[], defaultZone: string): Promise<string[]> {
  if (hosts.length === 0) return [];
  const zones = await zonedHosts(trx, hosts);
  const changed: string[] = [];
  for (const host of new Set(hosts)) {
    const zone = zones.get(host) ?? defaultZone;
    const rows = await trx
      .updateTable('compute_nodes')
      .set({ availability_zone: zone, updated_at: now() })
      .where('deleted', '=', 0)
      .where('service_id', 'in', (eb) => eb.selectFrom('services').select('id').where('host', '=', host).where('binary', '=', 'nova-compute'))
      .where((eb) => eb.or([eb('availability_zone', 'is', null), eb('availability_zone', '!=', zone)]))
      .returning('hypervisor_hostname')
      .execute();
    changed.push(...rows.map((r) => r.hypervisor_hostname));
  }
  return changed;
}

type Step = { readonly id: number; readonly hosts: readonly string[] } | AggregateRefusal;

/** Runs a change under the aggregates lock; a refusal returned by `f` has written nothing (checks precede writes). */
async function change(db: Db, dialect: DialectName, defaultZone: string, id: number | null, f: (trx: Db, current: Aggregate | undefined) => Promise<Step>): Promise<AggregateChange> {
  return db.transaction().execute(async (trx) => {
    await lockQuotaScope(trx, dialect, 'aggregates');
    let current: Aggregate | undefined;
    if (id !== null) {
      current = await getAggregate(trx, id);
      if (!current) return { ok: false, reason: 'not_found' } as const;
    }
    const step = await f(trx, current);
    if ('ok' in step) return step;
    const changedNodes = await syncNodeZones(trx, step.hosts, defaultZone);
    const aggregate = await getAggregate(trx, step.id);
    if (!aggregate) throw new Error(`aggregate ${step.id} vanished inside its own transaction`);
    return { ok: true, aggregate, changedNodes } as const;
  });
}

async function nameTaken(trx: Db, name: string, exceptId: number | null): Promise<boolean> {
  let q = trx.selectFrom('aggregates').select('id').where('name', '=', name);
  if (exceptId !== null) q = q.where('id', '!=', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

async function isComputeHost(trx: Db, host: string): Promise<boolean> {
  const s = await trx.selectFrom('services').select('id').where('host', '=', host).where('binary', '=', 'nova-compute').executeTakeFirst();
  return s !== undefined;
}

/**
 * Nova's is_safe_to_update_az: setting `zone` on `agg` (or adding `hosts` to it) must not
 * put a host in two zones, a zone may not be empty, and (when `checkInstances`) a zone may
 * not change under hosts that run instances.
 */
async function zoneRefusal(trx: Db, agg: Aggregate, zone: string | null | undefined, hosts: readonly string[], checkInstances: boolean): Promise<AggregateRefusal | undefined> {
  if (zone === undefined) return undefined;
  if (zone === null || zone === '') return { ok: false, reason: 'empty_zone' };
  if (hosts.length > 0) {
    const others = await trx
      .selectFrom('aggregate_hosts')
      .innerJoin('aggregate_metadata', 'aggregate_metadata.aggregate_id', 'aggregate_hosts.aggregate_id')
      .select(['aggregate_metadata.value as zone'])
      .distinct()
      .where('aggregate_metadata.key', '=', AZ_KEY)
      .where('aggregate_hosts.host', 'in', [...hosts])
      .where('aggregate_hosts.aggregate_id', '!=', agg.row.id)
      .where('aggregate_metadata.value', '!=', zone)
      .execute();
    if (others.length > 0) return { ok: false, reason: 'zone_conflict', zones: others.map((o) => o.zone).sort() };
    if (checkInstances && agg.metadata[AZ_KEY] !== zone) {
      const busy = await trx.selectFrom('instances').select('uuid').where('host', 'in', [...hosts]).where('deleted', '=', 0).executeTakeFirst();
      if (busy) return { ok: false, reason: 'instances_in_zone' };
    }
  }
  return undefined;
}

async function writeMetadata(trx: Db, id: number, metadata: Readonly<Record<string, string | null>>): Promise<void> {
  for (const [key, value] of Object.entries(metadata)) {
    if (value === null) {
      await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).where('key', '=', key).execute();
    } else {
      await trx
        .insertInto('aggregate_metadata')
        .values({ aggregate_id: id, key, value })
        .onConflict((oc) => oc.columns(['aggregate_id', 'key']).doUpdateSet({ value }))
        .execute();
    }
  }
}

/** Creates an aggregate, a zone too when `zone` is given. */
export async function createAggregate(db: Db, dialect: DialectName, defaultZone: string, a: { name: string; zone: string | null }): Promise<AggregateChange> {
  return change(db, dialect, defaultZone, null, async (trx) => {
    if (await nameTaken(trx, a.name, null)) return { ok: false, reason: 'duplicate' };
    const row = await trx.insertInto('aggregates').values({ uuid: randomUUID(), name: a.name, created_at: now(), updated_at: null }).returning('id').executeTakeFirstOrThrow();
    if (a.zone !== null) await writeMetadata(trx, row.id, { [AZ_KEY]: a.zone });
    return { id: row.id, hosts: [] };
  });
}

/** Renames and/or re-zones an aggregate (`zone` undefined: unchanged). */
export async function updateAggregate(
  db: Db,
  dialect: DialectName,
  defaultZone: string,
  id: number,
  u: { name?: string; zone?: string | null },
): Promise<AggregateChange> {
  return change(db, dialect, defaultZone, id, async (trx, agg) => {
    if (!agg) return { ok: false, reason: 'not_found' };
    if (u.name !== undefined && (await nameTaken(trx, u.name, id))) return { ok: false, reason: 'duplicate' };
    const refusal = await zoneRefusal(trx, agg, u.zone, agg.hosts, true);
    if (refusal) return refusal;
    await trx.updateTable('aggregates').set({ ...(u.name === undefined ? {} : { name: u.name }), updated_at: now() }).where('id', '=', id).execute();
    if (u.zone !== undefined && u.zone !== null) await writeMetadata(trx, id, { [AZ_KEY]: u.zone });
    return { id, hosts: agg.hosts };
  });
}

/** Sets metadata keys; a null value removes the key. */
export async function setAggregateMetadata(db: Db, dialect: DialectName, defaultZone: string, id: number, metadata: Readonly<Record<string, string | null>>): Promise<AggregateChange> {
  return change(db, dialect, defaultZone, id, async (trx, agg) => {
    if (!agg) return { ok: false, reason: 'not_found' };
    const refusal = await zoneRefusal(trx, agg, AZ_KEY in metadata ? metadata[AZ_KEY] : undefined, agg.hosts, true);
    if (refusal) return refusal;
    await writeMetadata(trx, id, metadata);
    await trx.updateTable('aggregates').set({ updated_at: now() }).where('id', '=', id).execute();
    return { id, hosts: agg.hosts };
  });
}

/** Adds a compute service host; it may not then be in two zones. */
export async function addAggregateHost(db: Db, dialect: DialectName, defaultZone: string, id: number, host: string): Promise<AggregateChange> {
  return change(db, dialect, defaultZone, id, async (trx, agg) => {
    if (!agg) return { ok: false, reason: 'not_found' };
    if (!(await isComputeHost(trx, host))) return { ok: false, reason: 'host_not_found' };
    const refusal = await zoneRefusal(trx, agg, agg.metadata[AZ_KEY], [host], false);
    if (refusal) return refusal;
    if (agg.hosts.includes(host)) return { ok: false, reason: 'host_exists' };
    await trx.insertInto('aggregate_hosts').values({ aggregate_id: id, host, created_at: now() }).execute();
    return { id, hosts: [host] };
  });
}

export async function removeAggregateHost(db: Db, dialect: DialectName, defaultZone: string, id: number, host: string): Promise<AggregateChange> {
  return change(db, dialect, defaultZone, id, async (trx, agg) => {
    if (!agg) return { ok: false, reason: 'not_found' };
    if (!(await isComputeHost(trx, host))) return { ok: false, reason: 'host_not_found' };
    if (!agg.hosts.includes(host)) return { ok: false, reason: 'host_absent' };
    await trx.deleteFrom('aggregate_hosts').where('aggregate_id', '=', id).where('host', '=', host).execute();
    return { id, hosts: [host] };
  });
}

/** Deletes an aggregate that has no hosts (so no node changes zone). */
export async function deleteAggregate(db: Db, dialect: DialectName, id: number): Promise<{ ok: true } | AggregateRefusal> {
  return db.transaction().execute(async (trx) => {
    await lockQuotaScope(trx, dialect, 'aggregates');
    const agg = await getAggregate(trx, id);
    if (!agg) return { ok: false, reason: 'not_found' } as const;
    if (agg.hosts.length > 0) return { ok: false, reason: 'not_empty' } as const;
    await trx.deleteFrom('aggregate_metadata').where('aggregate_id', '=', id).execute();
    await trx.deleteFrom('aggregates').where('id', '=', id).execute();
    return { ok: true } as const;
  });
}
