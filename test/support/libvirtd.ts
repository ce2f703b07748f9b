import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SCRIPT = resolve(fileURLToPath(import.meta.url), '../../../scripts/private-libvirtd.sh');

/** A private libvirtd for one test file (scripts/private-libvirtd.sh): its own config, socket and state. */
export interface TestLibvirtd {
  readonly uri: string;
  /** The temp dir holding the daemon's state; tests may put instances_path under it. */
  readonly dir: string;
  readonly pid: number;
  /** kill -9 the daemon (guests keep running), as a crash would. */
  kill9(): Promise<void>;
  /** Starts the daemon again on the same state; resolves once it answers. */
  restart(): Promise<void>;
  /** Destroys every guest, stops the daemon and removes its state. */
  stop(): Promise<void>;
}

/**
 * virt_type for tests: kvm where /dev/kvm runs ordinary guests, else qemu (TCG). A kvm-pvm
 * /dev/kvm (as on this project's build machines) only runs PVM-enabled guest kernels.
 * POLYVISOR_LIBVIRT_VIRT_TYPE overrides.
 */
export function testVirtType(): 'kvm' | 'qemu' {
  const forced = process.env['POLYVISOR_LIBVIRT_VIRT_TYPE'];
  if (forced === 'kvm' || forced === 'qemu') return forced;
  return existsSync('/dev/kvm') && !existsSync('/sys/module/kvm_pvm') ? 'kvm' : 'qemu';
}

export function virsh(uri: string, ...args: string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('virsh', ['-q', '-c', uri, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) resolvePromise(stdout.trim());
      else reject(new Error(`virsh ${args.join(' ')}: ${stderr.trim() || err.message}`));
    });
  });
}

/** What `virsh domstate` says about a domain ("running", "shut off", "paused", ...). */
export async function domstate(uri: string, domain: string): Promise<string> {
  return (await virsh(uri, 'domstate', domain)).trim();
}

function launch(dir: string): ChildProcess {
  // A VNC port range of its own (per daemon, random): concurrent test files each run a daemon.
  const vncPortMin = String(20000 + 1000 * Math.floor(Math.random() * 40));
  const child = spawn(SCRIPT, [dir], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VNC_PORT_MIN: vncPortMin } });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log = (log + c.toString()).slice(-8192);
  });
  child.on('exit', (code, sig) => {
    if (code !== 0 && sig === null) process.stderr.write(`private libvirtd exited ${code}: ${log}\n`);
  });
  return child;
}

/** Resolves once the daemon answers a call (it probes QEMU's capabilities on first start, ~10 s). */
async function ready(uri: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`private libvirtd exited with ${child.exitCode}`);
    try {
      await virsh(uri, 'version');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    // The socket appears when the daemon is ready; nothing to subscribe to before that.
    await delay(100);
  }
}

export async function startTestLibvirtd(): Promise<TestLibvirtd> {
  const dir = await mkdtemp(join(tmpdir(), 'polyvisor-libvirtd-'));
  const uri = `qemu:///system?socket=${join(dir, 'run', 'libvirt-sock')}`;
  let child = launch(dir);
  await ready(uri, child);
  const exited = (c: ChildProcess): Promise<void> => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', () => r())));
  return {
    uri,
    dir,
    get pid() {
      return child.pid ?? -1;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async restart() {
      child = launch(dir);
      await ready(uri, child);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const names = (await virsh(uri, 'list', '--all', '--name').catch(() => '')).split('\n').filter((n) => n !== '');
        for (const n of names) {
          await virsh(uri, 'destroy', n).catch(() => undefined);
          await virsh(uri, 'undefine', '--managed-save', n).catch(() => undefined);
        }
        child.kill('SIGTERM');
        await exited(child);
      }
      // Guests outlive a killed daemon: stop any QEMU this daemon started.
      const pidDir = join(dir, 'run', 'qemu');
      for (const f of await readdir(pidDir).catch(() => [] as string[])) {
        if (!f.endsWith('.pid')) continue;
        const pid = Number((await readFile(join(pidDir, f), 'utf8').catch(() => '')).trim());
        if (Number.isInteger(pid) && pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polyvisor configuration for a libvirt compute service on this test daemon: the driver, its
 * instances under the daemon's temp dir, no reserved memory; `defaults` adds [DEFAULT] lines,
 * `imageStore` points [glance_store] at the API process's store (a separate compute process
 * reads image files from it).
 */
export function libvirtComputeConf(lv: Pick<TestLibvirtd, 'dir' | 'uri'>, options: { defaults?: readonly string[]; imageStore?: string } = {}): string {
  return [
    '[DEFAULT]',
    'compute_driver = libvirt.LibvirtDriver',
    `instances_path = ${join(lv.dir, 'instances')}`,
    'reserved_host_memory_mb = 0',
    ...(options.defaults ?? []),
    '[libvirt]',
    `virt_type = ${testVirtType()}`,
    `connection_uri = ${lv.uri}`,
    ...(options.imageStore === undefined ? [] : ['[glance_store]', `filesystem_store_datadir = ${options.imageStore}`]),
  ].join('\n');
}
