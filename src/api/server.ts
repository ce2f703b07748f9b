import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuthContext, Authenticator } from './context.js';
import { faultBody, faultFor, familyOf } from './faults.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every route not marked `config: { public: true }`. */
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** No token needed (version documents, POST /v3/auth/tokens). */
    public?: boolean;
  }
}

export interface ApiServerOptions {
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  /** Largest request body, in bytes ([api] max_request_body_size). Uploads set their own limit per route. */
  readonly maxBodySize: number;
}

/**
 * One HTTP server for every API family (identity under /identity, compute under
 * /compute, image under /image), with what they share: request ids, token
 * authentication, OpenStack fault bodies, body limits. Routes are added by the
 * composition root with `server.register(plugin, { prefix })`.
 */
export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = options.logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: options.maxBodySize,
    genReqId: () => `req-${randomUUID()}`,
    // One log line per request, written by our onResponse hook (with the status and duration).
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1000 },
    ajv: {
      // Bodies are validated as OpenStack does: no type coercion, unknown fields are errors.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
  });

  app.decorateRequest('auth', null);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-openstack-request-id', req.id);
    if (req.url.startsWith('/compute')) reply.header('x-compute-request-id', req.id);
    if (req.routeOptions.config.public === true) return;
    if (req.routeOptions.url === undefined) return; // 404 handler: no auth needed to learn a path does not exist
    const token = headerValue(req, 'x-auth-token');
    if (token === undefined) throw new UnauthorizedError();
    const ctx = await options.authenticator.authenticate(token);
    if (!ctx) throw new UnauthorizedError('The request you have made requires authentication: the token is invalid, expired or revoked.');
    req.auth = ctx;
  });

  // Clients (tempest, keystoneauth) send `Content-Type: application/json` on every request,
  // bodyless ones included (DELETE, Glance's image actions and tag PUTs); OpenStack services
  // accept that, so an empty body is no body at all rather than malformed JSON. A route
  // that needs a body still refuses its absence (schema or parser: 400 naming it).
  app.addHook('preParsing', async (req) => {
    if (req.headers['transfer-encoding'] !== undefined) return;
    const length = req.headers['content-length'];
    if (length === undefined || length === '0') delete req.headers['content-type'];
  });

  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      { method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  app.setErrorHandler(async (err: FastifyError | Error, req, reply) => {
    const family = familyOf(req.url);
    const fe = err as FastifyError;
    // Read (and discard) an oversized body before answering: a client still sending it
    // would otherwise see the connection reset instead of our 413.
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await drain(req.raw, DRAIN_LIMIT_BYTES);
    if (fe.validation) {
      const first = fe.validation[0];
      const where = first?.instancePath ? ` at ${first.instancePath}` : '';
      const fault = faultBody(400, `Invalid input for field/attribute${where}: ${first?.message ?? fe.message}`, family);
      return reply.status(fault.status).send(fault.body);
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode < 500 && fe.code?.startsWith('FST_')) {
      const message =
        fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `Request is too large: the limit is ${options.maxBodySize} bytes.`
          : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? `Unsupported Content-Type: ${req.headers['content-type'] ?? '(none)'}`
            : fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
              ? 'The request body is empty; a JSON document was expected.'
              : `Malformed request body: ${fe.message}`;
      const fault = faultBody(fe.statusCode, message, family);
      return reply.status(fault.status).send(fault.body);
    }
    const fault = faultFor(err, family);
    if (fault.status >= 500) req.log.error({ err }, 'request failed');
    return reply.status(fault.status).send(fault.body);
  });

  app.setNotFoundHandler((req, reply) => {
    const fault = faultBody(404, `The resource could not be found: ${req.method} ${req.url.split('?')[0]}`, familyOf(req.url));
    return reply.status(404).send(fault.body);
  });

  return app;
}

/** Beyond this much, an oversized body is not worth reading: the connection is closed instead. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

async function drain(stream: NodeJS.ReadableStream & { readableEnded?: boolean }, limit: number): Promise<void> {
  if (stream.readableEnded) return;
  await new Promise<void>((resolve) => {
    let seen = 0;
    const finish = () => {
      stream.removeListener('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) finish();
    };
    stream.on('data', onData);
    stream.once('end', finish);
    stream.once('error', finish);
    stream.once('close', finish);
    stream.resume();
  });
}

function headerValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The caller's auth context; throws 401 if a public route asks for it without a token. */
export function requireAuth(req: FastifyRequest): AuthContext {
  if (!req.auth) throw new UnauthorizedError();
  return req.auth;
}
