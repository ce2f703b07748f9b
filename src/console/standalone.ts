import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { consoleRoutes, type ConsoleRoutesDeps } from './routes.js';

/**
 * `polyvisor novncproxy`: the console proxy and page on a port of their own ([vnc]
 * novncproxy_host, novncproxy_port: 6080), for deployments that run it apart from the API
 * as Nova runs nova-novncproxy. Same plugin as the API's /console, mounted at /: set
 * [vnc] novncproxy_base_url = http://<this host>:6080/vnc_auto.html on the API.
 */
export async function startStandaloneConsoleProxy(deps: ConsoleRoutesDeps, listen: { host: string; port: number }): Promise<{ app: FastifyInstance; url: string }> {
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }), genReqId: () => `req-${randomUUID()}`, forceCloseConnections: true });
  await app.register(consoleRoutes(deps));
  await app.listen(listen);
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : listen.port;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}
