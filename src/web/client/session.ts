import { request, setToken } from './api.js';

/** Who is logged in, as the token said; kept in sessionStorage (gone when the tab closes). */
export interface Session {
  readonly token: string;
  readonly expiresAt: string;
  readonly userId: string;
  readonly userName: string;
  readonly projectId: string;
  readonly projectName: string;
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
}

const KEY = 'polyvisor.session';

interface TokenBody {
  token: {
    expires_at: string;
    user: { id: string; name: string };
    project?: { id: string; name: string };
    roles?: { name: string }[];
  };
}

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (raw === null) return null;
    const s = JSON.parse(raw) as Session;
    if (Date.parse(s.expiresAt) <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    setToken(s.token);
    return s;
  } catch {
    return null;
  }
}

function store(s: Session | null): void {
  if (s === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, JSON.stringify(s));
  setToken(s?.token ?? null);
}

async function issue(auth: unknown, token: string | null): Promise<Session> {
  const { body, headers } = await request<TokenBody>('/identity/v3/auth/tokens', { method: 'POST', body: { auth }, token, allow401: true });
  const subject = headers.get('X-Subject-Token');
  if (subject === null) throw new Error('The identity service answered without a token.');
  const t = body.token;
  if (t.project === undefined) throw new Error('The token is not scoped to a project.');
  const roles = (t.roles ?? []).map((r) => r.name);
  const s: Session = {
    token: subject,
    expiresAt: t.expires_at,
    userId: t.user.id,
    userName: t.user.name,
    projectId: t.project.id,
    projectName: t.project.name,
    roles,
    isAdmin: roles.includes('admin'),
  };
  store(s);
  return s;
}

/** Password login scoped to a project by name (domain Default, as Horizon's single-domain setup). */
export async function login(user: string, password: string, project: string): Promise<Session> {
  return issue(
    {
      identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
      scope: { project: { name: project, domain: { id: 'default' } } },
    },
    null,
  );
}

/** The projects the user has a role on (for the project switcher). */
export async function myProjects(): Promise<{ id: string; name: string }[]> {
  const { body } = await request<{ projects: { id: string; name: string; enabled?: boolean }[] }>('/identity/v3/auth/projects');
  return body.projects.filter((p) => p.enabled !== false).sort((a, b) => a.name.localeCompare(b.name));
}

/** A token for another project from the current one (token method), then the old token is revoked. */
export async function switchProject(current: Session, projectId: string): Promise<Session> {
  const next = await issue({ identity: { methods: ['token'], token: { id: current.token } }, scope: { project: { id: projectId } } }, current.token);
  await revoke(current.token, next.token).catch(() => undefined);
  return next;
}

/** Revokes the token (DELETE /v3/auth/tokens) and forgets the session. */
export async function logout(s: Session | null): Promise<void> {
  store(null);
  if (s !== null) await revoke(s.token, s.token).catch(() => undefined);
}

/** Forgets the session without calling the API (its token is already refused). */
export function forget(): void {
  store(null);
}

async function revoke(subject: string, caller: string): Promise<void> {
  await fetch('/identity/v3/auth/tokens', { method: 'DELETE', headers: { 'X-Auth-Token': caller, 'X-Subject-Token': subject }, credentials: 'omit' });
}
