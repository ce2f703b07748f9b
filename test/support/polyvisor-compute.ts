import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** A `polyvisor compute` agent running as its own process (a second compute host of a deployment). */
export interface ComputeProcess {
  readonly stateDir: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr (its logs). */
  logs(): string;
  stop(): Promise<void>;
}

export interface ComputeOptions {
  /** Its `[DEFAULT] host`. */
  readonly host: string;
  /** The deployment's `[database] connection` (shared with the API process). */
  readonly databaseUrl: string;
  /** nova.conf text after the generated [DEFAULT] block (driver sections, image store, ...). */
  readonly conf: string;
}

/**
 * Starts `polyvisor compute` from source (through tsx) with its own state directory and host
 * name, and resolves once it prints its banner (its driver is initialised and it has registered).
 */
export async function startCompute(options: ComputeOptions): Promise<ComputeProcess> {
  const stateDir = mkdtempSync(join(tmpdir(), 'polyvisor-compute-'));
  const conf = ['[DEFAULT]', `state_path = ${stateDir}`, `host = ${options.host}`, '[database]', `connection = ${options.databaseUrl}`, options.conf].join('\n');
  const confFile = join(stateDir, 'polyvisor.conf');
  writeFileSync(confFile, conf);
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), '--config-file', confFile, 'compute'], {
    cwd: ROOT,
    env: { ...process.env, HOME: join(stateDir, 'home'), POLYVISOR_LOG_LEVEL: process.env['POLYVISOR_LOG_LEVEL'] ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((ready, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('Polyvisor compute agent on host')) ready();
    });
    child.once('exit', (code) => reject(new Error(`polyvisor compute exited with ${code} before it was ready:\n${stdout}\n${stderr.slice(-4000)}`)));
  });
  return {
    stateDir,
    child,
    logs: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
