import { ConfigError } from '../errors.js';

/** One `key = value` as written, with where it was written (for error messages). */
export interface IniEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/**
 * Parses the INI dialect of oslo.config (nova.conf): `[section]` headers, `key = value`
 * or `key: value`, `#` and `;` comment lines, indented continuation lines, and repeated
 * keys kept in order (multi-valued options such as `[vmware] cluster_name`). No inline
 * comments: oslo.config keeps `#` inside a value, and so do we.
 *
 * Hand-written because the npm INI parsers collapse repeated keys, which this dialect needs.
 */
export function parseIni(text: string, file: string): IniEntry[] {
  const entries: IniEntry[] = [];
  let section: string | null = null;
  let last: { section: string; key: string; value: string; line: number } | null = null;
  const lines = text.split(/\r?\n/);
  const flush = () => {
    if (last) entries.push({ ...last });
    last = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    if (/^\s*$/.test(raw)) {
      flush();
      continue;
    }
    if (/^\s*[#;]/.test(raw)) continue;
    if (/^\s/.test(raw) && last) {
      // Continuation of the previous value.
      last.value += '\n' + raw.trim();
      continue;
    }
    const header = /^\[([^\]]*)\]\s*$/.exec(raw);
    if (header) {
      flush();
      const name = (header[1] ?? '').trim();
      if (name === '') throw new ConfigError(`${file}:${lineNo}: empty section name`, { file });
      section = name;
      continue;
    }
    const kv = /^\s*([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!kv) throw new ConfigError(`${file}:${lineNo}: cannot parse line "${raw.trim().slice(0, 80)}": expected "key = value" or "[section]"`, { file });
    if (section === null) {
      throw new ConfigError(`${file}:${lineNo}: option "${kv[1] ?? ''}" appears before any [section] header`, { file, option: kv[1] ?? '' });
    }
    flush();
    last = { section, key: kv[1] ?? '', value: stripQuotes((kv[2] ?? '').trim()), line: lineNo };
  }
  flush();
  return entries;
}

function stripQuotes(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}
