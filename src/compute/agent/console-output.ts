import { putConsoleOutput } from '../../db/repos/instance-extras.js';
import { getInstance } from '../../db/repos/instances.js';
import { errorMessage } from '../../errors.js';
import type { AgentContext } from './context.js';
import { instanceRef } from './instance-spec.js';

/**
 * Answers os-getConsoleOutput without the API calling a driver: the API asks on the
 * `console_output` channel (`<host> <uuid>`); the agent of that host reads the log through
 * its driver, stores it (instance_console_output) and answers `done <uuid>`. A driver
 * without console logs stores the error 'not_implemented' (the API answers 501, as Nova).
 */
export function serveConsoleOutput(ctx: AgentContext): () => void {
  return ctx.bus.subscribe('console_output', (payload) => {
    const [host, uuid] = payload.split(' ');
    if (host !== ctx.host || uuid === undefined) return;
    readConsole(ctx, uuid).catch((err: unknown) => {
      if (!ctx.signal.aborted) ctx.logger.warn({ instance: uuid, err: errorMessage(err) }, 'console output failed');
    });
  });
}

async function readConsole(ctx: AgentContext, uuid: string): Promise<void> {
  const row = await getInstance(ctx.db, uuid);
  if (!row || row.host !== ctx.host) return;
  const { driver } = ctx;
  let value: { output: string | null; error: string | null };
  if (!driver.getConsoleOutput) value = { output: null, error: 'not_implemented' };
  else {
    try {
      value = { output: await driver.getConsoleOutput(instanceRef(row), ctx.signal), error: null };
    } catch (err) {
      ctx.logger.info({ instance: uuid, err: errorMessage(err) }, 'console output unavailable');
      value = { output: null, error: 'unavailable' };
    }
  }
  await putConsoleOutput(ctx.db, uuid, value);
  await ctx.bus.notify('console_output', `done ${uuid}`);
}
