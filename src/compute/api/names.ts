import { InvalidInputError } from '../../errors.js';

/** Nova's `name` parameter type: 1-255 printable characters, no leading or trailing whitespace. */
export const nameSchema = { type: 'string', minLength: 1, maxLength: 255 } as const;

export function validateName(value: string, field: string): void {
  // eslint's no-control-regex is why this is a code-point test rather than a character class.
  const unprintable = [...value].some((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return c < 0x20 || (c >= 0x7f && c < 0xa0);
  });
  if (unprintable || /^\s|\s$/u.test(value)) {
    throw new InvalidInputError(
      `Invalid input for field/attribute ${field}. Value: ${value}. An invalid '${field}' value was provided. The name must be: printable characters. Can not start or end with whitespace.`,
    );
  }
}

/**
 * Nova's utils.sanitize_hostname: latin-1 only, at most 63 characters, spaces,
 * underscores and dots become hyphens, other non-word characters go, lower case,
 * no leading or trailing dots and hyphens; empty falls back to `fallback`.
 */
export function sanitizeHostname(name: string, fallback: string): string {
  let h = [...name].filter((ch) => (ch.codePointAt(0) ?? 0) <= 0xff).join('');
  h = h.slice(0, 63);
  h = h.replace(/[ _.]/g, '-');
  h = h.replace(/[^\p{L}\p{N}_.-]+/gu, '');
  h = h.toLowerCase();
  h = h.replace(/^[.-]+|[.-]+$/g, '');
  return h === '' ? fallback.slice(0, 63) : h;
}
