import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL server from Debian's `postgresql` package, in a temporary
 * directory, listening on loopback only. One per test file; `stop()` removes everything.
 */
export interface TestPostgres {
  readonly port: number;
  /** A fresh, empty database: its connection URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) throw new Error('PostgreSQL is not installed: run scripts/setup (Debian package postgresql)');
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  const v = versions[0];
  if (v === undefined) throw new Error('PostgreSQL is not installed under /usr/lib/postgresql');
  return join(root, v, 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = pgBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'polyvisor-pg-'));
  const dataDir = join(dir, 'data');
  // initdb refuses to run as root: run the server as the postgres user when we are root.
  const asRoot = process.getuid?.() === 0;
  const wrap = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) {
    chmodSync(dir, 0o755);
    chownSync(dir, Number(idOf('postgres', '-u')), Number(idOf('postgres', '-g')));
  }
  const [c1, a1] = wrap(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(c1, a1, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);

  const port = await freePort();
  const [c2, a2] = wrap(join(bin, 'postgres'), [
    '-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dir,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
  ]);
  const server = spawn(c2, a2, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = () => {
      if (stderr.includes('ready to accept connections')) {
        server.stderr.off('data', onData);
        resolve();
      }
    };
    server.stderr.on('data', onData);
    server.once('exit', (code) => reject(new Error(`postgres exited with ${code}: ${stderr}`)));
  });

  let n = 0;
  return {
    port,
    async createDatabase() {
      const name = `polyvisor_test_${process.pid}_${++n}`;
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      return `postgresql://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // pg's Pool.end() resolves before the server has seen every Terminate; a fast shutdown
      // racing it would send "terminating connection" to sockets nobody listens on any more.
      await waitForClientsToLeave(port);
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        // Fast shutdown is SIGINT to the postmaster itself: `runuser` (when we are root)
        // does not forward SIGINT, so signal the pid postgres wrote, not our child.
        const pid = Number.parseInt(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
        if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGINT');
        else server.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function idOf(user: string, flag: '-u' | '-g'): string {
  return spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim();
}

async function waitForClientsToLeave(port: number): Promise<void> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const r = await c.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
      );
      if (Number(r.rows[0]?.n ?? 0) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await c.end();
  }
}
