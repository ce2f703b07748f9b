import type { AuthContext } from '../../api/context.js';
import { InvalidInputError } from '../../errors.js';
import { assertWritableName, isMutableCore, parseCore, parseProperty, type CoreValues } from './attributes.js';
import type { ImageDraft } from './image-draft.js';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export interface CreateRequest {
  /** Requested id, normalized to the dashed lower-case form; undefined: we choose. */
  readonly id: string | undefined;
  readonly draft: ImageDraft;
}

/**
 * POST /v2/images body: core attributes by name, every other key a custom property.
 * Read-only and reserved attributes are 403 (as Glance), wrong types 400; nothing is stored
 * until the whole body is valid.
 */
export function parseCreateRequest(ctx: AuthContext, body: unknown): CreateRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError('The request body must be a JSON object describing the image.');
  }
  const core: CoreValues = {
    name: null,
    // Glance's default since Ocata: shared (visible to members once some are added).
    visibility: 'shared',
    protected: false,
    os_hidden: false,
    container_format: null,
    disk_format: null,
    min_disk: 0,
    min_ram: 0,
    tags: [],
    owner: ctx.projectId,
  };
  const properties: Record<string, string> = {};
  let id: string | undefined;
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    assertWritableName(key, true);
    if (key === 'id') {
      id = parseId(value);
    } else if (isMutableCore(key)) {
      setCore(core, key, value);
    } else {
      properties[key] = parseProperty(key, value);
    }
  }
  return { id, draft: { core, properties } };
}

function setCore<K extends keyof CoreValues>(core: CoreValues, key: K, value: unknown): void {
  core[key] = parseCore(key, value);
}

function parseId(value: unknown): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new InvalidInputError(`Provided object does not match schema 'image': ${JSON.stringify(value)} is not a valid UUID (attribute 'id').`);
  }
  const hex = value.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
