import type { Config } from '../../config/options.js';
import type { Bus } from '../../db/bus.js';
import type { Db } from '../../db/database.js';
import { heartbeat, registerService } from '../../db/repos/services.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { filtersFromConfig } from './filters/index.js';
import { HostCache } from './host-cache.js';
import { HostSelector } from './host-selector.js';
import { SchedulerWorker } from './scheduler-worker.js';
import { weighersFromConfig } from './weighers/index.js';

export interface SchedulerDeps {
  readonly db: Db;
  readonly bus: Bus;
  readonly config: Config;
  readonly logger: Logger;
  /** Who holds scheduling leases, e.g. `${host}:scheduler`; stable across restarts, unique per process. */
  readonly identity: string;
}

export interface Scheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** How often the scheduler looks for waiting instances without being told (lost notifications, expired leases). */
const SCAN_INTERVAL_MS = 5_000;

/**
 * The scheduler worker (nova-scheduler + the conductor's build step): places instances in
 * task_state 'scheduling' on a compute node with filters, weighers and an atomic claim,
 * then wakes the node's agent.
 *
 * Reads: [scheduler] max_attempts, periodic_task_interval; [filter_scheduler]
 * enabled_filters, weight_classes, *_weight_multiplier, host_subset_size; [DEFAULT] host
 * (its 'nova-scheduler' service), report_interval (heartbeats), service_down_time,
 * default_availability_zone, default_schedule_zone. Wakes on bus 'scheduler'; refreshes one
 * node on bus 'nodes'. Bad filter or weigher names throw a ConfigError here, before start.
 */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { db, bus, config, identity } = deps;
  const logger = deps.logger.child({ part: 'scheduler', identity });
  const cache = new HostCache(db, config.DEFAULT.service_down_time);
  const selector = new HostSelector(filtersFromConfig(config.filter_scheduler.enabled_filters), weighersFromConfig(config.filter_scheduler), {
    defaultAvailabilityZone: config.DEFAULT.default_availability_zone,
  });
  const worker = new SchedulerWorker({
    db,
    bus,
    logger,
    identity,
    cache,
    selector,
    maxAttempts: config.scheduler.max_attempts,
    hostSubsetSize: config.filter_scheduler.host_subset_size,
    defaultScheduleZone: config.DEFAULT.default_schedule_zone,
    defaultAvailabilityZone: config.DEFAULT.default_availability_zone,
    schedulerHost: config.DEFAULT.host,
    softGroupWeights: {
      softAffinity: config.filter_scheduler.soft_affinity_weight_multiplier,
      softAntiAffinity: config.filter_scheduler.soft_anti_affinity_weight_multiplier,
    },
  });
  const timers: NodeJS.Timeout[] = [];
  const unsubscribe: (() => void)[] = [];
  let serviceId = 0;
  let started = false;

  const safely = (what: string, f: () => Promise<unknown>) => () => {
    f().catch((err: unknown) => logger.error({ err: errorMessage(err) }, `${what} failed`));
  };
  const register = async () => {
    serviceId = (await registerService(db, { host: config.DEFAULT.host, binary: 'nova-scheduler', topic: 'scheduler' })).id;
  };

  return {
    async start() {
      if (started) return;
      started = true;
      await register();
      await cache.reload();
      unsubscribe.push(bus.subscribe('scheduler', safely('placement', () => worker.wake())));
      unsubscribe.push(bus.subscribe('nodes', (name) => safely('node refresh', () => cache.refreshNode({ nodename: name }))()));
      timers.push(setInterval(safely('scan', () => worker.wake()), SCAN_INTERVAL_MS));
      timers.push(setInterval(safely('host cache reload', () => cache.reload()), config.scheduler.periodic_task_interval * 1000));
      timers.push(
        setInterval(
          safely('heartbeat', async () => {
            if (!(await heartbeat(db, serviceId))) await register();
          }),
          config.DEFAULT.report_interval * 1000,
        ),
      );
      // Anything already waiting (including our own leases from before a restart).
      safely('placement', () => worker.wake())();
      logger.info({ nodes: cache.hosts.length }, 'scheduler started');
    },
    async stop() {
      if (!started) return;
      started = false;
      for (const t of timers.splice(0)) clearInterval(t);
      for (const u of unsubscribe.splice(0)) u();
      await worker.stop();
    },
  };
}

export { HostCache } from './host-cache.js';
export { HostSelector } from './host-selector.js';
export { SchedulerWorker } from './scheduler-worker.js';
