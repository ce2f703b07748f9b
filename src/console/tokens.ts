import { consoleInstance, consumeConsoleToken, peekConsoleToken, type ConsoleAuthTokenRow, type ConsoleTokenRefusal } from '../db/repos/consoles.js';
import type { Db } from '../db/database.js';
import { VmState } from '../compute/states.js';
import { refusal, type ConsoleRefusal } from './refusals.js';

/** What a valid token opens: the instance (for the page's status line) and its VNC endpoint. */
export interface ConsoleGrant {
  readonly instanceUuid: string;
  readonly serverName: string;
  /** The compute node's hypervisor_type, to say which VNC server could not be reached. */
  readonly hypervisorType: string | null;
  /** 'novnc' (VNC) or 'serial' (a guest's serial port as a TCP stream). */
  readonly consoleType: string;
  readonly host: string;
  readonly port: number;
  readonly expiresAt: string;
  /** The redemption (token hash and when it was used), to give the token back if the console cannot be reached. */
  readonly redemption?: { readonly tokenHash: string; readonly usedAt: string };
}

/** A refusal names the server when the token was real (expired or used), so the page can say which console to ask for again. */
export type TokenOutcome = { readonly grant: ConsoleGrant } | { readonly refused: ConsoleRefusal; readonly serverName?: string };

/**
 * The token of a console URL, from `?token=` or from noVNC's `?path=` form (Nova's URLs
 * carry `path=%3Ftoken%3D<token>`, which the page also passes on as it is).
 */
export function tokenFromQuery(query: unknown): string | undefined {
  if (typeof query !== 'object' || query === null) return undefined;
  const q = query as Record<string, unknown>;
  const direct = q['token'];
  if (typeof direct === 'string' && direct !== '') return direct;
  const path = q['path'];
  if (typeof path === 'string') {
    const i = path.indexOf('?');
    const t = new URLSearchParams(i >= 0 ? path.slice(i + 1) : path).get('token');
    if (t !== null && t !== '') return t;
  }
  return undefined;
}

/** The token's state and server, without using it up (the console page asks before it connects). */
export async function inspectToken(db: Db, token: string | undefined): Promise<TokenOutcome> {
  if (token === undefined) return { refused: refusal('no_token') };
  const r = await peekConsoleToken(db, token);
  if ('refused' in r) return refused(db, r.refused, r.instanceUuid);
  return withInstance(db, r.row);
}

/**
 * Uses the token up (one guarded update: of two concurrent attempts one wins) and checks
 * that its instance still exists: a token issued before a delete opens nothing.
 */
export async function redeemToken(db: Db, token: string | undefined): Promise<TokenOutcome> {
  if (token === undefined) return { refused: refusal('no_token') };
  const r = await consumeConsoleToken(db, token);
  if ('refused' in r) return refused(db, r.refused, r.instanceUuid);
  return withInstance(db, r.row);
}

async function refused(db: Db, why: ConsoleTokenRefusal, instanceUuid: string | undefined): Promise<TokenOutcome> {
  const inst = instanceUuid === undefined ? undefined : await consoleInstance(db, instanceUuid);
  return inst === undefined ? { refused: refusal(why) } : { refused: refusal(why), serverName: inst.displayName };
}

async function withInstance(db: Db, row: ConsoleAuthTokenRow): Promise<TokenOutcome> {
  const inst = await consoleInstance(db, row.instance_uuid);
  if (inst === undefined || inst.deleted || inst.vmState === VmState.DELETED || inst.vmState === VmState.SOFT_DELETED) {
    return { refused: refusal('instance_gone', inst?.displayName ?? row.instance_uuid) };
  }
  return {
    grant: {
      instanceUuid: row.instance_uuid,
      serverName: inst.displayName,
      hypervisorType: inst.hypervisorType,
      consoleType: row.console_type,
      host: row.host,
      port: row.port,
      expiresAt: row.expires_at,
      ...(row.used_at === null ? {} : { redemption: { tokenHash: row.token_hash, usedAt: row.used_at } }),
    },
  };
}
