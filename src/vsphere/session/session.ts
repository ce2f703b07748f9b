import type { Logger } from '../../log.js';
import { currentTime, login, logout } from '../methods/session-methods.js';
import { createVimFault, isFault } from '../soap/fault.js';
import type { RoundTripper, SoapCall } from '../soap/round-tripper.js';
import type { ManagedObjectReference } from '../types/moref.js';
import type { RetrieveResult } from '../types/property.js';
import type { UserSession } from '../types/service.js';
import type { MethodFault } from '../types/task.js';

export interface SessionOptions {
  readonly username: string;
  readonly password: string;
  readonly sessionManager: ManagedObjectReference;
  /** Forget the old session cookie before logging in again. */
  readonly clearCookie: () => void;
  /** Send a cheap call when nothing else was sent for this long (0: never). */
  readonly keepAliveMs: number;
  readonly logger: Logger;
}

/**
 * The login session, as a RoundTripper decorator: when a call fails with NotAuthenticated
 * (the session expired or was terminated) it logs in again and retries the call once.
 * Concurrent callers share one re-login. While idle it sends CurrentTime every
 * `keepAliveMs` so vCenter does not expire the session. The password lives only here and
 * is never logged.
 */
export class Session implements RoundTripper {
  readonly #inner: RoundTripper;
  readonly #opts: Omit<SessionOptions, 'password'>;
  readonly #password: string;
  #generation = 0;
  #logins = 0;
  #relogin: Promise<void> | undefined;
  #user: UserSession | undefined;
  #lastActivity = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(inner: RoundTripper, options: SessionOptions) {
    const { password, ...rest } = options;
    this.#inner = inner;
    this.#opts = rest;
    this.#password = password;
  }

  /** Bumped on every successful login; session-scoped objects (collectors, views) die with a generation. */
  get generation(): number {
    return this.#generation;
  }

  /** Logins so far, the first included. */
  get loginCount(): number {
    return this.#logins;
  }

  get userSession(): UserSession | undefined {
    return this.#user;
  }

  async login(signal?: AbortSignal): Promise<UserSession> {
    this.#opts.clearCookie();
    const user = await login(this.#inner, this.#opts.sessionManager, this.#opts.username, this.#password, signal === undefined ? {} : { signal });
    this.#user = user;
    this.#generation++;
    this.#logins++;
    this.#lastActivity = Date.now();
    this.#opts.logger.info({ user: this.#opts.username, generation: this.#generation }, 'vSphere session established');
    this.#startKeepAlive();
    return user;
  }

  async roundTrip(call: SoapCall): Promise<unknown> {
    const generation = this.#generation;
    this.#lastActivity = Date.now();
    try {
      return checkAuthenticated(call.method, await this.#inner.roundTrip(call));
    } catch (err) {
      if (this.#closed || call.method === 'Login' || call.method === 'Logout' || !isFault(err, 'NotAuthenticated')) throw err;
      this.#opts.logger.warn({ method: call.method, opId: call.opId }, 'vSphere session lost; logging in again');
      await this.#reloginOnce(generation, call.signal);
      return checkAuthenticated(call.method, await this.#inner.roundTrip(call));
    }
  }

  #reloginOnce(failedGeneration: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#generation !== failedGeneration) return Promise.resolve(); // someone already did
    this.#relogin ??= this.login(signal).then(
      () => {
        this.#relogin = undefined;
      },
      (err: unknown) => {
        this.#relogin = undefined;
        throw err;
      },
    );
    return this.#relogin;
  }

  #startKeepAlive(): void {
    if (this.#timer !== undefined || this.#opts.keepAliveMs <= 0) return;
    const every = this.#opts.keepAliveMs;
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastActivity < every) return;
      currentTime(this, { timeoutMs: Math.min(every, 30_000) }).catch((err: unknown) => {
        this.#opts.logger.warn({ err: (err as Error).message }, 'vSphere keepalive failed');
      });
    }, Math.max(100, Math.floor(every / 2)));
    this.#timer.unref();
  }

  /** Stops the keepalive and logs out; later calls fail rather than log in again. */
  async logout(signal?: AbortSignal): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    this.#closed = true;
    if (this.#user === undefined) return;
    try {
      await logout(this.#inner, this.#opts.sessionManager, { ...(signal === undefined ? {} : { signal }), timeoutMs: 10_000 });
      this.#opts.logger.info({ user: this.#opts.username }, 'vSphere session closed');
    } catch (err) {
      if (!isFault(err, 'NotAuthenticated')) throw err;
    }
  }
}

/**
 * vcsim (like some vCenter versions) answers RetrieveProperties from a dead session with
 * per-property NotAuthenticated entries instead of a fault; treat that as the fault.
 */
function checkAuthenticated(method: string, result: unknown): unknown {
  if (method !== 'RetrievePropertiesEx' && method !== 'ContinueRetrievePropertiesEx') return result;
  for (const o of (result as RetrieveResult | undefined)?.objects ?? []) {
    for (const m of o.missingSet ?? []) {
      const fault = m.fault.fault as MethodFault | undefined;
      if (fault !== undefined && fault._type === 'NotAuthenticated') throw createVimFault(fault, 'session is not authenticated', { method });
    }
  }
  return result;
}
