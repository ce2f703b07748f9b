import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ClientRequest, OutgoingHttpHeaders } from 'node:http';
import { morefKey } from '../types/moref.js';
import { buildEnvelope, parseEnvelope } from './envelope.js';
import { VsphereAbortError, VsphereTimeoutError, VsphereTlsError, VsphereTransportError } from './errors.js';
import type { RoundTripper, SoapCall } from './round-tripper.js';

export interface HttpTransportOptions {
  /** The SDK endpoint, e.g. https://vcenter.example.org/sdk. */
  readonly url: string | URL;
  /** PEM certificates to trust instead of the system store ([vmware] ca_file, already read). */
  readonly ca?: string | Buffer;
  /** Skip certificate verification ([vmware] insecure). */
  readonly insecure?: boolean;
  /** Upper bound on open connections (and on kept-alive idle ones). */
  readonly maxSockets?: number;
  /** Per-call timeout unless the call says otherwise. */
  readonly timeoutMs?: number;
  /** The vim25 API version for SOAPAction. */
  readonly apiVersion?: string;
}

const TLS_CODES: ReadonlySet<string> = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const TRANSIENT_CODES: ReadonlySet<string> = new Set([...NOT_SENT_CODES, 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

export interface StreamRequest {
  readonly method: 'GET' | 'PUT' | 'POST';
  /** Path and query, e.g. /folder/x.vmdk?dcPath=DC0&dsName=ds1. */
  readonly path: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly signal?: AbortSignal;
}

/**
 * SOAP over HTTP(S) with a bounded keep-alive pool and the session cookie. One instance
 * per vCenter; the session layer sets and clears the cookie.
 */
export class HttpTransport implements RoundTripper {
  readonly url: URL;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #timeoutMs: number;
  #apiVersion: string;
  #cookie: string | undefined;

  constructor(options: HttpTransportOptions) {
    this.url = new URL(options.url);
    const maxSockets = options.maxSockets ?? 8;
    const common = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const };
    if (this.url.protocol === 'https:') {
      this.#agent = new https.Agent({ ...common, rejectUnauthorized: options.insecure !== true, ...(options.ca === undefined ? {} : { ca: options.ca }) });
      this.#request = https.request;
    } else {
      this.#agent = new http.Agent(common);
      this.#request = http.request;
    }
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#apiVersion = options.apiVersion ?? '6.5';
  }

  /** The session cookie header value, if logged in. */
  get cookie(): string | undefined {
    return this.#cookie;
  }

  clearCookie(): void {
    this.#cookie = undefined;
  }

  set apiVersion(v: string) {
    this.#apiVersion = v;
  }

  async roundTrip(call: SoapCall): Promise<unknown> {
    const body = buildEnvelope(call.method, call.this, call.params, call.opId);
    const timeoutMs = call.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal === undefined ? timeout : AbortSignal.any([call.signal, timeout]);
    const headers: OutgoingHttpHeaders = {
      'Content-Type': 'text/xml; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      SOAPAction: `"urn:vim25/${this.#apiVersion}"`,
      'User-Agent': 'polyvisor',
    };
    if (this.#cookie !== undefined) headers['Cookie'] = this.#cookie;
    let res: IncomingMessage;
    let text: string;
    try {
      const { req, response } = this.open({ method: 'POST', path: this.url.pathname + this.url.search, headers, signal });
      req.end(body);
      res = await response;
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      if (timeout.aborted) throw new VsphereTimeoutError(call.method, timeoutMs, call.opId);
      if (call.signal?.aborted === true) throw new VsphereAbortError(call.method, call.signal.reason);
      throw this.transportError(err, call.method);
    }
    this.#keepCookie(res);
    const isXml = /xml/i.test(res.headers['content-type'] ?? '') || text.startsWith('<?xml');
    if ((res.statusCode === 200 || res.statusCode === 500) && isXml) {
      const context = { method: call.method, target: morefKey(call.this), ...(call.opId === undefined ? {} : { opId: call.opId }) };
      return parseEnvelope(text, call.method, context);
    }
    const status = res.statusCode ?? 0;
    throw new VsphereTransportError(`HTTP ${status} from ${this.url.origin} for ${call.method}`, {
      retryable: status === 502 || status === 503 || status === 504 || status === 429,
      sent: true,
      details: { status, method: call.method },
    });
  }

  /**
   * Opens a request on the pooled agent with the session cookie; the response promise
   * resolves on headers. For the datastore file streams.
   */
  open(r: StreamRequest): { req: ClientRequest; response: Promise<IncomingMessage> } {
    const headers: OutgoingHttpHeaders = { ...r.headers };
    if (this.#cookie !== undefined && headers['Cookie'] === undefined) headers['Cookie'] = this.#cookie;
    const req = this.#request({
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port,
      method: r.method,
      path: r.path,
      headers,
      agent: this.#agent,
      ...(r.signal === undefined ? {} : { signal: r.signal }),
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    return { req, response };
  }

  /** Maps a Node socket/TLS error to a typed error that says what happened and where. */
  transportError(err: unknown, method: string): Error {
    const code = (err as { code?: unknown }).code;
    const c = typeof code === 'string' ? code : '';
    if (TLS_CODES.has(c)) return new VsphereTlsError(this.url.origin, (err as Error).message, err);
    return new VsphereTransportError(`cannot reach ${this.url.origin} for ${method}: ${(err as Error).message}`, {
      cause: err,
      retryable: TRANSIENT_CODES.has(c),
      sent: !NOT_SENT_CODES.has(c),
      details: { code: c, method },
    });
  }

  #keepCookie(res: IncomingMessage): void {
    for (const c of res.headers['set-cookie'] ?? []) {
      const pair = c.split(';', 1)[0];
      if (pair?.startsWith('vmware_soap_session=') === true) this.#cookie = pair;
    }
  }

  /** Closes pooled connections. */
  close(): void {
    this.#agent.destroy();
  }
}
