import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** An opaque bearer token: 256 random bits, URL-safe. Only its sha256 is ever stored. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Keystone's audit ids: 16 random bytes, URL-safe base64 without padding (22 characters). */
export function newAuditId(): string {
  return randomBytes(16).toString('base64url');
}

/** Keystone's resource ids: a UUID4 as 32 hex digits. */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

/** A stable id derived from a name, for the fixed services and endpoints of the catalog. */
export function stableId(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 32);
}
