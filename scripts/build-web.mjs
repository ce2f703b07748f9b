#!/usr/bin/env node
// Bundles the browser code (the dashboard and the console page) with esbuild into
// dist/web/, so the API process serves everything itself: no CDN, nothing fetched at
// run time. Every src/<area>/client/main.ts or main.tsx becomes dist/web/<area>/main.js;
// the .html, .css and .svg files beside it are copied as they are.
//   node scripts/build-web.mjs           one build
//   node scripts/build-web.mjs --watch   rebuild on change (development)
//   node scripts/build-web.mjs --typecheck-only
// Before bundling it type-checks the browser code against the DOM (tsconfig.web.json);
// esbuild itself only strips types.
import { build, context } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
const areas = (await readdir(join(root, 'src'), { withFileTypes: true }))
  .filter((d) => d.isDirectory() && existsSync(join(root, 'src', d.name, 'client')))
  .map((d) => d.name);

const entryPoints = {};
for (const area of areas) {
  const dir = join(root, 'src', area, 'client');
  for (const f of ['main.tsx', 'main.ts']) {
    if (existsSync(join(dir, f))) { entryPoints[`${area}/main`] = join(dir, f); break; }
  }
  await mkdir(join(out, area), { recursive: true });
  for (const f of await readdir(dir)) {
    if (/\.(html|css|svg|png|ico)$/.test(f)) await cp(join(dir, f), join(out, area, f));
  }
}

if (Object.keys(entryPoints).length > 0) {
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.web.json')], { stdio: 'inherit' });
  } catch {
    console.error('build-web: type errors in the browser code (above)');
    process.exit(1);
  }
}
if (process.argv.includes('--typecheck-only')) process.exit(0);

const options = {
  entryPoints, outdir: out, bundle: true, format: 'esm', target: 'es2022', platform: 'browser',
  sourcemap: true, minify: process.env.NODE_ENV === 'production', jsx: 'automatic', jsxImportSource: 'preact',
  logLevel: 'warning', loader: { '.svg': 'text' },
};
if (process.argv.includes('--watch')) {
  const ctx = await context(options);
  await ctx.watch();
  console.log(`build-web: watching ${Object.values(entryPoints).length} entry points`);
} else {
  await build(options);
  console.log(`build-web: ${Object.keys(entryPoints).join(', ') || 'no entry points'} -> dist/web`);
}
