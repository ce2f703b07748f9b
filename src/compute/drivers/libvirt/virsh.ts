import { execFile } from 'node:child_process';
import { DriverError } from '../driver.js';

/** Why a libvirt call failed, from virsh's message (virsh exits 1 for every error). */
export type LibvirtFailure = 'no_domain' | 'operation_invalid' | 'connection' | 'other';

/** A failed libvirt call; `failure` lets callers branch without matching text. Connection losses are retryable. */
export class LibvirtError extends DriverError {
  readonly failure: LibvirtFailure;
  constructor(failure: LibvirtFailure, message: string, options: { cause?: unknown } = {}) {
    super(failure === 'connection' ? 'libvirt_unavailable' : 'libvirt_error', message, { ...options, retryable: failure === 'connection' });
    this.failure = failure;
  }
}

export function isNoDomain(err: unknown): boolean {
  return err instanceof LibvirtError && err.failure === 'no_domain';
}

export function isOperationInvalid(err: unknown): boolean {
  return err instanceof LibvirtError && err.failure === 'operation_invalid';
}

function classify(stderr: string): LibvirtFailure {
  if (/Domain not found|failed to get domain/i.test(stderr)) return 'no_domain';
  if (/failed to connect|Cannot recv data|End of file while reading|client socket is closed|Connection reset|Broken pipe|Cannot write data/i.test(stderr)) return 'connection';
  if (/Requested operation is not valid|operation failed: domain is not running|domain is not running|domain is already/i.test(stderr)) return 'operation_invalid';
  return 'other';
}

/**
 * libvirt through `virsh`, one process per call (see README.md for why: measured against
 * the npm native binding). Every call names the connection URI explicitly, runs quiet
 * (`-q`: no headers), and turns virsh's "error: ..." lines into a LibvirtError.
 */
export class Virsh {
  readonly #uri: string;
  readonly #path: string;
  #calls = 0;

  readonly #observe: ((command: string, ms: number) => void) | undefined;

  constructor(uri: string, path = 'virsh', observe?: (command: string, ms: number) => void) {
    this.#uri = uri;
    this.#path = path;
    this.#observe = observe;
  }

  get uri(): string {
    return this.#uri;
  }

  /** libvirt calls made so far (benchmarks read it). */
  get calls(): number {
    return this.#calls;
  }

  /** Runs `virsh -q -c <uri> <args>` and returns its standard output. */
  run(args: readonly string[], signal: AbortSignal, timeoutMs = 120_000): Promise<string> {
    this.#calls += 1;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      execFile(this.#path, ['-q', '-c', this.#uri, ...args], { signal, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        this.#observe?.(args[0] ?? '', performance.now() - started);
        if (err === null) {
          resolve(stdout);
          return;
        }
        if (signal.aborted) {
          reject(new DriverError('aborted', `virsh ${args[0] ?? ''} was aborted`, { cause: signal.reason }));
          return;
        }
        const text = stderr.split('\n').map((l) => l.replace(/^error:\s*/, '').trim()).filter((l) => l !== '').join(': ');
        const message = text === '' ? err.message : text;
        reject(new LibvirtError(classify(message), `libvirt (${this.#uri}) ${args[0] ?? ''}: ${message}`, { cause: err }));
      });
    });
  }
}
