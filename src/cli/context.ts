import { mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { destination as pinoDestination, type DestinationStream } from 'pino';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Config } from '../config/options.js';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { createLogger, type Logger } from '../log.js';

/** What every command starts from: validated configuration, a logger, and (on demand) the database. */
export interface CliContext {
  readonly loaded: LoadedConfig;
  readonly config: Config;
  readonly logger: Logger;
}

export function createContext(configFiles: readonly string[], overrides: Record<string, Record<string, string>> = {}): CliContext {
  const loaded = loadConfig(configFiles, overrides);
  const config = loaded.config;
  const level = config.DEFAULT.debug ? 'debug' : (process.env['POLYVISOR_LOG_LEVEL'] ?? 'info');
  let destination: DestinationStream = pinoDestination(2);
  if (config.DEFAULT.log_file !== null) {
    const file = isAbsolute(config.DEFAULT.log_file) || config.DEFAULT.log_dir === null ? config.DEFAULT.log_file : join(config.DEFAULT.log_dir, config.DEFAULT.log_file);
    destination = pinoDestination({ dest: file, mkdir: true, sync: false });
  }
  const logger = createLogger({ level, name: 'polyvisor', destination });
  for (const notice of loaded.notices) logger.warn(notice);
  return { loaded, config, logger };
}

/** Opens the configured database and brings its schema up to date. */
export async function openMigratedDatabase(ctx: CliContext): Promise<DatabaseHandle> {
  mkdirSync(ctx.config.DEFAULT.state_path, { recursive: true });
  const handle = await openDatabase(ctx.config.database.connection, ctx.config.DEFAULT.state_path);
  const applied = await migrateToLatest(handle);
  if (applied.length > 0) ctx.logger.info({ applied, database: handle.description }, 'database migrated');
  return handle;
}
