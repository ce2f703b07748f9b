import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { ConfigError } from '../errors.js';
import { LocalBus, type Bus, type BusChannel } from './bus.js';
import type { DialectName } from './dialect.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

const require = createRequire(import.meta.url);

/** An open database: the query builder, its dialect, and the notification bus that goes with it. */
export interface DatabaseHandle {
  readonly db: Db;
  readonly dialect: DialectName;
  readonly bus: Bus;
  /** A redacted description of where the data is (for logs and start-up banners). */
  readonly description: string;
  close(): Promise<void>;
}

// int8 (bigint) and numeric come back from node-postgres as strings; our sizes fit in a double.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
pg.types.setTypeParser(1700, (v) => Number.parseFloat(v));

/**
 * Opens the database named by `[database] connection`: `sqlite:///path` (or empty: a file
 * under the data directory) or `postgresql://user:pass@host:port/db`.
 */
export async function openDatabase(connection: string, dataDir: string): Promise<DatabaseHandle> {
  const url = connection.trim();
  if (url === '' || url.startsWith('sqlite:')) return openSqlite(sqlitePath(url, dataDir));
  if (url.startsWith('postgresql://') || url.startsWith('postgres://') || url.startsWith('postgresql+psycopg2://')) {
    return openPostgres(url.replace(/^postgresql\+psycopg2:/, 'postgresql:'));
  }
  throw new ConfigError(`[database] connection: unsupported URL scheme in "${redactUrl(url)}"; expected sqlite:///path or postgresql://...`, {
    section: 'database',
    option: 'connection',
  });
}

function sqlitePath(url: string, dataDir: string): string {
  if (url === '' || url === 'sqlite:' || url === 'sqlite://') return resolve(dataDir, 'polyvisor.sqlite');
  // sqlite:///relative/path is relative in SQLAlchemy; sqlite:////abs is absolute. Accept both.
  const rest = url.replace(/^sqlite:\/\//, '');
  if (rest === '/:memory:' || rest === ':memory:') return ':memory:';
  return rest.startsWith('//') ? rest.slice(1) : resolve(rest.replace(/^\//, ''));
}

function openSqlite(path: string): DatabaseHandle {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  // WAL: readers never block the writer; NORMAL sync is durable across process crashes.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Gather the statistics the query planner needs (a never-analysed database can pick
  // full scans over good indexes); 0x10002 is SQLite's advice for long-lived connections.
  sqlite.pragma('optimize = 0x10002');
  const checkpointer = path === ':memory:' ? undefined : startCheckpointer(sqlite, path);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const bus = new LocalBus();
  return {
    db,
    dialect: 'sqlite',
    bus,
    description: `sqlite:${path}`,
    async close() {
      await bus.close();
      await checkpointer?.terminate();
      await db.destroy();
    },
  };
}

/**
 * Moves WAL checkpoints off the event loop. SQLite normally checkpoints inside whichever
 * commit crosses wal_autocheckpoint pages, copying pages and fsyncing the database file
 * in the middle of a request (milliseconds, the p99 of every write). A worker thread with
 * its own connection runs passive checkpoints instead, which never block writers; the
 * main connection keeps a high automatic threshold only as a backstop if the worker lags.
 */
const CHECKPOINT_INTERVAL_MS = 200;
const BACKSTOP_AUTOCHECKPOINT_PAGES = 20_000;

function startCheckpointer(sqlite: SQLite.Database, path: string): Worker {
  sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const Database = require(workerData.module);
     const db = new Database(workerData.path);
     db.pragma('busy_timeout = 0');
     setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: next time */ } }, workerData.interval);`,
    { eval: true, workerData: { path, module: require.resolve('better-sqlite3'), interval: CHECKPOINT_INTERVAL_MS } },
  );
  // A checkpointer that dies costs only latency (the backstop threshold still applies).
  worker.on('error', () => undefined);
  worker.unref();
  return worker;
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const bus = await PgBus.connect(url, pool);
  return {
    db,
    dialect: 'postgres',
    bus,
    description: redactUrl(url),
    async close() {
      await bus.close();
      await db.destroy();
    },
  };
}

/** Hides the password of a database URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

const CHANNEL_PREFIX = 'polyvisor_';

/** LISTEN/NOTIFY: every process sees every notification, its own included. */
class PgBus implements Bus {
  readonly #listener: pg.Client;
  readonly #pool: pg.Pool;
  readonly #handlers = new Map<string, Set<(payload: string) => void>>();

  private constructor(listener: pg.Client, pool: pg.Pool) {
    this.#listener = listener;
    this.#pool = pool;
    listener.on('notification', (msg) => {
      const channel = msg.channel.slice(CHANNEL_PREFIX.length);
      for (const h of this.#handlers.get(channel) ?? []) h(msg.payload ?? '');
    });
  }

  static async connect(url: string, pool: pg.Pool): Promise<PgBus> {
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    // A broken listener connection must not crash the process: periodic scans keep things moving.
    listener.on('error', () => undefined);
    const bus = new PgBus(listener, pool);
    for (const c of ['instances', 'scheduler', 'nodes', 'console_output'] satisfies BusChannel[]) await listener.query(`LISTEN ${CHANNEL_PREFIX}${c}`);
    return bus;
  }

  async notify(channel: BusChannel, payload: string): Promise<void> {
    await this.#pool.query('SELECT pg_notify($1, $2)', [CHANNEL_PREFIX + channel, payload]);
  }

  subscribe(channel: BusChannel, handler: (payload: string) => void): () => void {
    let set = this.#handlers.get(channel);
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    await this.#listener.end().catch(() => undefined);
  }
}
