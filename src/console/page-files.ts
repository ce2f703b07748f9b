import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The console page's files, bundled by scripts/build-web.mjs into dist/web/console/ (noVNC
 * included: nothing is fetched from elsewhere). Found from the package root, so the same
 * code serves them from a source checkout (tsx) and from the compiled dist/src/.
 */
export const PAGE_FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'main.js': 'text/javascript; charset=utf-8',
  'main.js.map': 'application/json; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

export function packageRoot(from: string = import.meta.dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
}

export const PAGE_DIR = join(packageRoot(), 'dist', 'web', 'console');

export class PageNotBuiltError extends Error {
  constructor(readonly dir: string) {
    super(`the console page is not built (${dir} is missing): run \`npm run build:web\` (scripts/setup does it)`);
  }
}

/** One file of the page, or PageNotBuiltError. Files are small and read per request, so a rebuild shows at once. */
export async function readPageFile(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new PageNotBuiltError(dir);
    throw err;
  }
}
