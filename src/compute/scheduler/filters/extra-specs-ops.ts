/**
 * Nova's extra_specs_ops.match: how a flavor extra spec's value is compared with a host
 * attribute. "= 4" means at least 4 (numeric), "s== x" string equality, "<in> x" substring,
 * "<all-in> a b" all words present, "<or> a <or> b" one of; a value without an operator
 * must equal the attribute exactly.
 */
const NUMERIC: Readonly<Record<string, (x: number, y: number) => boolean>> = {
  '=': (x, y) => x >= y,
  '==': (x, y) => x === y,
  '!=': (x, y) => x !== y,
  '>=': (x, y) => x >= y,
  '<=': (x, y) => x <= y,
};

const STRING: Readonly<Record<string, (x: string, y: string) => boolean>> = {
  's==': (x, y) => x === y,
  's!=': (x, y) => x !== y,
  's<': (x, y) => x < y,
  's<=': (x, y) => x <= y,
  's>': (x, y) => x > y,
  's>=': (x, y) => x >= y,
};

export function matchExtraSpec(value: string | undefined, req: string): boolean {
  const words = req.split(/\s+/).filter((w) => w !== '');
  const op = words.shift();
  const known = op !== undefined && (op === '<or>' || op === '<in>' || op === '<all-in>' || op in NUMERIC || op in STRING);
  if (!known) return value === req;
  if (value === undefined) return false;
  if (op === '<or>') {
    // "<or> v1 <or> v2": every other word is a candidate.
    for (let i = 0; i < words.length; i += 2) if (words[i] === value) return true;
    return false;
  }
  if (words.length === 0) return false;
  if (op === '<all-in>') return words.every((w) => value.includes(w));
  const arg = words[0] ?? '';
  if (op === '<in>') return value.includes(arg);
  const s = STRING[op];
  if (s) return s(value, arg);
  const n = NUMERIC[op];
  const x = Number.parseFloat(value);
  const y = Number.parseFloat(arg);
  return n !== undefined && !Number.isNaN(x) && !Number.isNaN(y) && n(x, y);
}
