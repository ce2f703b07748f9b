/** Who is calling: established once per request from the X-Auth-Token header. */
export interface AuthContext {
  readonly userId: string;
  readonly userName: string;
  /** null for an unscoped token. */
  readonly projectId: string | null;
  readonly projectName: string | null;
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
  /** Expiry as an ISO-8601 UTC timestamp, for X-Subject-Token validation responses. */
  readonly expiresAt: string;
}

/** Validates a token; identity implements it, every API uses it. */
export interface Authenticator {
  authenticate(token: string): Promise<AuthContext | undefined>;
}

/** The roles Polyvisor knows, weakest first. */
export const ROLES = ['reader', 'member', 'admin'] as const;
export type RoleName = (typeof ROLES)[number];
