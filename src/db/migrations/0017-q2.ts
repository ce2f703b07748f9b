import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Personality (file injection, before microversion 2.57): the files given on create or
 * rebuild, kept with the instance so the compute agent can hand them to the driver at spawn
 * (JSON: [{path, contents}] with contents base64 as submitted); null when none. And the
 * placement hints the scheduler acts on besides `group`: `different_host` / `same_host`
 * (JSON {different_host?: [uuid], same_host?: [uuid]}); null when none.
 */
export function personality(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').addColumn('injected_files', 'text').execute();
      await db.schema.alterTable('instances').addColumn('scheduler_hints', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').dropColumn('scheduler_hints').execute();
      await db.schema.alterTable('instances').dropColumn('injected_files').execute();
    },
  };
}
