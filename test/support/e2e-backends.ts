import { after } from 'node:test';
import { startPostgres, type TestPostgres } from './postgres.js';

/**
 * The databases an end-to-end file runs `polyvisor serve` against: embedded SQLite (no URL)
 * and a throwaway PostgreSQL started on first use and stopped after the file.
 */
export interface E2eBackend {
  readonly name: string;
  databaseUrl(): Promise<string | undefined>;
}

let pg: TestPostgres | undefined;
after(async () => pg?.stop());

export const E2E_BACKENDS: readonly E2eBackend[] = [
  { name: 'sqlite', databaseUrl: async () => undefined },
  {
    name: 'postgres',
    databaseUrl: async () => {
      pg ??= await startPostgres();
      return pg.createDatabase();
    },
  },
];
