import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { DatabaseHandle } from './database.js';
import type { DialectName } from './dialect.js';
import { initial } from './migrations/0001-initial.js';
import { identity } from './migrations/0002-identity.js';
import { images } from './migrations/0003-images.js';
import { compute } from './migrations/0004-compute.js';
import { scheduler } from './migrations/0005-scheduler.js';
import { aggregates } from './migrations/0006-aggregates.js';
import { vmware } from './migrations/0007-vmware.js';
import { identityExtra } from './migrations/0008-identity-extra.js';
import { consoleTokens } from './migrations/0010-console.js';
import { dashboard } from './migrations/0011-dashboard.js';
import { migrations as migrationRecords } from './migrations/0012-migrations.js';
import { shelve } from './migrations/0013-shelve.js';
import { serverGroups } from './migrations/0014-server-groups.js';
import { apiext } from './migrations/0015-apiext.js';
import { q1 } from './migrations/0016-q1.js';
import { personality } from './migrations/0017-q2.js';

/** Every migration, in order. Names sort; a new one is appended, none is edited once released. */
function migrations(dialect: DialectName): Record<string, Migration> {
  return {
    '0001-initial': initial(dialect),
    '0002-identity': identity(dialect),
    '0003-images': images(dialect),
    '0004-compute': compute(dialect),
    '0005-scheduler': scheduler(dialect),
    '0006-aggregates': aggregates(dialect),
    '0007-vmware': vmware(dialect),
    '0008-identity-extra': identityExtra(dialect),
    '0010-console': consoleTokens(dialect),
    '0011-dashboard': dashboard(dialect),
    '0012-migrations': migrationRecords(dialect),
    '0013-shelve': shelve(dialect),
    '0014-server-groups': serverGroups(dialect),
    '0015-apiext': apiext(dialect),
    '0016-q1': q1(dialect),
    '0017-q2': personality(dialect),
  };
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: DialectName) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

/** Brings the schema up to date; returns the names of the migrations it applied. */
export async function migrateToLatest(handle: DatabaseHandle): Promise<string[]> {
  const migrator = new Migrator({
    db: handle.db,
    provider: new StaticProvider(handle.dialect),
    migrationTableName: 'polyvisor_migrations',
    migrationLockTableName: 'polyvisor_migrations_lock',
    // Parts of the schema are added by independent files; their names need not sort by date.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
