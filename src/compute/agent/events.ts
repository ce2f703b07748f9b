import type { Db } from '../../db/database.js';
import { finishActionEvent, latestInstanceAction, startActionEvent } from '../../db/repos/instances.js';

export interface ActionEvent {
  finish(result: 'Success' | 'Error', traceback?: string | null): Promise<void>;
}

const NONE: ActionEvent = { finish: async () => undefined };

/**
 * Starts the agent's event (Nova's names, e.g. compute_stop_instance) on the newest
 * instance action of that kind, which the API started. No action (an instance created
 * before actions were logged): events are skipped, the work is not.
 */
export async function beginEvent(db: Db, instanceUuid: string, action: string, event: string, host: string): Promise<ActionEvent> {
  const a = await latestInstanceAction(db, instanceUuid, action);
  if (!a) return NONE;
  const id = await startActionEvent(db, a.id, event, host);
  return { finish: (result, traceback = null) => finishActionEvent(db, id, result, traceback) };
}
