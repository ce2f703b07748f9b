import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { SCREENSHOT_DIR } from './browser.js';
import type { ApiClient } from './http-client.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Bundles the browser code (scripts/build-web.mjs) so the API process serves the current dashboard. */
export async function buildDashboard(): Promise<void> {
  await new Promise<void>((res, rej) => {
    execFile(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs')], { cwd: ROOT }, (err, _out, stderr) =>
      err === null ? res() : rej(new Error(`build-web failed: ${stderr || err.message}`)),
    );
  });
}

export interface Member {
  readonly username: string;
  readonly password: string;
  readonly project: string;
  readonly userId: string;
  readonly projectIds: Record<string, string>;
}

/** A user with the member role on each of `projects` (created when missing), through the identity API. */
export async function createMember(admin: ApiClient, username: string, password: string, projects: readonly string[]): Promise<Member> {
  const projectIds: Record<string, string> = {};
  for (const name of projects) {
    const r = await admin.request<{ project: { id: string } }>('POST', '/identity/v3/projects', { project: { name, domain_id: 'default' } });
    assert.equal(r.status, 201, `create project ${name}: ${JSON.stringify(r.body)}`);
    projectIds[name] = r.body.project.id;
  }
  const first = projects[0] ?? '';
  const u = await admin.request<{ user: { id: string } }>('POST', '/identity/v3/users', {
    user: { name: username, password, domain_id: 'default', default_project_id: projectIds[first] },
  });
  assert.equal(u.status, 201, `create user ${username}: ${JSON.stringify(u.body)}`);
  const roles = await admin.request<{ roles: { id: string; name: string }[] }>('GET', '/identity/v3/roles?name=member');
  const member = roles.body.roles.find((r) => r.name === 'member');
  assert.ok(member, 'the member role exists');
  for (const id of Object.values(projectIds)) {
    const g: { status: number; body: unknown } = await admin.request('PUT', `/identity/v3/projects/${id}/users/${u.body.user.id}/roles/${member.id}`);
    assert.equal(g.status, 204, `grant member on ${id}: ${JSON.stringify(g.body)}`);
  }
  return { username, password, project: first, userId: u.body.user.id, projectIds };
}

/** Logs in through the page's form and waits for the overview. */
export async function logIn(page: Page, base: string, who: { username: string; password: string; project: string }): Promise<void> {
  await page.goto(`${base}/`);
  await page.fill('input[name=username]', who.username);
  await page.fill('input[name=password]', who.password);
  await page.fill('input[name=project]', who.project);
  await page.click('form[aria-label="Log in"] button[type=submit]');
  await page.waitForSelector('.usage[data-label=Instances]');
}

/** Saves a full-page screenshot under test-results/screenshots/ for review. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Marks the document so a test can prove the page was never reloaded: a reload or
 * navigation starts a new document without the mark.
 */
export async function markDocument(page: Page): Promise<() => Promise<boolean>> {
  const mark = `m${Math.random().toString(36).slice(2)}`;
  await page.evaluate(`window.__polyvisorMark = ${JSON.stringify(mark)}`);
  return async () => (await page.evaluate('window.__polyvisorMark')) === mark;
}

/** The session the page keeps in sessionStorage (token, project, roles). */
export async function storedSession(page: Page): Promise<{ token: string; projectName: string; projectId: string }> {
  return JSON.parse(String(await page.evaluate("sessionStorage.getItem('polyvisor.session') ?? '{}'"))) as { token: string; projectName: string; projectId: string };
}

/** The status badge of an instance row, by the instance's name. */
export function statusOf(page: Page, name: string): Promise<string | null> {
  return page.getAttribute(`tr[data-name="${name}"] .badge`, 'data-status');
}
