/**
 * `hypervisor_version_requires` as Nova reads it (distutils VersionPredicate): one or more
 * comma-separated comparisons, e.g. ">=6.0" or ">= 6.5, < 8". Versions compare numerically
 * part by part; a missing part counts as 0.
 */
export type VersionCheck = (version: string) => boolean;

const OPS: Readonly<Record<string, (c: number) => boolean>> = {
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '==': (c) => c === 0,
  '=': (c) => c === 0,
  '!=': (c) => c !== 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
};

/** Returns the check, or null when the text is not a predicate (the caller reports it). */
export function parseVersionPredicate(text: string): VersionCheck | null {
  const checks: VersionCheck[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(<=|>=|==|!=|<|>|=)?\s*(\d+(?:\.\d+)*)\s*$/.exec(part);
    if (!m) return null;
    const op = OPS[m[1] ?? '=='];
    const want = m[2] ?? '';
    if (!op) return null;
    checks.push((v) => op(compareVersions(v, want)));
  }
  return checks.length === 0 ? null : (v) => checks.every((c) => c(v));
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Nova's convert_version_to_str: 6005000 → "6.5.0" (three digits per part). */
export function versionToString(version: number): string {
  const parts: number[] = [];
  let v = version;
  while (v !== 0) {
    parts.unshift(v % 1000);
    v = Math.floor(v / 1000);
  }
  return parts.length === 0 ? '0' : parts.join('.');
}
