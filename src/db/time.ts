/** Timestamps are stored as ISO-8601 UTC text on every dialect. */
export function now(): string {
  return new Date().toISOString();
}

export function isoAfter(ms: number, from: number = Date.now()): string {
  return new Date(from + ms).toISOString();
}

/** OpenStack's API shows times without milliseconds: 2026-11-21T06:17:00Z. */
export function apiTime(iso: string | null): string | null {
  return iso === null ? null : iso.replace(/\.\d{3}Z$/, 'Z');
}
