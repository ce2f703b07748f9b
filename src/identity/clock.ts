/** Milliseconds since the epoch. Injected so tests can move time (token expiry) without waiting. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** Keystone's timestamp form: microseconds and a Z, e.g. 2026-01-02T03:04:05.000000Z. */
export function keystoneTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z');
}
