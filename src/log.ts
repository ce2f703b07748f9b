import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured logs. Secrets never reach a log line: every key that can carry one is
 * redacted here, once, rather than at each call site.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'host_password',
  '*.host_password',
  'token',
  '*.token',
  'headers["x-auth-token"]',
  'headers["x-subject-token"]',
  'req.headers["x-auth-token"]',
  'req.headers["x-subject-token"]',
  'req.headers.cookie',
  'cookie',
  '*.cookie',
];

export function createLogger(options: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env['POLYVISOR_LOG_LEVEL'] ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '***' },
  };
  if (options.name !== undefined) opts.name = options.name;
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A logger that writes nothing: for unit tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
