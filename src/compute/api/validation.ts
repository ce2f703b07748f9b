import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';

/**
 * Request body schemas follow Nova's JSON schemas: no coercion, unknown fields are
 * errors. Fastify's ajv messages are terse ("must NOT have additional properties");
 * this formatter rewrites the first one into the wording Nova's validator uses, so the
 * 400 names what was wrong.
 */
export const schemaErrorFormatter: Parameters<FastifyInstance['setSchemaErrorFormatter']>[0] = (errors, dataVar) => {
  const first = errors[0];
  if (first) first.message = describe(first);
  return new Error(`${dataVar}${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'}`);
};

function describe(e: FastifySchemaValidationError): string {
  const p = e.params as Readonly<Record<string, unknown>>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `Additional properties are not allowed ('${String(p['additionalProperty'])}' was unexpected)`;
    case 'required':
      return `'${String(p['missingProperty'])}' is a required property`;
    case 'type':
      return `is not of type '${String(p['type'])}'`;
    case 'maxLength':
      return `is too long (at most ${String(p['limit'])} characters)`;
    case 'minLength':
      return p['limit'] === 1 ? 'is too short (it must not be empty)' : `is too short (at least ${String(p['limit'])} characters)`;
    case 'minimum':
      return `is less than the minimum of ${String(p['limit'])}`;
    case 'maximum':
      return `is greater than the maximum of ${String(p['limit'])}`;
    case 'enum':
      return `is not one of ${JSON.stringify(p['allowedValues'])}`;
    case 'pattern':
      return `does not match '${String(p['pattern'])}'`;
    case 'maxProperties':
      return `has too many properties (at most ${String(p['limit'])})`;
    case 'minProperties':
      return `does not have enough properties (at least ${String(p['limit'])})`;
    default:
      return e.message ?? 'is invalid';
  }
}

/** An object schema that rejects unknown properties. */
export function strictObject(properties: Record<string, unknown>, required: readonly string[] = []): Record<string, unknown> {
  return { type: 'object', properties, required: [...required], additionalProperties: false };
}

/** Nova's parameter_types: an integer or a string of digits (flavor sizes, counts). */
export const intOrDigits = { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^-?[0-9]+$' }] } as const;
