import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import { getConsole, getSerialConsole, issueConsoleToken } from '../../../db/repos/consoles.js';
import type { InstanceRow } from '../../../db/schema.js';
import { ConflictError, InvalidInputError, PolyvisorError } from '../../../errors.js';
import { VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf } from '../request.js';
import { visibleServer } from './lookup.js';

/**
 * VNC consoles without the API calling a driver: the compute agent publishes each
 * instance's console endpoint (instance_consoles) when it spawns or powers it on; a console
 * request issues a token for that endpoint (console_auth_tokens, sha256 only, valid
 * [consoleauth] token_ttl seconds and for one connection) and answers the proxy URL
 * carrying it, as Nova does: `<novncproxy_base_url>?path=%3Ftoken%3D<token>`. The console
 * proxy (src/console) redeems the token for host and port (consumeConsoleToken).
 *
 * Unlike Nova, whose default base URL is http://127.0.0.1:6080/vnc_auto.html (a separate
 * nova-novncproxy), the default is the console page the API process itself serves, on its
 * public URL, so a console URL works without running anything else.
 */
const CONSOLE_PAGE_PATH = '/console/';
const VNC_TYPES = ['novnc', 'xvpvnc'];
const ACTION = 'os-getVNCConsole';
const SERIAL_ACTION = 'os-getSerialConsole';
const SERIAL_TYPES = ['serial'];

/** True when the action body asks for a VNC or serial console (handled here, not by the power actions). */
export function isConsoleAction(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 1 && (ACTION in body || SERIAL_ACTION in body);
}

/**
 * `POST /servers/{id}/action {"os-getVNCConsole": {"type": "novnc"}}` → 200 {"console": {type, url}};
 * `{"os-getSerialConsole": {"type": "serial"}}` likewise, with a websocket URL.
 */
export async function consoleAction(req: FastifyRequest, reply: FastifyReply, deps: ComputeDeps): Promise<FastifyReply> {
  const row = await visibleServer(req, deps);
  requireWriter(callerOf(req), 'os_compute_api:os-remote-consoles');
  const body = req.body as Record<string, unknown>;
  if (SERIAL_ACTION in body) {
    const type = parseType(body[SERIAL_ACTION], SERIAL_ACTION, SERIAL_TYPES);
    return reply.status(200).send({ console: { type, url: await serialUrl(deps, row, type) } });
  }
  const type = parseType(body[ACTION], ACTION);
  const url = await consoleUrl(deps, row, type);
  return reply.status(200).send({ console: { type, url } });
}

/** `POST /servers/{id}/remote-consoles` (microversion 2.6+; before it the URL does not exist, as in Nova). */
export function remoteConsoleRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.post('/servers/:server_id/remote-consoles', async (req, reply) => {
    if (!atLeast(req, 2, 6)) throw new PolyvisorError('not_found', 'The resource could not be found.');
    const row = await visibleServer(req, deps);
    requireWriter(callerOf(req), 'os_compute_api:os-remote-consoles');
    const body = req.body;
    const rc = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)['remote_console'] : undefined;
    if (typeof rc !== 'object' || rc === null || Array.isArray(rc)) throw new InvalidInputError("Invalid input for field/attribute remote_console. 'remote_console' is a required property");
    const r = rc as Record<string, unknown>;
    const extra = Object.keys(r).find((k) => k !== 'protocol' && k !== 'type');
    if (extra !== undefined) throw new InvalidInputError(`Invalid input for field/attribute remote_console. Additional properties are not allowed ('${extra}' was unexpected)`);
    if (r['protocol'] === 'serial') {
      const type = parseType({ type: r['type'] }, 'remote_console', SERIAL_TYPES);
      return reply.status(200).send({ remote_console: { protocol: 'serial', type, url: await serialUrl(deps, row, type) } });
    }
    if (r['protocol'] !== 'vnc') {
      throw new InvalidInputError(`Invalid input for field/attribute protocol. Value: ${JSON.stringify(r['protocol'] ?? null)}. Only the 'vnc' and 'serial' protocols are available on this cloud.`);
    }
    const type = parseType({ type: r['type'] }, 'remote_console');
    const url = await consoleUrl(deps, row, type);
    return reply.status(200).send({ remote_console: { protocol: 'vnc', type, url } });
  });
}

function parseType(arg: unknown, field: string, types: readonly string[] = VNC_TYPES): string {
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) throw new InvalidInputError(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(arg ?? null)}. is not of type 'object'`);
  const a = arg as Record<string, unknown>;
  const extra = Object.keys(a).find((k) => k !== 'type');
  if (extra !== undefined) throw new InvalidInputError(`Invalid input for field/attribute ${field}. Additional properties are not allowed ('${extra}' was unexpected)`);
  const type = a['type'];
  if (type === undefined) throw new InvalidInputError(`Invalid input for field/attribute ${field}. 'type' is a required property`);
  if (typeof type !== 'string' || !types.includes(type)) {
    // jsonschema's wording, with Python's repr of the value, as Nova answers it.
    const shown = typeof type === 'string' ? `'${type}'` : JSON.stringify(type);
    throw new InvalidInputError(`Invalid input for field/attribute type. Value: ${shown}. ${shown} is not one of [${types.map((v) => `'${v}'`).join(', ')}]`);
  }
  return type;
}

async function consoleUrl(deps: ComputeDeps, row: InstanceRow, type: string): Promise<string> {
  const { config } = deps;
  if (!config.vnc.enabled) throw new InvalidInputError(`Unavailable console type ${type}.`);
  if (type !== 'novnc') throw new InvalidInputError(`Unavailable console type ${type}.`);
  if (row.vm_state !== VmState.ACTIVE || row.host === null) throw new ConflictError(`Instance ${row.uuid} is not ready`);
  const endpoint = await getConsole(deps.db, row.uuid);
  if (endpoint === undefined) throw new PolyvisorError('not_implemented', 'Unable to get vnc console, functionality not implemented');
  const token = randomBytes(24).toString('base64url');
  await issueConsoleToken(deps.db, token, { instanceUuid: row.uuid, consoleType: type, host: endpoint.host, port: endpoint.port, ttlSeconds: config.consoleauth.token_ttl });
  const configured = config.vnc.novncproxy_base_url ?? config.DEFAULT.novncproxy_base_url;
  // noVNC's `path` is the websocket's path from the host's root: a separate proxy (Nova's
  // layout) takes it at `/`, the API process's own proxy at /console/websockify. Clients
  // that follow it (noVNC, tempest's websocket client) reach the right place either way.
  const base = configured ?? `${deps.publicUrl()}${CONSOLE_PAGE_PATH}`;
  const wsPath = configured === null ? `${CONSOLE_PAGE_PATH.slice(1)}websockify?token=${token}` : `?token=${token}`;
  return `${base}${base.includes('?') ? '&' : '?'}path=${encodeURIComponent(wsPath)}`;
}

/**
 * A serial console's websocket URL, as Nova's [serial_console] base_url gives it
 * (`<base_url>?token=…`) when a separate proxy is configured; by default the API process's
 * own console proxy, which pipes the websocket's binary frames to the TCP endpoint the
 * compute agent published (instance_serial_consoles): `ws(s)://<public host>/console/websockify`
 * with the token in noVNC's `path=` form, which tempest's websocket client follows and any
 * websocket client can open as it is.
 */
async function serialUrl(deps: ComputeDeps, row: InstanceRow, type: string): Promise<string> {
  const { config } = deps;
  if (!config.serial_console.enabled) throw new InvalidInputError(`Unavailable console type ${type}.`);
  if (row.vm_state !== VmState.ACTIVE || row.host === null) throw new ConflictError(`Instance ${row.uuid} is not ready`);
  const endpoint = await getSerialConsole(deps.db, row.uuid);
  if (endpoint === undefined) throw new PolyvisorError('not_implemented', 'Unable to get serial console, functionality not implemented');
  const token = randomBytes(24).toString('base64url');
  await issueConsoleToken(deps.db, token, { instanceUuid: row.uuid, consoleType: type, host: endpoint.host, port: endpoint.port, ttlSeconds: config.consoleauth.token_ttl });
  const base = config.serial_console.base_url;
  if (base !== null) return `${base}${base.includes('?') ? '&' : '?'}token=${token}`;
  const ws = deps.publicUrl().replace(/^http/, 'ws').replace(/\/+$/, '');
  return `${ws}${CONSOLE_PAGE_PATH}websockify?path=${encodeURIComponent(`${CONSOLE_PAGE_PATH.slice(1)}websockify?token=${token}`)}`;
}
