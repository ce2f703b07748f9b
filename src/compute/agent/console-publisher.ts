import { publishConsole, publishSerialConsole } from '../../db/repos/consoles.js';
import { errorMessage } from '../../errors.js';
import type { InstanceRef } from '../drivers/driver.js';
import type { AgentContext } from './context.js';

/**
 * Publishes where the instance's VNC console listens (instance_consoles), and its serial
 * console (instance_serial_consoles) when the driver offers one, so the Compute
 * API can answer os-getVNCConsole without calling a driver. Run after a spawn and after a
 * power-on (DRS may have placed the VM on another host). A driver without consoles
 * publishes nothing; a failure is logged and leaves the previous endpoint: the instance
 * itself is fine, and the next power-on publishes again.
 */
export async function refreshConsole(ctx: AgentContext, ref: InstanceRef): Promise<void> {
  const { driver } = ctx;
  if (driver.getSerialConsole !== undefined) {
    try {
      await publishSerialConsole(ctx.db, ref.uuid, await driver.getSerialConsole(ref, ctx.signal));
    } catch (err) {
      if (!ctx.signal.aborted) ctx.logger.warn({ instance: ref.uuid, err: errorMessage(err) }, 'could not publish the instance serial console');
    }
  }
  if (driver.getVncConsole === undefined) return;
  try {
    const c = await driver.getVncConsole(ref, ctx.signal);
    await publishConsole(ctx.db, ref.uuid, { protocol: 'vnc', host: c.host, port: c.port });
  } catch (err) {
    if (!ctx.signal.aborted) ctx.logger.warn({ instance: ref.uuid, err: errorMessage(err) }, 'could not publish the instance console');
  }
}
