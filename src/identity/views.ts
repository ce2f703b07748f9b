import type { AssignmentRow, RoleRow } from '../db/repos/identity-roles.js';
import type { ProjectRow, UserRow } from '../db/schema.js';
import { keystoneTime } from './clock.js';
import { catalogServices, type CatalogEndpoint, type CatalogService } from './catalog.js';
import { DEFAULT_DOMAIN, domainRef } from './domains.js';
import { parseExtras } from './extras.js';
import type { ResolvedToken } from './tokens.js';

/** Keystone's JSON shapes. Never includes a password hash. */
export type View = Record<string, unknown>;

export function listLinks(self: string): View {
  return { self, previous: null, next: null };
}

export function projectView(p: ProjectRow, v3: string): View {
  const extras = parseExtras(p.extra);
  return {
    ...extras,
    id: p.id,
    name: p.name,
    description: p.description,
    domain_id: p.domain_id,
    enabled: p.enabled === 1,
    is_domain: false,
    parent_id: p.domain_id,
    tags: Array.isArray(extras['tags']) ? extras['tags'] : [],
    options: {},
    links: { self: `${v3}/projects/${p.id}` },
  };
}

export function userView(u: UserRow, v3: string): View {
  const view: View = {
    ...parseExtras(u.extra),
    id: u.id,
    name: u.name,
    domain_id: u.domain_id,
    enabled: u.enabled === 1,
    password_expires_at: null,
    options: {},
    links: { self: `${v3}/users/${u.id}` },
  };
  if (u.default_project_id !== null) view['default_project_id'] = u.default_project_id;
  if (u.email !== null) view['email'] = u.email;
  if (u.description !== null) view['description'] = u.description;
  return view;
}

export function roleView(r: RoleRow, v3: string): View {
  return { id: r.id, name: r.name, domain_id: null, description: null, options: {}, links: { self: `${v3}/roles/${r.id}` } };
}

export function domainView(v3: string): View {
  return { ...DEFAULT_DOMAIN, tags: [], options: {}, links: { self: `${v3}/domains/${DEFAULT_DOMAIN.id}` } };
}

export function assignmentView(a: AssignmentRow, roleId: string, roleName: string, names: boolean, v3: string): View {
  const role: View = { id: roleId };
  const user: View = { id: a.user_id };
  const project: View = { id: a.project_id };
  if (names) {
    role['name'] = roleName;
    user['name'] = a.user_name;
    user['domain'] = domainRef(a.user_domain_id);
    project['name'] = a.project_name;
    project['domain'] = domainRef(a.project_domain_id);
  }
  return {
    role,
    user,
    scope: { project },
    links: { assignment: `${v3}/projects/${a.project_id}/users/${a.user_id}/roles/${a.role_id}` },
  };
}

export function serviceView(s: CatalogService, v3: string): View {
  return { id: s.id, type: s.type, name: s.name, description: s.description, enabled: true, links: { self: `${v3}/services/${s.id}` } };
}

export function endpointView(e: CatalogEndpoint, v3: string): View {
  return { ...e, enabled: true, links: { self: `${v3}/endpoints/${e.id}` } };
}

export function serviceById(id: string): CatalogService | undefined {
  return catalogServices().find((s) => s.id === id);
}

/** The body of a token response (POST and GET /v3/auth/tokens). */
export function tokenView(t: ResolvedToken, catalog: readonly View[] | null): View {
  const token: View = {
    methods: t.methods,
    user: { id: t.user.id, name: t.user.name, domain: domainRef(t.user.domainId), password_expires_at: null },
    audit_ids: t.auditIds,
    issued_at: keystoneTime(t.issuedAt),
    expires_at: keystoneTime(t.expiresAt),
  };
  if (t.project) {
    token['project'] = { id: t.project.id, name: t.project.name, domain: domainRef(t.project.domainId) };
    token['is_domain'] = false;
    token['roles'] = t.roles.map((r) => ({ id: r.id, name: r.name }));
    if (catalog) token['catalog'] = catalog;
  }
  return { token };
}
