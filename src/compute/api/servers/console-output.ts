import { getConsoleOutput } from '../../../db/repos/instance-extras.js';
import type { InstanceRow } from '../../../db/schema.js';
import { ConflictError, InvalidInputError, PolyvisorError } from '../../../errors.js';
import { VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';

/** How long the API waits for the owning agent to read a console log. */
const ANSWER_TIMEOUT_MS = 10_000;

/** Nova's `length`: an integer, a string of digits, or null; -1 or null means the whole log. */
function parseLength(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new InvalidInputError(`Invalid input for field/attribute length. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'integer', 'string', 'null'`);
  if (n < -1) throw new InvalidInputError(`Invalid input for field/attribute length. Value: ${n}. ${n} is less than the minimum of -1`);
  return n === -1 ? null : n;
}

/** The last `length` lines, as Nova's compute manager tails the log (0 lines: empty). */
export function tailLog(log: string, length: number | null): string {
  if (length === null) return log;
  if (length === 0) return '';
  return log.split('\n').slice(-length).join('\n');
}

/**
 * os-getConsoleOutput: asks the owning agent (bus channel `console_output`) to read the
 * log through its driver into instance_console_output, waits for its answer, and returns
 * the tail. Nova's answers: 409 when the server has no host (building, offloaded), 501 when
 * the driver has no console log, 404 when the guest has none available right now.
 */
export async function consoleOutput(deps: ComputeDeps, row: InstanceRow, arg: Record<string, unknown>): Promise<{ output: string }> {
  const length = parseLength(arg['length']);
  const host = row.host;
  if (host === null || row.vm_state === VmState.BUILDING) throw new ConflictError(`Instance ${row.uuid} is not ready`);
  const answered = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(false);
    }, ANSWER_TIMEOUT_MS);
    const off = deps.bus.subscribe('console_output', (payload) => {
      if (payload !== `done ${row.uuid}`) return;
      clearTimeout(timer);
      off();
      resolve(true);
    });
  });
  await deps.bus.notify('console_output', `${host} ${row.uuid}`);
  if (!(await answered)) throw new ConflictError(`The compute service of host ${host} did not answer for the console output of instance ${row.uuid}; try again.`);
  const stored = await getConsoleOutput(deps.db, row.uuid);
  if (stored?.error === 'not_implemented') throw new PolyvisorError('not_implemented', 'Unable to get console log, functionality not implemented');
  if (!stored || stored.output === null) throw new PolyvisorError('not_found', 'Guest does not have a console available.');
  return { output: tailLog(stored.output, length) };
}
