import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Counts {
  readonly pass: number;
  readonly fail: number;
  readonly skip: number;
}

/** Runs scripts/tempest (which starts its own polyvisor serve) and returns its stdout. */
function runTempest(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(join(ROOT, 'scripts/tempest'), [...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

function countsOf(stdout: string, row: string): Counts | undefined {
  const m = new RegExp(`^${row.replace(/\./g, '\\.')}\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)$`, 'm').exec(stdout);
  return m ? { pass: Number(m[1]), fail: Number(m[2]), skip: Number(m[3]) } : undefined;
}

describe('tempest (OpenStack API tests) CI subset against polyvisor serve', () => {
  const work = mkdtempSync(join(tmpdir(), 'polyvisor-tempest-ci-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('passes every test of tools/tempest/ci-subset.txt that is not in the documented skip list', { timeout: 900_000 }, async () => {
    const run = await runTempest(['--list', 'tools/tempest/ci-subset.txt', '--workdir', work, '--concurrency', '2']);
    const total = countsOf(run.stdout, 'TOTAL');
    assert.ok(total, `no counts printed:\n${run.stdout}\n${run.stderr.slice(-4000)}`);
    const failed = run.stdout.split('\n').filter((l) => l.startsWith('FAILED '));
    assert.deepEqual(failed, [], `tempest failures (log: ${work}/tempest-run.log)`);
    assert.equal(total.fail, 0);
    assert.equal(run.code, 0);
    // Each API family really ran: dynamic credentials, compute, images and identity.
    for (const module of ['tempest.api.compute.keypairs', 'tempest.api.image.v2.test_images', 'tempest.api.identity.v3.test_tokens']) {
      const c = countsOf(run.stdout, module);
      assert.ok(c && c.pass > 0, `${module} ran no passing test:\n${run.stdout}`);
    }
  });
});
