import type { AuthContext, Authenticator } from '../../src/api/context.js';

/**
 * For API unit tests only: fixed tokens instead of Keystone. End-to-end tests use the real
 * identity service. Tokens: `admin` (project admin-p), `member-a`/`member-b` (projects A/B),
 * `reader-a` (project A, read-only).
 */
export const FAKE_TOKENS: Readonly<Record<string, AuthContext>> = {
  admin: ctx('u-admin', 'admin', 'p-admin', 'admin', ['admin', 'member', 'reader']),
  'member-a': ctx('u-a', 'alice', 'p-a', 'project-a', ['member', 'reader']),
  'member-b': ctx('u-b', 'bob', 'p-b', 'project-b', ['member', 'reader']),
  'reader-a': ctx('u-r', 'rita', 'p-a', 'project-a', ['reader']),
};

function ctx(userId: string, userName: string, projectId: string, projectName: string, roles: string[]): AuthContext {
  return { userId, userName, projectId, projectName, roles, isAdmin: roles.includes('admin'), expiresAt: '2099-01-01T00:00:00Z' };
}

export const fakeAuthenticator: Authenticator = {
  async authenticate(token) {
    return FAKE_TOKENS[token];
  },
};
