import { isMoref, morefKey, type ManagedObjectReference, type VirtualMachineRelocateSpec } from '../../../vsphere/index.js';
import { DriverError } from '../driver.js';
import type { VmwareContext } from './context.js';
import { clusterOfNode } from './move-record.js';
import { usableDatastores } from './resources.js';
import { pickDatastore } from './spawn.js';
import { readTopology, type ComputeTarget } from './topology.js';

/**
 * The cluster of a destination node: this driver's own target when it serves the node
 * (several cluster_name), else read from vCenter in one round trip (a node of another
 * compute service on the same vCenter).
 */
export async function destinationTarget(ctx: VmwareContext, node: string, signal: AbortSignal): Promise<ComputeTarget> {
  clusterOfNode(ctx, node);
  try {
    return ctx.target(node);
  } catch {
    const suffix = ctx.client.content.about.instanceUuid ?? ctx.options.hostIp;
    const topology = await readTopology(ctx.client, suffix, { signal, maxObjects: ctx.options.maximumObjects });
    const t = [...topology.clusters, ...topology.standalone].find((c) => c.nodename === node);
    if (t === undefined) throw new DriverError('node_not_found', `destination node ${node} is not a cluster of this vCenter`);
    return t;
  }
}

/** Is the VM already in this cluster (its resource pool is the cluster's, or it runs on one of its hosts)? */
export function inCluster(target: ComputeTarget, pool: unknown, host: unknown): boolean {
  if (isMoref(pool) && morefKey(pool) === morefKey(target.resourcePool)) return true;
  return isMoref(host) && target.hosts.some((h) => morefKey(h.ref) === morefKey(host));
}

/**
 * Where a VM goes in `target`: the cluster's resource pool and a usable host (named, so that
 * a cluster without fully automated DRS takes the VM too; DRS may balance it later), and a
 * datastore only when the VM's current one is not usable there (datastore_regex and
 * accessibility): a move that can keep its disks does not copy them.
 */
export function relocateSpecFor(ctx: VmwareContext, target: ComputeTarget, currentDatastore: ManagedObjectReference | undefined): { spec: VirtualMachineRelocateSpec; datastoreName: string | undefined } {
  const host = target.hosts.find((h) => h.usable);
  if (host === undefined) throw new DriverError('no_usable_host', `cluster ${target.name} has no connected host outside maintenance mode`, { retryable: true });
  const usable = usableDatastores(target, ctx.options.datastoreRegex);
  const keep = currentDatastore === undefined ? undefined : usable.find((d) => morefKey(d.ref) === morefKey(currentDatastore));
  if (keep !== undefined) return { spec: { pool: target.resourcePool, host: host.ref }, datastoreName: keep.name };
  const ds = pickDatastore(target, ctx.options.datastoreRegex);
  return { spec: { pool: target.resourcePool, host: host.ref, datastore: ds.ref }, datastoreName: ds.name };
}
