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

const ISO8601 = /^(\d{4})-?(\d{1,2})-?(\d{1,2})(?:[ T](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses a timestamp as Nova's query schemas do (oslo parse_isotime: ISO 8601 only, a
 * missing zone meaning UTC) and returns it in UTC ISO form, or undefined when it is not
 * one. Date.parse is not used: it also takes forms such as `2011/01/01` that Nova refuses.
 */
export function parseIsoTime(text: string): string | undefined {
  const m = ISO8601.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const n = (v: string | undefined) => Number(v ?? '0');
  if (n(mo) < 1 || n(mo) > 12 || n(d) < 1 || n(d) > 31 || n(h) > 23 || n(mi) > 59 || n(s) > 59) return undefined;
  const ms = Number(`0.${frac || '0'}`) * 1000;
  let t = Date.UTC(n(y), n(mo) - 1, n(d), n(h), n(mi), n(s), ms);
  if (new Date(t).getUTCDate() !== n(d)) return undefined; // e.g. 2011-02-30
  if (zone.toUpperCase() !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
    if (!zm) return undefined;
    const offset = (Number(zm[2]) * 60 + Number(zm[3] ?? '0')) * 60_000;
    t -= zm[1] === '+' ? offset : -offset;
  }
  return new Date(t).toISOString();
}
