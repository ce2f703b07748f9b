import { VIM25_SCHEMA_TEXT } from './generated/vim25-schema.js';

/** One field of a vim25 data type, in wire order. */
export interface FieldDef {
  readonly name: string;
  /** A vim25 type name, or a scalar: string boolean byte short int long float double dateTime base64Binary anyType MOR. */
  readonly type: string;
  readonly array: boolean;
}

export interface TypeDef {
  readonly name: string;
  readonly base: string | undefined;
  /** Own fields followed by nothing inherited; see {@link Vim25Schema.fields}. */
  readonly own: readonly FieldDef[];
}

export const SCALAR_TYPES: ReadonlySet<string> = new Set([
  'string', 'boolean', 'byte', 'short', 'int', 'long', 'float', 'double', 'dateTime', 'base64Binary', 'anyType', 'MOR',
]);

/**
 * The vim25 data-object schema (generated from govmomi's types by tools/vcsim/gen-types.sh):
 * what the encoder needs to emit fields in wire order and the decoder needs to know which
 * fields repeat and which are numbers, references or nested objects.
 */
export class Vim25Schema {
  readonly #types = new Map<string, TypeDef>();
  readonly #fields = new Map<string, readonly FieldDef[]>();
  readonly #byName = new Map<string, ReadonlyMap<string, FieldDef>>();

  constructor(text: string) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const [name, base, ...fields] = line.split(' ');
      if (name === undefined || base === undefined) continue;
      const own = fields.map((f): FieldDef => {
        const i = f.indexOf(':');
        const type = f.slice(i + 1);
        const array = type.endsWith('[]');
        return { name: f.slice(0, i), type: array ? type.slice(0, -2) : type, array };
      });
      this.#types.set(name, { name, base: base === '-' ? undefined : base, own });
    }
  }

  has(type: string): boolean {
    return this.#types.has(type);
  }

  /** All fields of a type, inherited ones first, as the XSD sequence orders them. */
  fields(type: string): readonly FieldDef[] {
    let all = this.#fields.get(type);
    if (all === undefined) {
      const def = this.#types.get(type);
      all = def === undefined ? [] : [...(def.base === undefined ? [] : this.fields(def.base)), ...def.own];
      this.#fields.set(type, all);
    }
    return all;
  }

  field(type: string, name: string): FieldDef | undefined {
    let byName = this.#byName.get(type);
    if (byName === undefined) {
      byName = new Map(this.fields(type).map((f) => [f.name, f]));
      this.#byName.set(type, byName);
    }
    return byName.get(name);
  }

  /** Whether `type` is `ancestor` or derives from it (InvalidPowerState is an InvalidState). */
  isA(type: string, ancestor: string): boolean {
    for (let t: string | undefined = type; t !== undefined; t = this.#types.get(t)?.base) {
      if (t === ancestor) return true;
    }
    return false;
  }

  /** The chain from `type` up to its root: [InvalidPowerState, InvalidState, VimFault, MethodFault]. */
  ancestry(type: string): string[] {
    const chain: string[] = [];
    for (let t: string | undefined = type; t !== undefined; t = this.#types.get(t)?.base) chain.push(t);
    return chain;
  }
}

let schema: Vim25Schema | undefined;

/** The schema, parsed on first use (about 5,000 types; a few milliseconds). */
export function vim25(): Vim25Schema {
  schema ??= new Vim25Schema(VIM25_SCHEMA_TEXT);
  return schema;
}
