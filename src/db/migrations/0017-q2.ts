import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect.js';

/**
 * Personality (file injection, before microversion 2.57): the files given on create or
 * rebuild, kept with the instance so the compute agent can hand them to the driver at spawn
 * (JSON: [{path, contents}] with contents base64 as submitted); null when none. (The
 * same_host / different_host hints are 0016-q1's scheduler_hints.) And where each
 * instance's serial console listens (TCP host and port, published by its compute agent like
 * instance_consoles for VNC), for os-getSerialConsole.
 */
export function personality(_dialect: DialectName) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('instances').addColumn('injected_files', 'text').execute();
      await db.schema
        .createTable('instance_serial_consoles')
        .addColumn('instance_uuid', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('instance_serial_consoles').execute();
      await db.schema.alterTable('instances').dropColumn('injected_files').execute();
    },
  };
}
