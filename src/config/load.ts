import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { parseIni, type IniEntry } from './ini.js';
import { SCHEMA, type Config } from './options.js';
import type { AnyOpt, SectionSchema } from './types.js';

export interface LoadedConfig {
  readonly config: Config;
  /** Things worth one log line at start-up: ignored options, deprecated locations. */
  readonly notices: readonly string[];
  readonly files: readonly string[];
}

/** Sections whose options are mapped onto another section for compatibility. */
const MOVED: Readonly<Record<string, readonly [string, string]>> = {
  'DEFAULT.remove_unused_base_images': ['image_cache', 'remove_unused_base_images'],
  'DEFAULT.remove_unused_original_minimum_age_seconds': ['image_cache', 'remove_unused_original_minimum_age_seconds'],
  'DEFAULT.image_cache_subdirectory_name': ['image_cache', 'subdirectory_name'],
  'DEFAULT.osapi_compute_listen': ['api', 'listen'],
  'DEFAULT.libvirt_type': ['libvirt', 'virt_type'],
  'DEFAULT.vnc_enabled': ['vnc', 'enabled'],
  'DEFAULT.vncserver_listen': ['vnc', 'server_listen'],
  'DEFAULT.vncserver_proxyclient_address': ['vnc', 'server_proxyclient_address'],
  'DEFAULT.novncproxy_base_url': ['vnc', 'novncproxy_base_url'],
  'DEFAULT.osapi_compute_listen_port': ['api', 'port'],
};

/**
 * Sections of a nova.conf that configure OpenStack services Polyvisor replaces (message
 * queue, placement, keystonemiddleware, neutron, ...). A nova.conf copied from an
 * OpenStack deployment keeps working: their options are read, logged once and ignored.
 */
const FOREIGN_SECTIONS: ReadonlySet<string> = new Set([
  'keystone_authtoken', 'placement', 'neutron', 'glance', 'cinder', 'conductor', 'wsgi', 'cache',
  'notifications', 'upgrade_levels', 'oslo_concurrency', 'oslo_messaging_rabbit', 'oslo_messaging_notifications',
  'oslo_policy', 'oslo_middleware', 'api_database', 'cells', 'serial_console', 'spice', 'key_manager', 'barbican',
  'service_user', 'workarounds', 'privsep', 'os_brick', 'metrics', 'pci', 'cors', 'healthcheck',
]);

/** Old values that name no hypervisor type: accepted with a notice rather than refused. */
const IGNORED_MOVED_VALUES: Readonly<Record<string, ReadonlySet<string>>> = {
  'DEFAULT.libvirt_type': new Set(['vmwareapi', 'vmware', 'xen', 'lxc', 'uml', 'parallels']),
};

/**
 * Reads nova.conf-style files (later files override earlier ones, as oslo.config does),
 * then `overrides` (section → option → raw string), and validates every value.
 */
export function loadConfig(files: readonly string[], overrides: Readonly<Record<string, Readonly<Record<string, string>>>> = {}): LoadedConfig {
  const entries: (IniEntry & { file: string })[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { file });
    }
    for (const e of parseIni(text, file)) entries.push({ ...e, file });
  }
  for (const [section, opts] of Object.entries(overrides)) {
    for (const [key, value] of Object.entries(opts)) entries.push({ section, key, value, line: 0, file: '<command line>' });
  }
  return buildConfig(entries, files);
}

export function configFromText(text: string, file = '<text>'): LoadedConfig {
  return buildConfig(parseIni(text, file).map((e) => ({ ...e, file })), [file]);
}

function buildConfig(entries: readonly (IniEntry & { file: string })[], files: readonly string[]): LoadedConfig {
  const raw = new Map<string, Map<string, { values: string[]; where: string }>>();
  const notices: string[] = [];
  const schema: Readonly<Record<string, SectionSchema>> = SCHEMA;

  for (const e of entries) {
    const where = e.line > 0 ? `${e.file}:${e.line}` : e.file;
    const sectionSchema = schema[e.section];
    if (!sectionSchema && FOREIGN_SECTIONS.has(e.section)) {
      notices.push(`${where}: [${e.section}] ${e.key} is accepted but has no effect: Polyvisor has no separate ${e.section} service to configure`);
      continue;
    }
    if (!sectionSchema) {
      throw new ConfigError(
        `${where}: unknown section [${e.section}]; known sections: ${Object.keys(SCHEMA).map((s) => `[${s}]`).join(', ')}`,
        { file: e.file, section: e.section },
      );
    }
    const def = sectionSchema[e.key];
    if (!def) {
      const hint = closest(e.key, Object.keys(sectionSchema));
      throw new ConfigError(`${where}: unknown option "${e.key}" in section [${e.section}]${hint ? ` (did you mean "${hint}"?)` : ''}`, {
        file: e.file,
        section: e.section,
        option: e.key,
      });
    }
    let section = e.section;
    let key = e.key;
    const moved = MOVED[`${e.section}.${e.key}`];
    if (moved && IGNORED_MOVED_VALUES[`${e.section}.${e.key}`]?.has(e.value)) {
      notices.push(`${where}: [${e.section}] ${e.key} = ${e.value} is ignored: compute_driver selects the hypervisor`);
      continue;
    }
    if (moved) {
      notices.push(`${where}: [${e.section}] ${e.key} is deprecated; read as [${moved[0]}] ${moved[1]}`);
      [section, key] = moved;
    }
    if (def.ignoredBecause) notices.push(`${where}: [${e.section}] ${e.key} is accepted but has no effect: ${def.ignoredBecause}`);
    let sec = raw.get(section);
    if (!sec) {
      sec = new Map<string, { values: string[]; where: string }>();
      raw.set(section, sec);
    }
    const existing = sec.get(key);
    const target = schema[section]?.[key];
    if (existing && target?.kind === 'multi') existing.values.push(e.value);
    else sec.set(key, { values: [e.value], where });
  }

  const lookup = (section: string, name: string): string | undefined => raw.get(section)?.get(name)?.values[0] ?? raw.get('DEFAULT')?.get(name)?.values[0];
  const out: Record<string, Record<string, unknown>> = {};
  for (const [sectionName, sectionSchema] of Object.entries(schema)) {
    const values: Record<string, unknown> = {};
    for (const [name, def] of Object.entries(sectionSchema)) {
      const given = raw.get(sectionName)?.get(name);
      if (!given) {
        values[name] = typeof def.default === 'string' ? interpolate(def.default, sectionName, lookup, schema) : def.default;
        continue;
      }
      const texts = given.values.map((v) => interpolate(v, sectionName, lookup, schema));
      values[name] = convert(def, texts, { where: given.where, section: sectionName, option: name });
    }
    out[sectionName] = values;
  }
  return { config: out as unknown as Config, notices, files };
}

function convert(def: AnyOpt, texts: readonly string[], at: { where: string; section: string; option: string }): unknown {
  const text = texts[texts.length - 1] ?? '';
  const fail = (expected: string): never => {
    throw new ConfigError(`${at.where}: [${at.section}] ${at.option} = "${def.kind === 'secret' ? '***' : text}" is invalid: expected ${expected}`, {
      section: at.section,
      option: at.option,
    });
  };
  const checkRange = (n: number): number => {
    if (def.min !== undefined && n < def.min) fail(`a number >= ${def.min}`);
    if (def.max !== undefined && n > def.max) fail(`a number <= ${def.max}`);
    return n;
  };
  switch (def.kind) {
    case 'string':
    case 'secret':
      if (def.choices && !def.choices.includes(text)) fail(`one of ${def.choices.join(', ')}`);
      return text;
    case 'int': {
      if (def.default === null && text === '') return null;
      if (!/^[-+]?\d+$/.test(text)) fail('an integer');
      return checkRange(Number.parseInt(text, 10));
    }
    case 'float': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) fail('a number');
      return checkRange(n);
    }
    case 'bool': {
      const v = text.toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return true;
      if (['false', 'no', 'off', '0'].includes(v)) return false;
      return fail('a boolean (true/false, yes/no, on/off, 1/0)');
    }
    case 'multi':
      return texts.flatMap((t) => t.split('\n')).map((t) => t.trim()).filter((t) => t !== '');
    case 'list':
      return text.split(',').map((t) => t.trim()).filter((t) => t !== '');
  }
}

/** oslo.config substitution: `$name` and `${name}` refer to options of the same section or [DEFAULT]. */
function interpolate(
  value: string,
  section: string,
  lookup: (section: string, name: string) => string | undefined,
  schema: Readonly<Record<string, SectionSchema>>,
  depth = 0,
): string {
  if (!value.includes('$') || depth > 10) return value;
  return value.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (m, braced: string | undefined, bare: string | undefined) => {
    if (m === '$$') return '$';
    const name = braced ?? bare ?? '';
    const found = lookup(section, name) ?? defaultText(schema[section]?.[name] ?? schema['DEFAULT']?.[name]);
    if (found === undefined) throw new ConfigError(`[${section}]: "${m}" refers to an option that does not exist`, { section, option: name });
    return interpolate(found, section, lookup, schema, depth + 1);
  });
}

function defaultText(def: AnyOpt | undefined): string | undefined {
  if (!def || def.default === null) return undefined;
  return Array.isArray(def.default) ? def.default.join(',') : String(def.default);
}

/** The most similar known name, for "did you mean" hints. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] ?? 0;
      prev[j] = Math.min((prev[j] ?? 0) + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] ?? 0;
}
