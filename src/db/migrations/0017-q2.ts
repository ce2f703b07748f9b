import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Personality (file injection, before microversion 2.57): the files given on create or
 * rebuild, kept with the instance so the compute agent can hand them to the driver at spawn
 * (JSON: [{path, contents}] with contents base64 as submitted); null when none.
 */
export function personality(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').addColumn('injected_files', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').dropColumn('injected_files').execute();
    },
  };
}
