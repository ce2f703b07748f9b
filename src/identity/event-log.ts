/** The part of a logger identity events need: satisfied by pino and by Fastify's per-request logger. */
export interface EventLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
