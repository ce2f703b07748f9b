import { answerDiagnostics, getDiagnostics } from '../../../db/repos/diagnostics.js';
import { getInstance } from '../../../db/repos/instances.js';
import { errorMessage } from '../../../errors.js';
import type { AgentContext } from '../context.js';
import { instanceRef } from '../instance-spec.js';

/** The bus payload (channel 'instances') that tells the API an answer for this server is written. */
export function diagnosticsAnswered(uuid: string): string {
  return `diagnostics:${uuid}`;
}

/** Answers a pending diagnostics request for one server of this host with the driver's figures (or why there are none). */
export async function answerDiagnosticsRequest(ctx: AgentContext, uuid: string): Promise<void> {
  const { db, driver, signal, host } = ctx;
  const req = await getDiagnostics(db, uuid);
  if (!req || req.data !== null || req.error !== null || req.host !== host) return;
  const row = await getInstance(db, uuid);
  let answer: { data: string } | { error: string };
  if (!row || row.host !== host) answer = { error: `instance ${uuid} is not on compute host ${host}` };
  else if (driver.getDiagnostics === undefined) answer = { error: 'not_implemented' };
  else {
    try {
      answer = { data: JSON.stringify(await driver.getDiagnostics(instanceRef(row), signal)) };
    } catch (err) {
      if (signal.aborted) throw err;
      answer = { error: errorMessage(err) };
    }
  }
  await answerDiagnostics(db, uuid, req.requested_at, answer);
  await ctx.bus.notify('instances', diagnosticsAnswered(uuid));
}
