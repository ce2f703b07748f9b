import type { FastifyInstance } from 'fastify';
import { requireAdmin } from '../../../api/policy.js';
import { ConflictError, PolyvisorError } from '../../../errors.js';
import { getDiagnostics, requestDiagnostics } from '../../../db/repos/diagnostics.js';
import { PowerState, VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf } from '../request.js';
import { visibleServer } from './lookup.js';

/** How long the API waits for the agent's answer before giving up (Nova's RPC call timeout is 60 s). */
const ANSWER_TIMEOUT_MS = 30_000;
/** A notification may be lost (it only says "look again"): the answer is re-read this often too. */
const RECHECK_MS = 250;

interface Standard {
  readonly state: string;
  readonly driver: string;
  readonly hypervisor: string | null;
  readonly hypervisor_os: string | null;
  readonly uptime: number | null;
  readonly num_cpus: number;
  readonly num_disks: number;
  readonly num_nics: number;
  readonly memory_details: { maximum: number | null; used: number | null };
  readonly cpu_details: readonly { id: number | null; time: number | null; utilisation: number | null }[];
  readonly nic_details: readonly Record<string, string | number | null>[];
  readonly disk_details: readonly { read_bytes: number | null; read_requests: number | null; write_bytes: number | null; write_requests: number | null; errors_count: number | null }[];
  readonly config_drive: boolean;
}

/** The pre-2.48 (driver-specific) shape, derived from the standard one as Nova's drivers fill it: cpuN_time, memory, vdX_*, tap_*. */
function legacy(d: Standard): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  d.cpu_details.forEach((c, i) => (out[`cpu${c.id ?? i}_time`] = c.time));
  out['memory'] = d.memory_details.maximum === null ? null : d.memory_details.maximum * 1024;
  d.disk_details.forEach((disk, i) => {
    const name = `vd${String.fromCharCode(97 + i)}`;
    out[`${name}_read`] = disk.read_bytes;
    out[`${name}_read_req`] = disk.read_requests;
    out[`${name}_write`] = disk.write_bytes;
    out[`${name}_write_req`] = disk.write_requests;
    out[`${name}_errors`] = disk.errors_count;
  });
  d.nic_details.forEach((n, i) => {
    const name = `tap${i}`;
    for (const [k, v] of Object.entries(n)) if (k !== 'mac_address' && typeof v === 'number') out[`${name}_${k}`] = v;
  });
  return out;
}

/**
 * `GET /servers/{id}/diagnostics` (admin): the owning agent asks its driver (the API never
 * calls one): the request is written to the database, the agent answers there and says so
 * on the bus. Nova's standard format from 2.48, the driver-specific one before. A running
 * server only (409 otherwise, as Nova); a driver without diagnostics is Nova's 501.
 */
export function diagnosticsRoute(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/servers/:server_id/diagnostics', async (req) => {
    requireAdmin(callerOf(req), 'os_compute_api:os-server-diagnostics');
    const row = await visibleServer(req, deps);
    if (row.host === null || row.vm_state === VmState.BUILDING) throw new ConflictError(`Cannot 'get_diagnostics' instance ${row.uuid} while it is in vm_state ${row.vm_state}`);
    if (row.power_state !== PowerState.RUNNING) throw new ConflictError(`Cannot 'get_diagnostics' instance ${row.uuid} while it is in power_state ${row.power_state}`);
    const requestedAt = await requestDiagnostics(deps.db, row.uuid, row.host);
    const answer = await waitForAnswer(deps, row.uuid, requestedAt, row.host);
    if (answer.error !== null) {
      if (answer.error === 'not_implemented') throw new PolyvisorError('not_implemented', 'Unable to get diagnostics, functionality not implemented');
      throw new ConflictError(`Unable to get diagnostics of instance ${row.uuid}: ${answer.error}`);
    }
    const data = JSON.parse(answer.data ?? '{}') as Standard;
    return atLeast(req, 2, 48) ? data : legacy(data);
  });
}

async function waitForAnswer(deps: ComputeDeps, uuid: string, requestedAt: string, host: string): Promise<{ data: string | null; error: string | null }> {
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  let wake: (() => void) | undefined;
  const unsubscribe = deps.bus.subscribe('instances', (payload) => {
    if (payload === `diagnostics:${uuid}`) wake?.();
  });
  try {
    await deps.bus.notify('instances', host);
    for (;;) {
      const row = await getDiagnostics(deps.db, uuid);
      if (row && row.requested_at === requestedAt && (row.data !== null || row.error !== null)) return row;
      if (Date.now() > deadline) throw new PolyvisorError('service_unavailable', `Compute host ${host} did not answer the diagnostics request in time.`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, RECHECK_MS).unref();
      });
    }
  } finally {
    unsubscribe();
  }
}
