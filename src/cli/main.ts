import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { sampleConfig } from '../config/sample.js';
import type { DatabaseHandle } from '../db/database.js';
import { isPolyvisorError, errorMessage } from '../errors.js';
import { bootstrap } from '../identity/index.js';
import { cloudsYaml, writeCloudsYaml } from './clouds.js';
import { startSimulatedVcenter } from './demo.js';
import { registerImageCommands } from './image-commands.js';
import { createContext, openMigratedDatabase, type CliContext } from './context.js';
import { startApi, startCompute, startNovncProxy, startScheduler, type Running } from './runtime.js';

const DEFAULT_CONFIG = '/etc/polyvisor/polyvisor.conf';

interface GlobalOptions {
  configFile: string[];
  set: string[];
}

/** `--set section.option=value`, for one-off overrides without a config file. */
function parseOverrides(sets: readonly string[]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const s of sets) {
    const m = /^([^.=]+)\.([^=]+)=(.*)$/s.exec(s);
    if (!m) throw new Error(`--set ${s}: expected section.option=value, e.g. --set api.port=8774`);
    const [, section = '', option = '', value = ''] = m;
    (out[section] ??= {})[option] = value;
  }
  return out;
}

function contextFrom(cmd: Command, base: Record<string, Record<string, string>> = {}): CliContext {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  let files = opts.configFile;
  if (files.length === 0) {
    const env = process.env['POLYVISOR_CONFIG'];
    if (env) files = [env];
    else if (existsSync(DEFAULT_CONFIG)) files = [DEFAULT_CONFIG];
  }
  // Command-line --set wins over what a command sets up itself (e.g. demo's simulator).
  const overrides = parseOverrides(opts.set);
  for (const [section, values] of Object.entries(base)) overrides[section] = { ...values, ...overrides[section] };
  return createContext(files, overrides);
}

/** Stops everything on SIGINT/SIGTERM, newest first. */
function stopOnSignal(ctx: CliContext, parts: Running[], onStopped: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ctx.logger.info({ signal }, 'stopping');
    for (const p of [...parts].reverse()) await p.stop().catch((err: unknown) => ctx.logger.error({ err }, 'error while stopping'));
    await onStopped();
    process.exit(0);
  };
  process.once('SIGINT', (s) => void stop(s));
  process.once('SIGTERM', (s) => void stop(s));
}

/**
 * Runs a long-lived command: configuration, migrated database, the parts `start` adds
 * (stopped newest first on SIGINT/SIGTERM), then the banner it returns.
 */
async function runService(
  cmd: Command,
  start: (ctx: CliContext, handle: DatabaseHandle, parts: Running[]) => Promise<string>,
  setup: { overrides?: Record<string, Record<string, string>>; parts?: Running[] } = {},
): Promise<void> {
  const ctx = contextFrom(cmd, setup.overrides);
  const handle = await openMigratedDatabase(ctx);
  const parts: Running[] = [...(setup.parts ?? [])];
  stopOnSignal(ctx, parts, () => handle.close());
  process.stdout.write(await start(ctx, handle, parts));
}

/** API, scheduler and compute agent in this process; returns the banner. */
async function serveAll(ctx: CliContext, handle: DatabaseHandle, parts: Running[], what: string): Promise<string> {
  const api = await startApi(ctx, handle);
  parts.push(api);
  await ensureAdmin(ctx, handle, api.url);
  parts.push(await startScheduler(ctx, handle));
  parts.push(await startCompute(ctx, handle));
  return (
    `\nPolyvisor is running (all-in-one, database ${handle.description}, ${what}).\n` +
    `  Identity: ${api.url}/identity/v3\n  Compute:  ${api.url}/compute/v2.1\n  Image:    ${api.url}/image\n` +
    `  Dashboard: ${api.url}/dashboard/\n` +
    `Try: openstack --os-cloud polyvisor server list\n`
  );
}

/** Ensures an admin exists; on first start generates its password and writes clouds.yaml. */
async function ensureAdmin(ctx: CliContext, handle: DatabaseHandle, apiUrl: string): Promise<void> {
  const envPassword = process.env['POLYVISOR_ADMIN_PASSWORD'];
  const existing = await handle.db.selectFrom('users').select('id').where('name', '=', 'admin').executeTakeFirst();
  if (existing && envPassword === undefined) return;
  const password = envPassword ?? randomBytes(18).toString('base64url');
  await bootstrap(handle.db, { adminUsername: 'admin', adminPassword: password, projectName: 'admin' });
  const creds = { authUrl: `${apiUrl}/identity/v3`, username: 'admin', password, projectName: 'admin' };
  const written = writeCloudsYaml(ctx.config.DEFAULT.state_path, creds);
  process.stdout.write(
    `\nAdmin credentials written to ${written.statePathFile}` +
      (written.userFile ? ` and ${written.userFile}` : ` (export OS_CLIENT_CONFIG_FILE=${written.statePathFile} to use it)`) +
      `\n${cloudsYaml(creds, { maskPassword: true })}`,
  );
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('polyvisor')
    .description('Self-service IaaS compute controller for VMware vSphere and KVM, with OpenStack-compatible APIs')
    .addOption(new Option('--config-file <file>', 'nova.conf-style configuration file (repeatable; later files win)').argParser((v: string, prev: string[]) => [...prev, v]).default([]))
    .addOption(new Option('--set <section.option=value>', 'override one option (repeatable)').argParser((v: string, prev: string[]) => [...prev, v]).default([]))
    .showHelpAfterError();

  program
    .command('serve')
    .description('all-in-one: API, scheduler and compute agent in one process, embedded SQLite by default')
    .action((_opts: unknown, cmd: Command) =>
      runService(cmd, (ctx, handle, parts) => serveAll(ctx, handle, parts, `driver ${ctx.config.DEFAULT.compute_driver}`)),
    );

  program
    .command('demo')
    .description('the all-in-one against a simulated vCenter (govmomi vcsim, two clusters) started for you')
    .action(async (_opts: unknown, cmd: Command) => {
      const sim = await startSimulatedVcenter();
      await runService(cmd, (ctx, handle, parts) => serveAll(ctx, handle, parts, `simulated vCenter ${sim.vcsim.url}`), {
        overrides: sim.overrides,
        parts: [sim.vcsim],
      });
    });

  program
    .command('api')
    .description('the API (identity, compute, image) and the scheduler; run several against PostgreSQL')
    .action((_opts: unknown, cmd: Command) =>
      runService(cmd, async (ctx, handle, parts) => {
        const api = await startApi(ctx, handle);
        parts.push(api, await startScheduler(ctx, handle));
        return `Polyvisor API at ${api.url} (database ${handle.description}); dashboard at ${api.url}/dashboard/\n`;
      }),
    );

  program
    .command('compute')
    .description('a compute agent for the configured compute_driver')
    .action((_opts: unknown, cmd: Command) =>
      runService(cmd, async (ctx, handle, parts) => {
        parts.push(await startCompute(ctx, handle));
        return `Polyvisor compute agent on host ${ctx.config.DEFAULT.host} (driver ${ctx.config.DEFAULT.compute_driver})\n`;
      }),
    );

  program
    .command('novncproxy')
    .description('the console proxy and page alone (as nova-novncproxy), on [vnc] novncproxy_host:novncproxy_port')
    .action((_opts: unknown, cmd: Command) =>
      runService(cmd, async (ctx, handle, parts) => {
        const proxy = await startNovncProxy(ctx, handle);
        parts.push(proxy);
        return `Polyvisor console proxy at ${proxy.url}/vnc_auto.html (database ${handle.description})\n`;
      }),
    );

  program
    .command('db')
    .description('database maintenance')
    .command('migrate')
    .description('bring the database schema up to date')
    .action(async (_opts: unknown, cmd: Command) => {
      const ctx = contextFrom(cmd);
      const handle = await openMigratedDatabase(ctx);
      process.stdout.write(`database ${handle.description} is up to date\n`);
      await handle.close();
    });

  program
    .command('bootstrap')
    .description('create (or reset) the first admin user, its project and the default roles')
    .option('--username <name>', 'admin user name', 'admin')
    .option('--project <name>', 'admin project name', 'admin')
    .option('--password-env <var>', 'environment variable holding the password', 'POLYVISOR_ADMIN_PASSWORD')
    .action(async (opts: { username: string; project: string; passwordEnv: string }, cmd: Command) => {
      const password = process.env[opts.passwordEnv];
      if (password === undefined || password === '') throw new Error(`set the admin password in the environment variable ${opts.passwordEnv}`);
      const ctx = contextFrom(cmd);
      const handle = await openMigratedDatabase(ctx);
      await bootstrap(handle.db, { adminUsername: opts.username, adminPassword: password, projectName: opts.project });
      process.stdout.write(`admin user "${opts.username}" with the admin role on project "${opts.project}" is ready\n`);
      await handle.close();
    });

  registerImageCommands(program, contextFrom);

  const configCmd = program.command('config').description('configuration helpers');
  configCmd
    .command('sample')
    .description('print a commented configuration file with every option and its default')
    .action(() => {
      process.stdout.write(sampleConfig());
    });
  configCmd
    .command('check')
    .description('validate the configuration files and print what would be ignored or is deprecated')
    .action((_opts: unknown, cmd: Command) => {
      const ctx = contextFrom(cmd);
      process.stdout.write(`configuration OK (${ctx.loaded.files.join(', ') || 'defaults only'})\n`);
      for (const n of ctx.loaded.notices) process.stdout.write(`note: ${n}\n`);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    process.stderr.write(`polyvisor: ${isPolyvisorError(err) ? err.message : errorMessage(err)}\n`);
    process.exit(isPolyvisorError(err, 'config_invalid') ? 2 : 1);
  }
}
