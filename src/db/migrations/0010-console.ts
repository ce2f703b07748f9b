import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Console tokens are one-time (the console proxy, src/console): `used_at` marks the
 * moment a token opened its console. A used token stays until it expires, so a second
 * attempt is told "already used" rather than "unknown".
 */
export function consoleTokens(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('console_auth_tokens').addColumn('used_at', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('console_auth_tokens').dropColumn('used_at').execute();
    },
  };
}
