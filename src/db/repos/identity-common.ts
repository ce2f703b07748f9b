/**
 * Helpers shared by the identity repositories. A unique-name race between two API
 * processes is settled by the database's unique constraint; this recognises the
 * violation on both dialects so callers can answer 409 instead of 500.
 */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = 'code' in err ? err.code : undefined;
  // PostgreSQL: unique_violation; better-sqlite3: SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export type InsertResult<T> = { ok: true; row: T } | { ok: false; reason: 'duplicate' };
