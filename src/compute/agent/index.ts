import type { Config } from '../../config/options.js';
import type { Bus } from '../../db/bus.js';
import type { Db } from '../../db/database.js';
import { heartbeat, registerService } from '../../db/repos/services.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ComputeDriver, ImageCacheAgeingReport, ImageProvider } from '../drivers/driver.js';
import type { AgentContext } from './context.js';
import { destroyEvacuatedInstances } from './evacuated-cleanup.js';
import { serveConsoleOutput } from './console-output.js';
import { offloadExpiredShelved } from './shelved-offload.js';
import { ageImageCache } from './image-cache-ageing.js';
import { syncPowerStates } from './power-sync.js';
import { recover } from './recovery.js';
import { reportResources } from './resource-tracker.js';
import { TaskLoop } from './task-loop.js';
import { reclaimSoftDeleted } from './soft-delete-reclaim.js';
import { confirmOldResizes } from './unconfirmed-resizes.js';

export interface ComputeAgentDeps {
  readonly db: Db;
  readonly bus: Bus;
  readonly config: Config;
  readonly logger: Logger;
  /** An initialised driver (the caller runs init() before and close() after the agent). */
  readonly driver: ComputeDriver;
  readonly images: ImageProvider;
  /** Operations at once (default 32). */
  readonly concurrency?: number;
  /** Seconds between scans for work without a notification (default: [DEFAULT] report_interval). */
  readonly scanIntervalSeconds?: number;
}

export interface ComputeAgent {
  start(): Promise<void>;
  /** Stops taking work, aborts running driver calls, waits for them; leaves their instances for recovery. */
  stop(): Promise<void>;
  /** Runs the periodic tasks now (for tests and the CLI): resource report, power sync. */
  reportResources(): Promise<void>;
  syncPowerStates(): Promise<number>;
  /** Confirms resizes older than [DEFAULT] resize_confirm_window now (also periodic); returns how many. */
  confirmOldResizes(nowMs?: number): Promise<number>;
  /** Deletes servers SOFT_DELETED longer than [DEFAULT] reclaim_instance_interval now (also periodic); returns how many. */
  reclaimSoftDeleted(nowMs?: number): Promise<number>;
  /** One image-cache ageing pass now; undefined when the driver keeps no image cache. */
  ageImageCache(): Promise<ImageCacheAgeingReport | undefined>;
}

/**
 * The compute agent of one compute service (nova-compute, host = [DEFAULT] host).
 * start(): registers the service, reports the driver's nodes, recovers what a previous run
 * left in a transitional state, then works on instances of this host on 'instances'
 * notifications (payload = this host, or '' for everyone) and periodic scans.
 * Periodic: heartbeat + resource report every report_interval; power-state sync every
 * sync_power_state_interval (≤ 0 disables); image-cache ageing (drivers with an image
 * cache) every [image_cache] manager_interval (≤ 0 disables, as -1 and 0 do in Nova);
 * resize auto-confirm every report_interval when [DEFAULT] resize_confirm_window > 0.
 */
export function createComputeAgent(deps: ComputeAgentDeps): ComputeAgent {
  const { db, bus, config, driver, images } = deps;
  const host = config.DEFAULT.host;
  const logger = deps.logger.child({ part: 'compute', host });
  const abort = new AbortController();
  const ctx: AgentContext = { db, bus, config, logger, driver, images, host, signal: abort.signal };
  const loop = new TaskLoop(ctx, deps.concurrency ?? 32);
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: (() => void) | undefined;
  let unsubscribeConsole: (() => void) | undefined;
  let serviceId = 0;
  let started = false;

  const register = async () => {
    serviceId = (await registerService(db, { host, binary: 'nova-compute', topic: 'compute' })).id;
  };
  const periodic = (what: string, seconds: number, f: () => Promise<unknown>) => {
    if (seconds <= 0) return;
    // A pass slower than its period (an ageing pass over many datastores) is not run twice at once.
    let running = false;
    timers.push(
      setInterval(() => {
        if (running) return;
        running = true;
        f()
          .catch((err: unknown) => {
            if (!abort.signal.aborted) logger.error({ err: errorMessage(err) }, `${what} failed`);
          })
          .finally(() => (running = false));
      }, seconds * 1000),
    );
  };
  const report = async () => {
    await reportResources(ctx, serviceId);
  };

  return {
    async start() {
      if (started) return;
      started = true;
      await register();
      await report();
      await recover(ctx);
      await destroyEvacuatedInstances(ctx);
      unsubscribe = bus.subscribe('instances', (payload) => {
        if (payload === host || payload === '') loop.wake();
      });
      unsubscribeConsole = serveConsoleOutput(ctx);
      periodic('heartbeat', config.DEFAULT.report_interval, async () => {
        if (!(await heartbeat(db, serviceId))) await register();
        await report();
      });
      periodic('power state sync', config.DEFAULT.sync_power_state_interval, async () => {
        if ((await syncPowerStates(ctx)) > 0) loop.wake();
      });
      if (config.DEFAULT.shelved_offload_time > 0) {
        periodic('shelved offload', config.DEFAULT.shelved_poll_interval, async () => {
          if ((await offloadExpiredShelved(ctx)) > 0) loop.wake();
        });
      }
      if (driver.ageImageCache !== undefined) periodic('image cache ageing', config.image_cache.manager_interval, () => ageImageCache(ctx));
      if (config.DEFAULT.resize_confirm_window > 0) {
        periodic('resize auto-confirm', config.DEFAULT.report_interval, () => confirmOldResizes(ctx, config.DEFAULT.resize_confirm_window));
      }
      if (config.DEFAULT.reclaim_instance_interval > 0) {
        // Nova checks every reclaim_instance_interval; at most a minute here, so a server goes close to its time.
        periodic('soft delete reclaim', Math.min(config.DEFAULT.reclaim_instance_interval, 60), async () => {
          if ((await reclaimSoftDeleted(ctx)) > 0) loop.wake();
        });
      }
      periodic('task scan', deps.scanIntervalSeconds ?? config.DEFAULT.report_interval, async () => loop.wake());
      loop.wake();
      logger.info('compute agent started');
    },
    async stop() {
      if (!started) return;
      started = false;
      for (const t of timers.splice(0)) clearInterval(t);
      unsubscribe?.();
      unsubscribeConsole?.();
      abort.abort();
      await loop.stop();
    },
    reportResources: report,
    async syncPowerStates() {
      const n = await syncPowerStates(ctx);
      if (n > 0) loop.wake();
      return n;
    },
    ageImageCache: () => ageImageCache(ctx),
    confirmOldResizes: (nowMs?: number) => confirmOldResizes(ctx, config.DEFAULT.resize_confirm_window, nowMs),
    reclaimSoftDeleted: async (nowMs?: number) => {
      const n = await reclaimSoftDeleted(ctx, nowMs);
      if (n > 0) loop.wake();
      return n;
    },
  };
}
