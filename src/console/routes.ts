import type { IncomingMessage } from 'node:http';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Config } from '../config/options.js';
import type { Db } from '../db/database.js';
import { releaseConsoleToken } from '../db/repos/consoles.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { PAGE_DIR, PAGE_FILES, PageNotBuiltError, readPageFile } from './page-files.js';
import { refusal, type ConsoleRefusal } from './refusals.js';
import { inspectToken, redeemToken, tokenFromQuery, type ConsoleGrant } from './tokens.js';
import { pipeToVnc, type PipeEnd } from './vnc-pipe.js';

export interface ConsoleRoutesDeps {
  readonly db: Db;
  /** Reads [console] (allowed_origins and the connection limits). */
  readonly config: Config;
  readonly logger: Logger;
  /** Where the built page lives (default dist/web/console). */
  readonly pageDir?: string;
}

/** Names of the page: ours, and those of Nova's noVNC URLs ([vnc] novncproxy_base_url). */
const PAGE_PATHS = ['/', '/index.html', '/vnc_auto.html', '/vnc_lite.html', '/vnc.html'];

/**
 * The console proxy (Nova's nova-novncproxy) and its page, as one Fastify plugin: the API
 * process mounts it at /console, `polyvisor novncproxy` at /.
 *
 * - `GET <prefix>/` (and vnc_auto.html, vnc_lite.html): the page, noVNC bundled.
 * - `GET <prefix>/token?token=`: what the token opens (server name) or why it is refused,
 *   without using it up: the page asks before it connects and after a refusal.
 * - websocket `<prefix>/websockify?token=` (also at `<prefix>/`, where Nova's URLs point
 *   noVNC): redeems the one-time token before the upgrade (a refusal is an HTTP 401/403 with
 *   the reason), then pipes binary frames to the VNC server's TCP port.
 */
export function consoleRoutes(deps: ConsoleRoutesDeps) {
  const { db, logger } = deps;
  const pageDir = deps.pageDir ?? PAGE_DIR;
  const limits = {
    idleMs: deps.config.console.idle_timeout * 1000,
    maxMs: deps.config.console.max_session_seconds * 1000,
    connectTimeoutMs: deps.config.console.connect_timeout * 1000,
  };
  const allowedOrigins = new Set(deps.config.console.allowed_origins.map((o) => o.toLowerCase()));
  const grants = new WeakMap<IncomingMessage, ConsoleGrant>();

  return async function consolePlugin(app: FastifyInstance): Promise<void> {
    // One websocket server per HTTP server: reuse the one registered above us, if any.
    if (!app.hasDecorator('websocketServer')) {
      await app.register(websocket, {
        options: {
          // noVNC asks for the "binary" subprotocol (older clients also offer "base64", which this proxy does not speak).
          handleProtocols: (protocols: Set<string>) => (protocols.has('binary') ? 'binary' : false),
          maxPayload: 1 << 20,
        },
      });
    }
    const prefix = app.prefix;

    const refuse = (req: FastifyRequest, reply: FastifyReply, r: ConsoleRefusal, serverName?: string): FastifyReply => {
      logger.info({ reason: r.reason, remote: req.ip }, `console refused: ${r.message}`);
      reply.status(r.status).header('cache-control', 'no-store');
      if (req.ws) {
        // A refused upgrade says why in its headers and has no body: websocket clients that
        // read on after the headers (tempest's) must see the connection end, not stray bytes.
        return reply.header('x-console-refusal', r.reason).header('x-console-refusal-message', r.message.replace(/[^\x20-\x7e]/g, '?')).send();
      }
      const server = serverName === undefined ? {} : { server: { name: serverName } };
      return reply.send({ error: { code: r.status, reason: r.reason, message: r.message, ...server } });
    };

    /** Before the upgrade: origin, then the one-time token (used up here) and its instance. */
    const preValidation = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      if (!req.ws) return;
      const origin = badOrigin(req, allowedOrigins);
      if (origin !== undefined) {
        await refuse(req, reply, refusal('bad_origin', origin));
        return;
      }
      // Checked before the token is used up: the upgrade would fail without "binary" (see handleProtocols).
      const offered = req.headers['sec-websocket-protocol'];
      if (offered !== undefined && !offered.split(',').some((p) => p.trim() === 'binary')) {
        await refuse(req, reply, refusal('bad_subprotocol'));
        return;
      }
      const outcome = await redeemToken(db, tokenFromQuery(req.query));
      if ('refused' in outcome) {
        await refuse(req, reply, outcome.refused, outcome.serverName);
        return;
      }
      grants.set(req.raw, outcome.grant);
    };

    const proxy = (socket: WebSocket, req: FastifyRequest): void => {
      const grant = grants.get(req.raw);
      if (grant === undefined) {
        socket.close(4500, 'console proxy error: no grant');
        return;
      }
      const target = { host: grant.host, port: grant.port, label: grant.consoleType === 'serial' ? "the instance's serial console" : vncLabel(grant.hypervisorType) };
      const log = logger.child({ instance: grant.instanceUuid, vnc: `${grant.host}:${grant.port}`, remote: req.ip });
      log.info('console connecting');
      const onEnd = (end: PipeEnd): void => {
        const fields = { outcome: end.outcome, detail: end.detail, connect_ms: end.connectMs, bytes_to_client: end.bytesToClient, bytes_to_server: end.bytesToServer, ms: end.durationMs };
        if (end.outcome === 'connect_failed') log.warn(fields, `console could not reach ${target.label}: ${end.detail}`);
        else log.info(fields, 'console closed');
      };
      // Nothing was opened: the link stays usable (before the browser hears why), so a retry shows this same reason.
      const giveBack = async (): Promise<void> => {
        const r = grant.redemption;
        if (r !== undefined) await releaseConsoleToken(db, r.tokenHash, r.usedAt).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'could not give the console token back'));
      };
      pipeToVnc(socket, target, limits, onEnd, giveBack);
    };

    const page = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const html = (await readPageFile(pageDir, 'index.html')).toString('utf8').replace('<!--BASE-->', `<base href="${prefix}/">`);
      return reply
        .header('content-type', PAGE_FILES['index.html'])
        .header('cache-control', 'no-store')
        // The token is in the page's URL: never send it anywhere as a referrer.
        .header('referrer-policy', 'no-referrer')
        .header('content-security-policy', "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'")
        .send(html);
    };

    app.setErrorHandler(async (err, req, reply) => {
      if (err instanceof PageNotBuiltError) {
        logger.error({ dir: err.dir }, err.message);
        return reply.status(503).header('content-type', 'text/plain; charset=utf-8').send(`${err.message}\n`);
      }
      logger.error({ err, url: req.url.split('?')[0] }, 'console route failed');
      return reply.status(500).send({ error: { code: 500, message: 'console proxy error' } });
    });

    for (const path of PAGE_PATHS) {
      if (path === '/') {
        // GET <prefix>/ is the page; a websocket upgrade of it is the proxy (Nova's URLs point noVNC there).
        app.route({ method: 'GET', url: '/', config: { public: true }, preValidation, handler: page, wsHandler: proxy });
      } else {
        app.get(path, { config: { public: true } }, page);
      }
    }
    app.route({
      method: 'GET',
      url: '/websockify',
      config: { public: true },
      preValidation,
      handler: async (_req, reply) =>
        reply.status(400).header('content-type', 'text/plain; charset=utf-8').send('This URL is the console websocket (noVNC); open the console URL in a browser.\n'),
      wsHandler: proxy,
    });
    app.get('/token', { config: { public: true } }, async (req, reply) => {
      const outcome = await inspectToken(db, tokenFromQuery(req.query));
      if ('refused' in outcome) return refuse(req, reply, outcome.refused, outcome.serverName);
      const g = outcome.grant;
      return reply.header('cache-control', 'no-store').send({ console: { server: { id: g.instanceUuid, name: g.serverName }, expires_at: g.expiresAt } });
    });
    for (const name of Object.keys(PAGE_FILES)) {
      if (name === 'index.html') continue;
      app.get(`/${name}`, { config: { public: true } }, async (_req, reply) =>
        reply.header('content-type', PAGE_FILES[name] ?? 'application/octet-stream').header('cache-control', 'no-cache').send(await readPageFile(pageDir, name)),
      );
    }
  };
}

/** Which VNC server a failure is about, in a user's words. */
export function vncLabel(hypervisorType: string | null): string {
  if (hypervisorType !== null && /vmware/i.test(hypervisorType)) return "the ESX host's VNC port";
  if (hypervisorType !== null && /qemu|kvm/i.test(hypervisorType)) return "QEMU's VNC port";
  return 'the VNC server';
}

/**
 * Cross-site websocket hijacking guard, as nova-novncproxy does: a browser sends Origin,
 * and it must name this proxy's own host (the Host header) or one of [console]
 * allowed_origins. Clients that send no Origin (not browsers) are not concerned.
 */
function badOrigin(req: FastifyRequest, allowed: ReadonlySet<string>): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined || origin === '') return undefined;
  let host: string;
  try {
    host = new URL(origin).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return origin.slice(0, 60);
  }
  const h = (req.headers.host ?? '').toLowerCase();
  const own = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.replace(/:\d+$/, '');
  return host === own || allowed.has(host) ? undefined : origin.slice(0, 60);
}
