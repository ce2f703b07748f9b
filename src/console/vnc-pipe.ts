import { connect, type Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { clip } from './refusals.js';

/** Limits of one console connection ([console] idle_timeout, max_session_seconds, connect_timeout). */
export interface PipeLimits {
  /** No data either way for this long closes the connection; 0: never. */
  readonly idleMs: number;
  /** The connection closes after this long at most; 0: never. */
  readonly maxMs: number;
  readonly connectTimeoutMs: number;
}

/** The VNC server to reach and how to name it to a user ("the ESX host's VNC port"). */
export interface VncTarget {
  readonly host: string;
  readonly port: number;
  readonly label: string;
}

/** How a console connection ended, for the log line and the tests. */
export interface PipeEnd {
  readonly outcome: 'client_closed' | 'server_closed' | 'connect_failed' | 'server_error' | 'idle' | 'max_session' | 'protocol';
  readonly detail: string;
  /** Milliseconds to connect to the VNC server (undefined: never connected). */
  readonly connectMs: number | undefined;
  readonly bytesToClient: number;
  readonly bytesToServer: number;
  readonly durationMs: number;
}

/** Close codes beside 1000: application-defined (4000-4999), mirroring HTTP statuses. */
export const CloseCode = {
  UNREACHABLE: 4502,
  IDLE: 4408,
  SERVER_LOST: 4504,
} as const;

/**
 * Above this many bytes queued towards the browser the VNC server is no longer read
 * (TCP backpressure reaches QEMU or the ESX host); reading resumes below a quarter of it.
 */
const HIGH_WATER_BYTES = 1 << 20;
const LOW_WATER_BYTES = HIGH_WATER_BYTES / 4;

/**
 * Pipes one websocket (noVNC, binary frames) to a TCP connection to a VNC server, with
 * backpressure both ways; when either side ends, the other is closed too, with a close
 * reason a user can read. The websocket is paused until the VNC server answers, so nothing
 * the browser sends is lost or reordered.
 */
export function pipeToVnc(
  ws: WebSocket,
  target: VncTarget,
  limits: PipeLimits,
  onEnd: (end: PipeEnd) => void,
  /** Runs (and is awaited) before the websocket is closed because the VNC server could not be reached. */
  beforeUnreachableClose: () => Promise<void> = () => Promise.resolve(),
): void {
  const started = Date.now();
  let connectMs: number | undefined;
  let bytesToClient = 0;
  let bytesToServer = 0;
  let ended = false;
  ws.pause();
  const tcp: Socket = connect({ host: target.host, port: target.port });
  tcp.setNoDelay(true);

  const timers: NodeJS.Timeout[] = [];
  const finish = (outcome: PipeEnd['outcome'], detail: string, close?: { code: number; reason: string }): void => {
    if (ended) return;
    ended = true;
    for (const t of timers) clearTimeout(t);
    tcp.destroy();
    onEnd({ outcome, detail, connectMs, bytesToClient, bytesToServer, durationMs: Date.now() - started });
    const closeWs = (): void => {
      // A paused websocket would not read the browser's answering close frame.
      ws.resume();
      if (close !== undefined && (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING)) ws.close(close.code, clip(close.reason));
      else if (ws.readyState !== ws.CLOSED) ws.terminate();
    };
    if (outcome === 'connect_failed') void beforeUnreachableClose().finally(closeWs);
    else closeWs();
  };

  const connectTimer = setTimeout(() => {
    const seconds = Math.round(limits.connectTimeoutMs / 1000);
    const detail = `no answer within ${seconds} s`;
    finish('connect_failed', detail, { code: CloseCode.UNREACHABLE, reason: `could not connect to ${target.label} ${endpoint(target)}: ${detail}` });
  }, limits.connectTimeoutMs);
  timers.push(connectTimer);

  let idleTimer: NodeJS.Timeout | undefined;
  const active = (): void => {
    idleTimer?.refresh();
  };

  tcp.once('connect', () => {
    clearTimeout(connectTimer);
    connectMs = Date.now() - started;
    if (limits.idleMs > 0) {
      idleTimer = setTimeout(() => {
        const s = Math.round(limits.idleMs / 1000);
        finish('idle', `no data for ${s} s`, { code: CloseCode.IDLE, reason: `console closed after ${s} s without activity` });
      }, limits.idleMs);
      timers.push(idleTimer);
    }
    if (limits.maxMs > 0) {
      const s = Math.round(limits.maxMs / 1000);
      timers.push(setTimeout(() => finish('max_session', `reached ${s} s`, { code: CloseCode.IDLE, reason: `console closed: sessions last at most ${s} s` }), limits.maxMs));
    }
    ws.resume();
  });

  tcp.on('error', (err: NodeJS.ErrnoException) => {
    if (connectMs === undefined) {
      const detail = describeSocketError(err, target.host);
      finish('connect_failed', detail, { code: CloseCode.UNREACHABLE, reason: `could not connect to ${target.label} ${endpoint(target)}: ${detail}` });
    } else {
      const detail = describeSocketError(err, target.host);
      finish('server_error', detail, { code: CloseCode.SERVER_LOST, reason: `lost the connection to ${target.label}: ${detail}` });
    }
  });
  tcp.on('close', () => finish('server_closed', 'the VNC server closed the connection', { code: 1000, reason: 'the VNC server closed the connection' }));

  // VNC server → browser: stop reading the server while the browser is behind.
  tcp.on('data', (chunk: Buffer) => {
    active();
    bytesToClient += chunk.length;
    ws.send(chunk, { binary: true }, () => {
      if (tcp.isPaused() && ws.bufferedAmount < LOW_WATER_BYTES) tcp.resume();
    });
    if (ws.bufferedAmount > HIGH_WATER_BYTES) tcp.pause();
  });

  // Browser → VNC server: stop reading the websocket while the server's socket is full.
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (!isBinary) {
      finish('protocol', 'text frame', { code: 1003, reason: 'the console proxy carries binary frames only (noVNC "binary" subprotocol)' });
      return;
    }
    active();
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    bytesToServer += buf.length;
    if (!tcp.write(buf)) {
      ws.pause();
      tcp.once('drain', () => ws.resume());
    }
  });
  ws.on('close', () => finish('client_closed', 'the browser closed the connection'));
  ws.on('error', () => finish('client_closed', 'websocket error'));
}

function endpoint(t: VncTarget): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

/** A socket error in a user's words ("connection refused"), never a stack. */
export function describeSocketError(err: NodeJS.ErrnoException, host: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ETIMEDOUT':
      return 'connection timed out';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `host name ${host} does not resolve`;
    case 'ECONNRESET':
      return 'connection reset';
    case 'EPIPE':
      return 'connection closed by the VNC server';
    default:
      return err.code ?? err.message;
  }
}
