import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client, DatastoreFileNotFoundError } from '../../src/vsphere/index.js';
import { startTestVcsim, type TestVcsim } from './vcsim-harness.js';

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The real directory behind LocalDS_0. */
async function datastoreDir(sim: TestVcsim): Promise<string> {
  const dirs = (await readdir(sim.datastoreDir)).filter((d) => d.includes('LocalDS_0'));
  assert.equal(dirs.length, 1);
  return join(sim.datastoreDir, dirs[0] ?? '');
}

// The suite moves 32 MiB for correctness; bench/vsphere moves 1 GiB for memory and throughput.
const SIZE = 32 * 1024 * 1024;

describe('streamed datastore file transfer', () => {
  let sim: TestVcsim;
  let client: Client;
  let tmp: string;
  before(async () => {
    sim = await startTestVcsim({});
    client = await Client.connect({ url: sim.url, username: sim.username, password: sim.password, caFile: sim.caFile ?? '' });
    tmp = await mkdtemp(join(tmpdir(), 'polyvisor-dsfiles-'));
  });
  after(async () => {
    await client.close();
    await sim.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('uploads a file into a datastore folder and downloads it back byte for byte, reporting progress', async () => {
    const src = join(tmp, 'src.bin');
    await writeFile(src, randomBytes(SIZE));
    const up: number[] = [];
    const loc = { datacenter: 'DC0', datastore: 'LocalDS_0', path: 'images/a b/disk.bin' };
    await client.files.upload(loc, src, { onProgress: (b) => up.push(b) });
    assert.equal(up.at(-1), SIZE);
    assert.ok(up.length > 4 && up.every((b, i) => i === 0 || b > (up[i - 1] ?? 0)), 'progress grows chunk by chunk');
    const onDisk = join(await datastoreDir(sim), 'images', 'a b', 'disk.bin');
    assert.equal(await sha256(onDisk), await sha256(src), 'the datastore holds exactly what we sent');

    const dest = join(tmp, 'back.bin');
    const down: [number, number | undefined][] = [];
    const n = await client.files.download(loc, dest, { onProgress: (b, t) => down.push([b, t]) });
    assert.equal(n, SIZE);
    assert.deepEqual(down.at(-1), [SIZE, SIZE]);
    assert.equal(await sha256(dest), await sha256(src));
  });

  it('uploads from a stream of known size without holding it', async () => {
    let produced = 0;
    const chunk = Buffer.alloc(1 << 20, 7);
    const source = new Readable({
      read() {
        if (produced >= 8) this.push(null);
        else {
          produced++;
          this.push(chunk);
        }
      },
    });
    await client.files.upload({ datacenter: 'DC0', datastore: 'LocalDS_0', path: 'stream.bin' }, source, { size: 8 << 20 });
    const out = join(tmp, 'stream.bin');
    assert.equal(await client.files.download({ datacenter: 'DC0', datastore: 'LocalDS_0', path: 'stream.bin' }, out), 8 << 20);
  });

  it('reports a missing file clearly', async () => {
    await assert.rejects(
      client.files.download({ datacenter: 'DC0', datastore: 'LocalDS_0', path: 'nope/missing.vmdk' }, join(tmp, 'x')),
      (e: unknown) => e instanceof DatastoreFileNotFoundError && /\[LocalDS_0\] nope\/missing\.vmdk not found/.test(e.message),
    );
  });
});
