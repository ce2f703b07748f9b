import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');

export const ADMIN_PASSWORD = 'e2e-admin-password-Zq9';

export interface PolyvisorProcess {
  readonly url: string;
  readonly stateDir: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr (its logs). */
  logs(): string;
  /** Runs the real openstack CLI as the given user (admin by default); returns stdout. */
  openstack(args: readonly string[], as?: CliUser): Promise<string>;
  /** `openstack ... -f json`, parsed. */
  openstackJson<T = unknown>(args: readonly string[], as?: CliUser): Promise<T>;
  /** SIGKILL: no chance to clean up, as after a crash. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export interface CliUser {
  readonly username: string;
  readonly password: string;
  readonly project: string;
}

export const ADMIN: CliUser = { username: 'admin', password: ADMIN_PASSWORD, project: 'admin' };

export interface StartOptions {
  /** Extra nova.conf text (sections and options). */
  readonly conf?: string;
  /** Reuse a state directory (to restart after a kill). */
  readonly stateDir?: string;
  readonly databaseUrl?: string;
  readonly port?: number;
}

/**
 * Starts `polyvisor serve` as a real process (from source through tsx), on loopback,
 * with its own state directory and HOME, and waits until it prints its endpoints.
 */
export async function startPolyvisor(options: StartOptions = {}): Promise<PolyvisorProcess> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'polyvisor-e2e-'));
  const home = join(stateDir, 'home');
  const conf = [
    '[DEFAULT]',
    `state_path = ${stateDir}`,
    'host = e2e-host',
    '[api]',
    'listen = 127.0.0.1',
    `port = ${options.port ?? 0}`,
    ...(options.databaseUrl ? ['[database]', `connection = ${options.databaseUrl}`] : []),
    options.conf ?? '',
  ].join('\n');
  const confFile = join(stateDir, 'polyvisor.conf');
  writeFileSync(confFile, conf);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), '--config-file', confFile, 'serve'], {
    cwd: ROOT,
    env: { ...process.env, HOME: home, POLYVISOR_ADMIN_PASSWORD: ADMIN_PASSWORD, POLYVISOR_LOG_LEVEL: process.env['POLYVISOR_LOG_LEVEL'] ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /Compute:\s+(http:\/\/[^\s]+)\/compute\/v2\.1/.exec(stdout);
      if (m?.[1]) resolveUrl(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`polyvisor serve exited with ${code} before it was ready:\n${stdout}\n${stderr.slice(-4000)}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const cliEnv = (as: CliUser) => ({
    ...process.env,
    HOME: home,
    OS_AUTH_URL: `${url}/identity/v3`,
    OS_USERNAME: as.username,
    OS_PASSWORD: as.password,
    OS_PROJECT_NAME: as.project,
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_IDENTITY_API_VERSION: '3',
    OS_REGION_NAME: 'RegionOne',
    OS_INTERFACE: 'public',
    OS_CLOUD: '',
  });
  const openstack = async (args: readonly string[], as: CliUser = ADMIN): Promise<string> => {
    try {
      const { stdout: out } = await execFileAsync('openstack', [...args], { env: cliEnv(as), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
      return out;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`openstack ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`.trim(), { cause: err });
    }
  };
  return {
    url,
    stateDir,
    child,
    logs: () => stderr,
    openstack,
    async openstackJson<T>(args: readonly string[], as?: CliUser): Promise<T> {
      return JSON.parse(await openstack([...args, '-f', 'json'], as)) as T;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
