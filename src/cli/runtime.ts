import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../api/server.js';
import { createComputeAgent } from '../compute/agent/index.js';
import { computeRoutes, seedDefaultFlavors } from '../compute/api/index.js';
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

/** The scheduler worker (runs beside the API, like nova-scheduler and nova-conductor). */
export async function startScheduler(ctx: CliContext, h: DatabaseHandle): Promise<Running> {
  const scheduler = createScheduler({ db: h.db, bus: h.bus, config: ctx.config, logger: ctx.logger, identity: `${ctx.config.DEFAULT.host}:scheduler` });
  await scheduler.start();
  return scheduler;
}

/** The compute agent with the configured driver. */
export async function startCompute(ctx: CliContext, h: DatabaseHandle): Promise<Running> {
  const driver = createDriver(ctx);
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
function createDriver(ctx: CliContext): ComputeDriver {
  const { config } = ctx;
  switch (config.DEFAULT.compute_driver) {
    case 'fake.FakeDriver':
      return new FakeDriver({ ...config.fake, host: config.DEFAULT.host, statePath: join(config.DEFAULT.state_path, 'fake-hypervisor.json') });
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
