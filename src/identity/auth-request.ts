import { UnauthorizedError } from '../errors.js';
import {
  invalidField,
  objectAt,
  onlyFields,
  optionalObject,
  optionalString,
  requiredObject,
  requiredString,
  type JsonObject,
} from './input.js';

/** A body of POST /v3/auth/tokens, parsed. */
export type DomainSelector = { readonly id: string } | { readonly name: string };
export type UserSelector = { readonly id: string } | { readonly name: string; readonly domain: DomainSelector };
export type ProjectSelector = { readonly id: string } | { readonly name: string; readonly domain: DomainSelector };

export type AuthIdentity =
  | { readonly method: 'password'; readonly user: UserSelector; readonly password: string }
  | { readonly method: 'token'; readonly token: string };

export type AuthScope =
  | { readonly kind: 'default' }
  | { readonly kind: 'unscoped' }
  | { readonly kind: 'project'; readonly project: ProjectSelector }
  /** Domain, system and trust scopes: parsed so that they get a 401, as an unauthorised scope does. */
  | { readonly kind: 'unsupported' };

export interface AuthRequest {
  readonly identity: AuthIdentity;
  readonly scope: AuthScope;
}

const NAME = { min: 1, max: 255 };
/** Keystone's limit for a password in an auth request. */
const PASSWORD = { max: 4096 };

export function parseAuthRequest(body: unknown): AuthRequest {
  const root = objectAt(body, 'body');
  const auth = requiredObject(root, 'auth', '');
  onlyFields(auth, 'auth', ['identity', 'scope']);
  const identity = requiredObject(auth, 'identity', 'auth');
  const methods = identity['methods'];
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m): m is string => typeof m === 'string')) {
    throw invalidMethods();
  }
  return { identity: parseIdentity(identity, methods), scope: parseScope(auth['scope']) };
}

function invalidMethods(): Error {
  // Keystone answers a malformed method list with 400; a well-formed but unknown one with 401.
  return invalidField('auth/identity/methods', 'expected a non-empty array of method names.');
}

function parseIdentity(identity: JsonObject, methods: readonly string[]): AuthIdentity {
  const unique = [...new Set(methods)];
  const method = unique[0];
  if (unique.length !== 1 || (method !== 'password' && method !== 'token')) {
    throw new UnauthorizedError('Attempted to authenticate with an unsupported method.');
  }
  if (method === 'token') {
    const token = requiredObject(identity, 'token', 'auth/identity');
    return { method, token: requiredString(token, 'id', 'auth/identity/token', { min: 1, max: 1024 }) };
  }
  const password = requiredObject(identity, 'password', 'auth/identity');
  const user = requiredObject(password, 'user', 'auth/identity/password');
  const path = 'auth/identity/password/user';
  onlyFields(user, path, ['id', 'name', 'domain', 'password']);
  const secret = requiredString(user, 'password', path, PASSWORD);
  return { method, user: parseNamed(user, path), password: secret };
}

function parseNamed(o: JsonObject, path: string): UserSelector {
  const id = optionalString(o, 'id', path, NAME);
  if (id !== undefined) return { id };
  const name = optionalString(o, 'name', path, NAME);
  if (name === undefined) return objectFail(path, "either 'id' or 'name' is required.");
  const domain = optionalObject(o, 'domain', path);
  if (domain === undefined) return objectFail(path, "'domain' is required with 'name'.");
  return { name, domain: parseDomain(domain, `${path}/domain`) };
}

function parseDomain(o: JsonObject, path: string): DomainSelector {
  const id = optionalString(o, 'id', path, NAME);
  if (id !== undefined) return { id };
  const name = optionalString(o, 'name', path, NAME);
  if (name !== undefined) return { name };
  return objectFail(path, "either 'id' or 'name' is required.");
}

function objectFail(path: string, what: string): never {
  throw invalidField(path, what);
}

function parseScope(scope: unknown): AuthScope {
  if (scope === undefined) return { kind: 'default' };
  if (scope === 'unscoped') return { kind: 'unscoped' };
  const s = objectAt(scope, 'auth/scope');
  const project = optionalObject(s, 'project', 'auth/scope');
  if (project !== undefined) return { kind: 'project', project: parseNamed(project, 'auth/scope/project') };
  if (s['domain'] !== undefined || s['system'] !== undefined || s['OS-TRUST:trust'] !== undefined) return { kind: 'unsupported' };
  return objectFail('auth/scope', "expected 'project', 'domain' or 'system'.");
}
