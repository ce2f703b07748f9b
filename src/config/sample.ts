import { SCHEMA } from './options.js';
import type { AnyOpt } from './types.js';

/** A commented sample configuration with every option and its default, like oslo-config-generator's. */
export function sampleConfig(): string {
  const out: string[] = [];
  for (const [section, options] of Object.entries(SCHEMA)) {
    out.push(`[${section}]`, '');
    for (const [name, def] of Object.entries(options) as [string, AnyOpt][]) {
      out.push(`# ${def.help}`);
      const facts = [`type: ${def.kind}`];
      if (def.choices) facts.push(`choices: ${def.choices.join(', ')}`);
      if (def.min !== undefined) facts.push(`min: ${def.min}`);
      if (def.max !== undefined) facts.push(`max: ${def.max}`);
      if (def.ignoredBecause) facts.push(`no effect: ${def.ignoredBecause}`);
      out.push(`# (${facts.join('; ')})`);
      out.push(`#${name} = ${defaultText(name, def)}`, '');
    }
  }
  return out.join('\n');
}

function defaultText(name: string, def: AnyOpt): string {
  if (name === 'host') return '<this machine\'s hostname>';
  if (name === 'state_path') return '~/.polyvisor';
  if (def.default === null) return '<None>';
  if (Array.isArray(def.default)) return def.default.join(',');
  return String(def.default);
}
