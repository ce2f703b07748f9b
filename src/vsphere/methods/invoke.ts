import { VsphereTransportError } from '../soap/errors.js';
import type { CallOptions, RoundTripper } from '../soap/round-tripper.js';
import { isMoref, type ManagedObjectReference } from '../types/moref.js';

/** Whether a method may be sent again without changing the outcome. */
export type Idempotency = 'idempotent' | 'once';

/** Sends one vSphere method through the stack. The typed wrappers in this folder call it. */
export function invoke(
  rt: RoundTripper,
  method: string,
  target: ManagedObjectReference,
  params: Readonly<Record<string, unknown>>,
  idempotency: Idempotency,
  options: CallOptions = {},
): Promise<unknown> {
  return rt.roundTrip({
    method,
    this: target,
    params,
    idempotent: idempotency === 'idempotent',
    ...(options.opId === undefined ? {} : { opId: options.opId }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

function unexpected(method: string, what: string): VsphereTransportError {
  return new VsphereTransportError(`${method} returned ${what}`, { retryable: false, sent: true, details: { method } });
}

export function expectMoref(v: unknown, method: string): ManagedObjectReference {
  if (!isMoref(v)) throw unexpected(method, 'no managed object reference');
  return v;
}

/** A returned data object, checked to be an object (its fields are typed by the caller's interface). */
export function expectObject<T>(v: unknown, method: string): T {
  if (typeof v !== 'object' || v === null) throw unexpected(method, 'no data object');
  return v as T;
}

export function expectArray<T>(v: unknown, method: string): T[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw unexpected(method, 'no array');
  return v as T[];
}

/** Drops keys whose value is undefined (exactOptionalPropertyTypes-friendly parameter objects). */
export function defined(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
}
