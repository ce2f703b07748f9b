import { strictObject } from '../validation.js';

/** Nova's aggregate request schemas (nova/api/openstack/compute/schemas/aggregates.py). */
const name = { type: 'string', minLength: 1, maxLength: 255 } as const;
// parameter_types.az_name: a name that may not contain ':' (zone:host is the forced-host syntax).
const azName = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^:]*$' } as const;
const zone = { anyOf: [azName, { type: 'null' }] } as const;
const host = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' } as const;

export const createSchema = strictObject({ aggregate: strictObject({ name, availability_zone: zone }, ['name']) }, ['aggregate']);

export const updateSchema = strictObject(
  {
    aggregate: {
      ...strictObject({ name, availability_zone: zone }),
      anyOf: [{ required: ['name'] }, { required: ['availability_zone'] }],
    },
  },
  ['aggregate'],
);

const metadataWithNull = {
  type: 'object',
  patternProperties: { '^[a-zA-Z0-9-_:. ]{1,255}$': { type: ['string', 'null'], maxLength: 255 } },
  additionalProperties: false,
} as const;

/** Exactly one of the three actions (an unknown one is named in the 400). */
export const actionSchema = {
  ...strictObject({
    add_host: strictObject({ host }, ['host']),
    remove_host: strictObject({ host }, ['host']),
    set_metadata: strictObject({ metadata: metadataWithNull }, ['metadata']),
  }),
  minProperties: 1,
  maxProperties: 1,
};

export interface ActionBody {
  readonly add_host?: { readonly host: string };
  readonly remove_host?: { readonly host: string };
  readonly set_metadata?: { readonly metadata: Readonly<Record<string, string | null>> };
}
