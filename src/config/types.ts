/**
 * Option definitions: a name's type, default and meaning, in the style of oslo.config.
 * The typed configuration object is inferred from these definitions, so reading an
 * option that does not exist is a compile error, and every default lives in one place.
 */
export type OptionKind = 'string' | 'int' | 'float' | 'bool' | 'multi' | 'list' | 'secret';

interface OptionBase<K extends OptionKind, V> {
  readonly kind: K;
  readonly default: V;
  readonly help: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** Accepted but has no effect: start-up logs this sentence once. */
  readonly ignoredBecause?: string;
  /** Other sections where older releases had this option (read too, with a deprecation log line). */
  readonly deprecatedSections?: readonly string[];
}

export type StringOpt = OptionBase<'string', string>;
export type NullableStringOpt = OptionBase<'string', string | null>;
export type SecretOpt = OptionBase<'secret', string>;
export type IntOpt = OptionBase<'int', number>;
export type NullableIntOpt = OptionBase<'int', number | null>;
export type FloatOpt = OptionBase<'float', number>;
export type BoolOpt = OptionBase<'bool', boolean>;
export type MultiOpt = OptionBase<'multi', readonly string[]>;
export type ListOpt = OptionBase<'list', readonly string[]>;
export type AnyOpt = StringOpt | NullableStringOpt | SecretOpt | IntOpt | NullableIntOpt | FloatOpt | BoolOpt | MultiOpt | ListOpt;

export type SectionSchema = Readonly<Record<string, AnyOpt>>;
export type ConfigSchema = Readonly<Record<string, SectionSchema>>;

export type SectionValues<S extends SectionSchema> = { readonly [K in keyof S]: S[K]['default'] };
export type ConfigValues<C extends ConfigSchema> = { readonly [S in keyof C]: SectionValues<C[S]> };

type Extra = Partial<Pick<OptionBase<OptionKind, unknown>, 'min' | 'max' | 'choices' | 'ignoredBecause' | 'deprecatedSections'>>;

export const opt = {
  str: (def: string, help: string, extra: Extra = {}): StringOpt => ({ kind: 'string', default: def, help, ...extra }),
  strOrNull: (help: string, extra: Extra = {}): NullableStringOpt => ({ kind: 'string', default: null, help, ...extra }),
  secret: (help: string, extra: Extra = {}): SecretOpt => ({ kind: 'secret', default: '', help, ...extra }),
  int: (def: number, help: string, extra: Extra = {}): IntOpt => ({ kind: 'int', default: def, help, ...extra }),
  intOrNull: (help: string, extra: Extra = {}): NullableIntOpt => ({ kind: 'int', default: null, help, ...extra }),
  float: (def: number, help: string, extra: Extra = {}): FloatOpt => ({ kind: 'float', default: def, help, ...extra }),
  bool: (def: boolean, help: string, extra: Extra = {}): BoolOpt => ({ kind: 'bool', default: def, help, ...extra }),
  multi: (help: string, extra: Extra = {}): MultiOpt => ({ kind: 'multi', default: [], help, ...extra }),
  list: (def: readonly string[], help: string, extra: Extra = {}): ListOpt => ({ kind: 'list', default: def, help, ...extra }),
};
