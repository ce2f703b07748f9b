import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Consoles without an RPC from the API to a driver:
 * - `instance_consoles`: the console endpoint (host, port) of each instance, published by
 *   the owning compute agent when it spawns or powers the instance on (the API never
 *   imports a driver, so it reads the endpoint here);
 * - `console_auth_tokens`: Nova's table of the same name: a console URL's token (stored as
 *   its sha256, never in clear) with the endpoint it opens and its expiry, for the console
 *   proxy to look up.
 */
export function vmware(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('instance_consoles')
        .addColumn('instance_uuid', 'text', (c) => c.primaryKey())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('console_auth_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('instance_uuid', 'text', (c) => c.notNull())
        .addColumn('console_type', 'text', (c) => c.notNull())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      // Expired tokens are swept by expiry on every issue.
      await db.schema.createIndex('console_auth_tokens_expires').on('console_auth_tokens').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('console_auth_tokens').execute();
      await db.schema.dropTable('instance_consoles').execute();
    },
  };
}
