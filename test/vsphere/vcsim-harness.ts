import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { startVcsim, type Vcsim, type VcsimOptions } from '../../src/vsphere/sim/vcsim.js';

export type { Vcsim, VcsimOptions };

export interface TestVcsim extends Vcsim {
  /** The harness control endpoint (/_harness/...) base. */
  readonly controlUrl: string;
  /** Makes the next `count` calls of `method` fail with the vim fault `fault` (fields as govmomi's Go names). */
  injectFault(method: string, fault: string, options?: { message?: string; fields?: Record<string, unknown>; count?: number }): Promise<void>;
  clearFaults(): Promise<void>;
  /** Keeps `method` tasks (or "*": all) running for `ms` before they complete. */
  setTaskDelay(method: string, ms: number): Promise<void>;
  /** Holds `method` calls `ms` before the simulator sees them. */
  setMethodDelay(method: string, ms: number): Promise<void>;
  /** Resolves once `n` calls of `method` are being served. */
  waitInflight(method: string, n: number): Promise<void>;
}

/**
 * Starts the real vcsim harness for a test file (HTTPS with its own CA by default, the
 * control endpoints on). Call stop() in `after`.
 */
export async function startTestVcsim(options: VcsimOptions = {}): Promise<TestVcsim> {
  const sim = await startVcsim({ control: true, ...options });
  const base = new URL(sim.url);
  const controlUrl = `${base.origin}/_harness`;
  const ca = sim.caFile === undefined ? undefined : await readFile(sim.caFile);
  const control = (path: string, init: { method: string; body?: unknown }): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const send = base.protocol === 'https:' ? https.request : http.request;
      const req = send(`${controlUrl}${path}`, { method: init.method, ...(ca === undefined ? {} : { ca }), headers: { 'Content-Type': 'application/json' } }, (res: http.IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => (res.statusCode !== undefined && res.statusCode < 300 ? resolve() : reject(new Error(`harness ${path}: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      req.end(init.body === undefined ? undefined : JSON.stringify(init.body));
    });
  return {
    ...sim,
    controlUrl,
    injectFault: (method, fault, o = {}) => control('/faults', { method: 'POST', body: { method, fault, message: o.message ?? '', fields: o.fields ?? {}, count: o.count ?? 1 } }),
    clearFaults: () => control('/faults', { method: 'DELETE' }),
    setTaskDelay: (method, ms) => control('/task-delay', { method: 'POST', body: { method, ms } }),
    setMethodDelay: (method, ms) => control('/method-delay', { method: 'POST', body: { method, ms } }),
    waitInflight: (method, n) => control(`/wait-inflight?method=${encodeURIComponent(method)}&n=${n}`, { method: 'GET' }),
  };
}
