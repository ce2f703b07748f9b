import { nameSchema } from '../names.js';
import { strictObject } from '../validation.js';
import { metadataSchema } from './server-metadata.js';

/**
 * Nova's server create schema at 2.1, plus what later microversions added that the
 * brief asks for at any version: networks 'auto'/'none' (2.37) and description (2.19).
 */
const positiveCount = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^[0-9]*[1-9][0-9]*$' }] };
const booleanLike = {
  anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['True', 'true', 'False', 'false', '1', '0', 'yes', 'no', 'on', 'off', 'y', 'n', 't', 'f'] }],
};
const uuid = { type: 'string', format: 'uuid' };

const networkItem = strictObject({
  uuid: { type: 'string', minLength: 1, maxLength: 255 },
  port: { anyOf: [{ type: 'null' }, uuid] },
  fixed_ip: { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
  // Device tags (2.32, 2.42+; checked per version in create-versions.ts).
  tag: { type: 'string', minLength: 1, maxLength: 60, pattern: '^[^,/]*$' },
});

export const createServerSchema = strictObject(
  {
    server: strictObject(
      {
        name: nameSchema,
        imageRef: { type: 'string', maxLength: 255 },
        flavorRef: { anyOf: [{ type: 'string', minLength: 1, maxLength: 255 }, { type: 'integer', minimum: 0 }] },
        adminPass: { type: 'string' },
        metadata: metadataSchema,
        networks: { anyOf: [{ type: 'string', enum: ['auto', 'none'] }, { type: 'array', items: networkItem }] },
        'OS-DCF:diskConfig': { type: 'string', enum: ['AUTO', 'MANUAL'] },
        accessIPv4: { type: 'string', format: 'ipv4' },
        accessIPv6: { type: 'string', format: 'ipv6' },
        personality: {
          type: 'array',
          items: strictObject({ path: { type: 'string' }, contents: { type: 'string' } }),
        },
        key_name: { type: 'string', minLength: 1, maxLength: 255 },
        user_data: { type: 'string', maxLength: 65535 },
        availability_zone: { type: 'string', minLength: 1, maxLength: 255 },
        security_groups: { type: 'array', items: strictObject({ name: { type: 'string', minLength: 1, maxLength: 255 } }, ['name']) },
        config_drive: booleanLike,
        min_count: positiveCount,
        max_count: positiveCount,
        return_reservation_id: booleanLike,
        description: { anyOf: [{ type: 'null' }, { type: 'string', maxLength: 255 }] },
        // Server tags on create: microversion 2.52 (create-server.ts refuses them before it).
        tags: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 60, pattern: '^[^,/]*$' } },
        // Later microversions' fields; create-versions.ts refuses each below its version.
        trusted_image_certificates: { anyOf: [{ type: 'null' }, { type: 'array', minItems: 1, maxItems: 50, uniqueItems: true, items: { type: 'string', minLength: 1 } }] },
        host: { type: 'string', minLength: 1, maxLength: 255 },
        hypervisor_hostname: { type: 'string', minLength: 1, maxLength: 255 },
        hostname: { type: 'string', minLength: 1, maxLength: 255 },
      },
      ['name', 'flavorRef'],
    ),
    // Scheduler hints: `group` (a server group) is used; other Nova hints are accepted and ignored.
    'os:scheduler_hints': { type: 'object' },
    'OS-SCH-HNT:scheduler_hints': { type: 'object' },
  },
  ['server'],
);

export interface CreateServerBody {
  server: {
    name: string;
    imageRef?: string;
    flavorRef: string | number;
    adminPass?: string;
    metadata?: Record<string, string>;
    networks?: 'auto' | 'none' | { uuid?: string; port?: string | null; fixed_ip?: string; tag?: string }[];
    'OS-DCF:diskConfig'?: 'AUTO' | 'MANUAL';
    accessIPv4?: string;
    accessIPv6?: string;
    personality?: { path?: string; contents?: string }[];
    key_name?: string;
    user_data?: string;
    availability_zone?: string;
    security_groups?: { name: string }[];
    config_drive?: boolean | string;
    min_count?: number | string;
    max_count?: number | string;
    return_reservation_id?: boolean | string;
    description?: string | null;
    tags?: string[];
    trusted_image_certificates?: string[] | null;
    host?: string;
    hypervisor_hostname?: string;
    hostname?: string;
  };
  'os:scheduler_hints'?: Record<string, unknown>;
  'OS-SCH-HNT:scheduler_hints'?: Record<string, unknown>;
}
