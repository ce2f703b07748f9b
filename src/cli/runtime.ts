import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../api/server.js';
import { createComputeAgent } from '../compute/agent/index.js';
import { computeRoutes, seedDefaultFlavors } from '../compute/api/index.js';
import { consoleRoutes, startStandaloneConsoleProxy } from '../console/index.js';
import type { ComputeDriver } from '../compute/drivers/driver.js';
import { FakeDriver } from '../compute/drivers/fake/index.js';
import { LibvirtDriver, libvirtOptionsFromConfig } from '../compute/drivers/libvirt/index.js';
import { VmwareDriver, vmwareOptionsFromConfig } from '../compute/drivers/vmware/index.js';
import { createScheduler } from '../compute/scheduler/index.js';
import type { DatabaseHandle } from '../db/database.js';
import { ConfigError } from '../errors.js';
import { createAuthenticator, identityRoutes } from '../identity/index.js';
import { networkRoutes } from '../network/api/routes.js';
import { createImageProvider, createImageStore, imageRoutes } from '../image/index.js';
import { webRoutes } from '../web/index.js';
import type { CliContext } from './context.js';

/** A running part of Polyvisor that can be stopped. */
export interface Running {
  stop(): Promise<void>;
}

export interface RunningApi extends Running {
  /** Base URL clients use, e.g. http://127.0.0.1:8774 */
  readonly url: string;
  readonly app: FastifyInstance;
}

/** The API process: identity, compute and image on one port. */
export async function startApi(ctx: CliContext, h: DatabaseHandle): Promise<RunningApi> {
  const { config, logger } = ctx;
  const authenticator = createAuthenticator(h.db, config, logger);
  const app = createApiServer({ logger, authenticator, maxBodySize: config.api.max_request_body_size });
  let base = config.api.public_endpoint ?? '';
  const publicUrl = () => base;
  const store = createImageStore(config);
  await app.register(identityRoutes({ db: h.db, config, logger, publicUrl, authenticator }), { prefix: '/identity' });
  await app.register(computeRoutes({ db: h.db, bus: h.bus, config, logger, dialect: h.dialect, publicUrl, removeImageData: (location) => store.delete(location) }), { prefix: '/compute' });
  await app.register(networkRoutes({ publicUrl }), { prefix: '/network' });
  await app.register(imageRoutes({ db: h.db, config, logger, store, publicUrl }), { prefix: '/image' });
  // The console proxy and page (/console/): the default [vnc] novncproxy_base_url points here.
  await app.register(consoleRoutes({ db: h.db, config, logger }), { prefix: '/console' });
  // The dashboard (/dashboard/, with / redirecting to it) and its live instance stream.
  await app.register(webRoutes({ db: h.db, bus: h.bus, logger, authenticator }));
  await seedDefaultFlavors(h.db);
  await app.listen({ host: config.api.listen, port: config.api.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.api.port;
  const host = config.api.listen === '0.0.0.0' || config.api.listen === '::' ? config.DEFAULT.my_ip : config.api.listen;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (base === '') base = url;
  logger.info({ url: base }, 'API listening');
  return { url: base, app, stop: () => app.close() };
}

/** `polyvisor novncproxy`: the console proxy alone, on [vnc] novncproxy_host:novncproxy_port. */
export async function startNovncProxy(ctx: CliContext, h: DatabaseHandle): Promise<Running & { readonly url: string }> {
  const { config, logger } = ctx;
  const { app, url } = await startStandaloneConsoleProxy({ db: h.db, config, logger }, { host: config.vnc.novncproxy_host, port: config.vnc.novncproxy_port });
  logger.info({ url }, 'console proxy listening');
  return { url, stop: () => app.close() };
}

/** The scheduler worker (runs beside the API, like nova-scheduler and nova-conductor). */
export async function startScheduler(ctx: CliContext, h: DatabaseHandle): Promise<Running> {
  const scheduler = createScheduler({ db: h.db, bus: h.bus, config: ctx.config, logger: ctx.logger, identity: `${ctx.config.DEFAULT.host}:scheduler` });
  await scheduler.start();
  return scheduler;
}

/**
 * The compute agent with the configured driver. With the fake driver and `[fake] hosts` > 1,
 * that many compute services run in this process (hosts `<host>`, `<host>-2`, ...), each
 * with its own fake hypervisor: what moves between hosts (migrations, evacuation) needs.
 */
export async function startCompute(ctx: CliContext, h: DatabaseHandle): Promise<Running> {
  const { config } = ctx;
  const extra = config.DEFAULT.compute_driver === 'fake.FakeDriver' ? config.fake.hosts - 1 : 0;
  const agents = [await startOneCompute(ctx, h)];
  for (let i = 2; i <= extra + 1; i++) {
    const host = `${config.DEFAULT.host}-${i}`;
    agents.push(await startOneCompute({ ...ctx, config: { ...config, DEFAULT: { ...config.DEFAULT, host } } }, h, `fake-hypervisor-${i}.json`));
  }
  return {
    async stop() {
      for (const a of agents.reverse()) await a.stop();
    },
  };
}

async function startOneCompute(ctx: CliContext, h: DatabaseHandle, fakeStateFile?: string): Promise<Running> {
  const driver = createDriver(ctx, fakeStateFile);
  await driver.init(AbortSignal.timeout(120_000));
  // The driver's preferred disk formats: an image stored in another one is served as a variant.
  const images = createImageProvider(h.db, createImageStore(ctx.config), { formats: driver.capabilities.diskFormats });
  const agent = createComputeAgent({ db: h.db, bus: h.bus, config: ctx.config, logger: ctx.logger, driver, images });
  await agent.start();
  return {
    async stop() {
      await agent.stop();
      await driver.close();
    },
  };
}

/** The composition root's one switch on compute_driver. */
function createDriver(ctx: CliContext, fakeStateFile = 'fake-hypervisor.json'): ComputeDriver {
  const { config } = ctx;
  switch (config.DEFAULT.compute_driver) {
    case 'fake.FakeDriver':
      return new FakeDriver({ ...config.fake, host: config.DEFAULT.host, statePath: join(config.DEFAULT.state_path, fakeStateFile) });
    case 'vmwareapi.VMwareVCDriver':
      // Reads [vmware], [DEFAULT] (flat_network_bridge, vlan_interface, my_ip) and [image_cache].
      return new VmwareDriver(vmwareOptionsFromConfig(config), ctx.logger);
    case 'libvirt.LibvirtDriver':
      // Reads [libvirt], [DEFAULT] (instances_path, flat_network_bridge, host, my_ip), [vnc] and [image_cache].
      return new LibvirtDriver(libvirtOptionsFromConfig(config), ctx.logger);
    default:
      throw new ConfigError(
        `[DEFAULT] compute_driver = ${config.DEFAULT.compute_driver} is not available in this build yet; use fake.FakeDriver`,
        { section: 'DEFAULT', option: 'compute_driver' },
      );
  }
}
