import type { ConsoleTokenRefusal } from '../db/repos/consoles.js';

/**
 * Why the proxy will not open a console, said once and shown in three places: the HTTP
 * answer to a refused websocket upgrade, the token status the console page asks for, and a
 * websocket close. Messages fit a websocket close reason (at most 123 bytes) and never
 * contain the token.
 */
export interface ConsoleRefusal {
  /** HTTP status of a refused upgrade. */
  readonly status: 400 | 401 | 403 | 404;
  /** Websocket close code (4000 + status: application-defined range). */
  readonly closeCode: number;
  /** Stable name for the page and the logs. */
  readonly reason: 'no_token' | ConsoleTokenRefusal | 'instance_gone' | 'bad_origin' | 'bad_subprotocol';
  readonly message: string;
}

const ASK = 'ask for a new console URL';

export function refusal(reason: ConsoleRefusal['reason'], detail = ''): ConsoleRefusal {
  switch (reason) {
    case 'no_token':
      return make(401, reason, `no console token in the URL (?token=...): ${ASK}`);
    case 'unknown':
      return make(401, reason, `console token unknown (never issued, or expired long ago): ${ASK}`);
    case 'expired':
      return make(401, reason, `console token expired: ${ASK}`);
    case 'used':
      return make(403, reason, `console token already used (a console URL opens one connection): ${ASK}`);
    case 'instance_gone':
      return make(404, reason, clip(`the server ${detail} no longer exists`));
    case 'bad_subprotocol':
      return make(400, reason, 'the console websocket speaks the "binary" subprotocol only (noVNC 1.0 or later)');
    case 'bad_origin':
      return make(403, reason, clip(`page origin ${detail} is not allowed to open consoles ([console] allowed_origins)`));
  }
}

function make(status: ConsoleRefusal['status'], reason: ConsoleRefusal['reason'], message: string): ConsoleRefusal {
  return { status, closeCode: 4000 + status, reason, message };
}

/** A websocket close reason is at most 123 bytes of UTF-8. */
export function clip(message: string, max = 123): string {
  if (Buffer.byteLength(message) <= max) return message;
  let s = message;
  while (Buffer.byteLength(`${s}…`) > max) s = s.slice(0, -1);
  return `${s}…`;
}
