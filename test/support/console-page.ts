import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Builds the browser bundles (scripts/build-web.mjs) when dist/web/console is missing or
 * older than its sources, so tests serve the page as the code now is. scripts/setup and
 * CI build it anyway; this only covers a test run straight after an edit.
 */
export function ensureConsolePageBuilt(): void {
  const src = join(ROOT, 'src', 'console', 'client');
  const built = (() => {
    try {
      return statSync(join(ROOT, 'dist', 'web', 'console', 'main.js')).mtimeMs;
    } catch {
      return 0;
    }
  })();
  const newest = Math.max(...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
  if (newest > built) execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}
