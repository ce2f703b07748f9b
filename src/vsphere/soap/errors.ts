import { PolyvisorError } from '../../errors.js';

/**
 * The vCenter could not be reached or answered something that is not SOAP: refused or
 * reset connections, an unexpected HTTP status, a malformed body. Connection failures
 * are retryable; `sent` says whether the request may have reached the server (a call
 * that is not idempotent is retried only when it certainly did not).
 */
export class VsphereTransportError extends PolyvisorError {
  readonly sent: boolean;
  constructor(message: string, options: { cause?: unknown; retryable: boolean; sent: boolean; details?: Record<string, unknown> }) {
    super('vsphere_transport', message, { cause: options.cause, retryable: options.retryable, details: options.details ?? {} });
    this.sent = options.sent;
  }
}

/** The server's certificate could not be verified: says how to fix it. */
export class VsphereTlsError extends PolyvisorError {
  constructor(url: string, reason: string, cause: unknown) {
    super('vsphere_tls', `TLS verification of ${url} failed: ${reason}. Trust its CA with ca_file, or (not for production) set insecure.`, {
      cause,
      details: { url, reason },
    });
  }
}

/** A call took longer than its timeout. */
export class VsphereTimeoutError extends PolyvisorError {
  constructor(method: string, timeoutMs: number, opId: string | undefined) {
    super('vsphere_timeout', `vSphere call ${method} timed out after ${timeoutMs} ms`, { retryable: true, details: { method, timeoutMs, opId } });
  }
}

/** The caller aborted the call through its AbortSignal. */
export class VsphereAbortError extends PolyvisorError {
  constructor(method: string, reason: unknown) {
    super('vsphere_aborted', `vSphere call ${method} was aborted`, { cause: reason });
  }
}
