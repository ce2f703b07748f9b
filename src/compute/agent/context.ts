import type { Config } from '../../config/options.js';
import type { Bus } from '../../db/bus.js';
import type { Db } from '../../db/database.js';
import type { Logger } from '../../log.js';
import type { ComputeDriver, ImageProvider } from '../drivers/driver.js';

/** What every part of the agent works with. `signal` aborts when the agent stops. */
export interface AgentContext {
  readonly db: Db;
  readonly bus: Bus;
  readonly config: Config;
  readonly logger: Logger;
  readonly driver: ComputeDriver;
  readonly images: ImageProvider;
  /** [DEFAULT] host: the service host that owns instances (instances.host). */
  readonly host: string;
  readonly signal: AbortSignal;
}

/** Thrown inside a transaction to undo it when a guarded update lost. */
export class GuardLost extends Error {
  constructor() {
    super('guarded update matched no row');
  }
}

/** Runs `f` in a transaction; false when it threw GuardLost (nothing was written). */
export async function guardedTransaction(db: Db, f: (trx: Db) => Promise<void>): Promise<boolean> {
  try {
    await db.transaction().execute(f);
    return true;
  } catch (err) {
    if (err instanceof GuardLost) return false;
    throw err;
  }
}
