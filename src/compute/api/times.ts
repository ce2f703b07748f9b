/**
 * Nova shows some timestamps as Python's datetime.isoformat() of a naive UTC datetime
 * (instance actions, keypairs, services): `2026-11-21T06:17:00.123000`, no zone.
 */
export function pythonIsoTime(iso: string | null): string | null {
  if (iso === null) return null;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z?$/.exec(iso);
  if (!m) return iso;
  return `${m[1]}.${(m[2] ?? '').padEnd(6, '0').slice(0, 6)}`;
}
