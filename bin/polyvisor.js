#!/usr/bin/env node
// The installed entry point runs the compiled CLI (npm run build, or scripts/setup).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
