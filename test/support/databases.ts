import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import type { DialectName } from '../../src/db/dialect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { startPostgres, type TestPostgres } from './postgres.js';

/**
 * The dialects a repository suite runs against: each opens a fresh, migrated database.
 * PostgreSQL is started once per test file, on first use, and stopped after the file.
 */
export interface TestDialect {
  readonly name: DialectName;
  open(): Promise<DatabaseHandle>;
}

let pgServer: Promise<TestPostgres> | undefined;
const tempDirs: string[] = [];

after(async () => {
  if (pgServer) await (await pgServer).stop();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

export async function openTestSqlite(): Promise<DatabaseHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'polyvisor-db-'));
  tempDirs.push(dir);
  const handle = await openDatabase(`sqlite:///${join(dir, 'test.sqlite')}`, dir);
  await migrateToLatest(handle);
  return handle;
}

export async function openTestPostgres(): Promise<DatabaseHandle> {
  pgServer ??= startPostgres();
  const server = await pgServer;
  const url = await server.createDatabase();
  const handle = await openDatabase(url, tmpdir());
  await migrateToLatest(handle);
  return handle;
}

export const DIALECTS: readonly TestDialect[] = [
  { name: 'sqlite', open: openTestSqlite },
  { name: 'postgres', open: openTestPostgres },
];
