import type { ManagedObjectReference } from '../types/moref.js';

/** One vSphere method call, as it travels down the decorator stack. */
export interface SoapCall {
  /** The wire name: PowerOnVM_Task, RetrievePropertiesEx, ... */
  readonly method: string;
  readonly this: ManagedObjectReference;
  /** Parameters after `_this`, by their wire names. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Safe to send twice: reads, and writes that converge (Logout, DestroyPropertyFilter). */
  readonly idempotent: boolean;
  readonly opId?: string;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/**
 * The one interface every layer shares, as govmomi's soap.RoundTripper: cross-cutting
 * behaviour (opID stamping, logging, counting, retry, re-login, keepalive) is a decorator
 * around it, never a flag inside the transport.
 */
export interface RoundTripper {
  roundTrip(call: SoapCall): Promise<unknown>;
}

/** What every friendly method accepts. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  /** Overrides the client's per-call timeout. */
  readonly timeoutMs?: number;
  /** A fixed opID for this call; by default `polyvisor-<uuid>` (plus the request id, if any). */
  readonly opId?: string;
}
