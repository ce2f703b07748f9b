import type { FastifyInstance } from 'fastify';
import type { AuthContext, Authenticator } from '../api/context.js';
import { requireAuth } from '../api/server.js';
import type { Logger } from '../log.js';
import type { InstanceChange, InstanceFeed } from './instance-feed.js';

export interface EventStreamDeps {
  readonly feed: InstanceFeed;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
}

/** Comment lines keep proxies and the browser from timing an idle stream out. */
const KEEPALIVE_MS = 15_000;
/** How often a long-lived stream checks that its token still holds (revoked: the stream ends). */
const RECHECK_MS = 10_000;

/**
 * `GET /dashboard/events`: a Server-Sent Events stream of instance changes for the
 * dashboard. Authenticated like every API call, by the X-Auth-Token header (the page
 * reads the stream with fetch(), so the token never goes into a URL, which EventSource
 * would need). Scoped as the server list is: the caller's project; an admin who asks
 * with `?all_projects=1` gets every project's. Events:
 *   - `ready`: the stream is open (the page then loads the list: nothing is missed);
 *   - `instances`: `{"changes": [InstanceChange, ...]}`;
 *   - `expired`: the token expired or was revoked; the stream ends.
 */
export function eventStreamRoute(app: FastifyInstance, deps: EventStreamDeps): void {
  app.get<{ Querystring: { all_projects?: string } }>('/dashboard/events', async (req, reply) => {
    const auth = requireAuth(req);
    const token = String(req.headers['x-auth-token']);
    const all = auth.isAdmin && ['1', 'true', 'True'].includes(req.query.all_projects ?? '');
    const visible = (c: InstanceChange): boolean => all || c.project_id === auth.projectId;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-openstack-request-id': req.id,
    });
    let open = true;
    const send = (event: string, data: unknown): void => {
      if (open) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const unsubscribe = deps.feed.subscribe((changes) => {
      const mine = changes.filter(visible);
      if (mine.length > 0) send('instances', { changes: mine });
    });
    const keepalive = setInterval(() => open && res.write(': keepalive\n\n'), KEEPALIVE_MS);
    const recheck = setInterval(() => void stillValid(), RECHECK_MS);
    const expiry = setTimeout(() => end(true), msUntil(auth));
    const end = (expired: boolean): void => {
      if (!open) return;
      if (expired) send('expired', { message: 'The token expired or was revoked: log in again.' });
      open = false;
      cleanup();
      res.end();
    };
    const cleanup = (): void => {
      unsubscribe();
      clearInterval(keepalive);
      clearInterval(recheck);
      clearTimeout(expiry);
    };
    const stillValid = async (): Promise<void> => {
      try {
        if ((await deps.authenticator.authenticate(token)) === undefined) end(true);
      } catch (err) {
        deps.logger.warn({ err }, 'dashboard events: token check failed');
      }
    };
    res.on('close', () => {
      open = false;
      cleanup();
    });
    send('ready', { all_projects: all, project_id: auth.projectId });
    req.log.info({ all_projects: all }, 'dashboard event stream opened');
  });
}

function msUntil(auth: AuthContext): number {
  const ms = Date.parse(auth.expiresAt) - Date.now();
  // setTimeout's limit is 2^31-1 ms; a token that lives longer is rechecked anyway.
  return Math.max(0, Math.min(ms, 2 ** 31 - 1));
}
