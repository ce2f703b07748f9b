import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { PolyvisorError } from '../../errors.js';

export interface VcsimOptions {
  readonly esx?: boolean;
  readonly tls?: boolean;
  readonly datacenters?: number;
  readonly clusters?: number;
  readonly hostsPerCluster?: number;
  readonly standaloneHosts?: number;
  readonly datastores?: number;
  readonly vms?: number;
  readonly resourcePools?: number;
  readonly distributedPortGroups?: number;
  readonly standardPortGroups?: number;
  readonly version?: string;
  readonly username?: string;
  /** Default: random. */
  readonly password?: string;
  readonly listen?: string;
  readonly dir?: string;
  readonly sessionIdleTimeoutMs?: number;
  /** How often vcsim's WaitForUpdatesEx looks for changes (default 10 ms). */
  readonly updateIntervalMs?: number;
  readonly taskDelayMs?: number;
  /** Enable the /_harness/ endpoints (fault injection, delays): tests only. */
  readonly control?: boolean;
  /** tools/vcsim of the checkout; found from this file by default. */
  readonly toolsDir?: string;
}

export interface Vcsim {
  readonly url: string;
  readonly caFile: string | undefined;
  readonly username: string;
  readonly password: string;
  readonly datastoreDir: string;
  readonly version: string;
  readonly pid: number;
  /** Terminates the simulator and waits for it to exit (it removes its temp directories). */
  stop(): Promise<void>;
}

/** Finds tools/vcsim by walking up from this module (works from src/ and from dist/). */
function findToolsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'tools', 'vcsim');
    if (existsSync(join(candidate, 'build.sh'))) return candidate;
    const up = resolve(dir, '..');
    if (up === dir) throw new PolyvisorError('vcsim_missing', 'cannot find tools/vcsim (the simulator harness)');
    dir = up;
  }
}

function flags(o: VcsimOptions): string[] {
  const f: string[] = ['-exit-on-eof', `-listen=${o.listen ?? '127.0.0.1:0'}`, `-tls=${o.tls ?? true}`];
  const n = (name: string, v: number | undefined): void => {
    if (v !== undefined) f.push(`-${name}=${v}`);
  };
  if (o.esx === true) f.push('-esx');
  n('dc', o.datacenters);
  n('cluster', o.clusters);
  n('host', o.hostsPerCluster);
  n('standalone-host', o.standaloneHosts);
  n('ds', o.datastores);
  n('vm', o.vms);
  n('pool', o.resourcePools);
  n('dvpg', o.distributedPortGroups);
  n('std-pg', o.standardPortGroups);
  if (o.version !== undefined) f.push(`-version=${o.version}`);
  if (o.username !== undefined) f.push(`-username=${o.username}`);
  if (o.dir !== undefined) f.push(`-dir=${o.dir}`);
  if (o.sessionIdleTimeoutMs !== undefined) f.push(`-session-idle-timeout=${o.sessionIdleTimeoutMs}ms`);
  if (o.updateIntervalMs !== undefined) f.push(`-update-interval=${o.updateIntervalMs}ms`);
  if (o.taskDelayMs !== undefined) f.push(`-task-delay=${o.taskDelayMs}ms`);
  if (o.control === true) f.push('-control');
  return f;
}

interface ReadyLine {
  url: string;
  caFile?: string;
  username: string;
  datastoreDir: string;
  version: string;
  pid: number;
}

function parseReady(line: string): ReadyLine {
  const v = JSON.parse(line) as Partial<ReadyLine>;
  if (typeof v.url !== 'string' || typeof v.username !== 'string' || typeof v.datastoreDir !== 'string' || typeof v.pid !== 'number') {
    throw new PolyvisorError('vcsim_failed', `unexpected vcsim output: ${line.slice(0, 200)}`);
  }
  return v as ReadyLine;
}

/**
 * Builds (if its Go sources changed) and starts govmomi's vCenter simulator through our
 * harness, resolving once it prints its URL. The simulator also exits when this process
 * does (it watches its stdin), so it never outlives its parent.
 */
export async function startVcsim(options: VcsimOptions = {}, signal?: AbortSignal): Promise<Vcsim> {
  const tools = options.toolsDir ?? findToolsDir();
  await promisify(execFile)(join(tools, 'build.sh'), [], signal === undefined ? {} : { signal });
  const password = options.password ?? randomBytes(12).toString('base64url');
  const child = spawn(join(tools, 'vcsim'), flags(options), {
    env: { ...process.env, VCSIM_PASSWORD: password },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(signal === undefined ? {} : { signal }),
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<ReadyLine>((res, rej) => {
    const onExit = (code: number | null): void => rej(new PolyvisorError('vcsim_failed', `vcsim exited (${code}) before it was ready: ${stderr.trim()}`));
    child.once('exit', onExit);
    child.once('error', (err) => rej(err));
    lines.once('line', (line) => {
      child.off('exit', onExit);
      try {
        res(parseReady(line));
      } catch (err) {
        rej(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
  lines.on('line', () => undefined);
  return {
    url: ready.url,
    caFile: ready.caFile === '' ? undefined : ready.caFile,
    username: ready.username,
    password,
    datastoreDir: ready.datastoreDir,
    version: ready.version,
    pid: ready.pid,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // The harness exits within about 3 s even with calls stuck; past that, force it.
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    },
  };
}
