import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getInstance } from '../../../src/db/repos/instances.js';
import { TestCloud } from '../agent/harness.js';
import { addImage, at, IMAGE_ID, startHarness, str, type ComputeHarness } from './harness.js';

/**
 * Personality (Nova's file injection, before microversion 2.57) end to end: the Compute API
 * checks and stores the files, the agent hands them to the fake driver at spawn and at rebuild.
 */
const IMAGE_2 = '22222222-2222-4222-8222-222222222222';
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('compute API: personality files', () => {
  let t: ComputeHarness;
  let cloud: TestCloud;
  before(async () => {
    t = await startHarness('[DEFAULT]\nreserved_host_memory_mb = 0\n[quota]\ninjected_files = 2\ninjected_file_path_length = 20\ninjected_file_content_bytes = 16\n');
    await addImage(t.h, IMAGE_2, { visibility: 'public', owner: 'p-admin' });
    cloud = new TestCloud(t.h);
    cloud.images.ids.add(IMAGE_ID);
    cloud.images.ids.add(IMAGE_2);
    await cloud.addCompute('cmp1');
    await cloud.addScheduler('sched');
  });
  after(async () => {
    await cloud.stop();
    await t.close();
  });

  const V = { 'OpenStack-API-Version': 'compute 2.56' };
  const count = async () => Number((await t.h.db.selectFrom('instances').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const create = (personality: unknown, version: Record<string, string> = V) =>
    t.call('POST', '/compute/v2.1/servers', 'member-a', { server: { name: 'vm', imageRef: IMAGE_ID, flavorRef: '1', networks: 'none', personality } }, version);
  const waitActive = (id: string) =>
    cloud.waitFor(`server ${id} ACTIVE`, async () => {
      const s = str((await t.call('GET', `/compute/v2.1/servers/${id}`, 'admin', undefined, V)).body, 'server', 'status');
      if (s === 'ERROR') throw new Error(`server ${id} went to ERROR`);
      return s === 'ACTIVE' ? s : undefined;
    });
  const driver = () => {
    const c = cloud.computes.get('cmp1');
    assert.ok(c);
    return c.driver;
  };

  it('injects the files at spawn and replaces them with the rebuild’s', async () => {
    const res = await create([
      { path: '/etc/motd', contents: b64('hello') },
      { path: 'b.txt', contents: b64('two') },
    ]);
    assert.equal(res.status, 202, res.text);
    const id = str(res.body, 'server', 'id');
    await waitActive(id);
    assert.deepEqual([...driver().injectedFiles(id)], [['/etc/motd', 'hello'], ['b.txt', 'two']]);

    const rb = await t.call('POST', `/compute/v2.1/servers/${id}/action`, 'member-a', { rebuild: { imageRef: IMAGE_2, personality: [{ path: 'rebuild.txt', contents: b64('again') }] } }, V);
    assert.equal(rb.status, 202, rb.text);
    assert.equal(at(rb.body, 'server', 'image', 'id'), IMAGE_2);
    await cloud.waitFor('rebuild done', async () => ((await getInstance(t.h.db, id))?.task_state === null && driver().injectedFiles(id).size === 1 ? true : undefined));
    assert.deepEqual([...driver().injectedFiles(id)], [['rebuild.txt', 'again']]);

    const over = await t.call('POST', `/compute/v2.1/servers/${id}/action`, 'member-a', { rebuild: { imageRef: IMAGE_2, personality: [{ path: 'x', contents: b64('far too long for the limit') }] } }, V);
    assert.equal(over.status, 403, over.text);
    assert.equal(at(over.body, 'forbidden', 'message'), 'Personality file content exceeds maximum 16');
    assert.equal((await getInstance(t.h.db, id))?.task_state, null);
  });

  const bad: [string, unknown, number, string, Record<string, string>?][] = [
    ['contents that are not base64', [{ path: '/etc/testfile.txt', contents: 'This is a test file.' }], 400, "Invalid input for field/attribute contents. Value: This is a test file.. 'This is a test file.' is not a 'base64'"],
    ['more files than injected_files', [1, 2, 3].map((i) => ({ path: `f${i}`, contents: b64('x') })), 403, 'Personality file limit exceeded'],
    ['a path longer than injected_file_path_bytes', [{ path: '/a/path/that/is/too/long', contents: b64('x') }], 403, 'Personality file path exceeds maximum 20'],
    ['contents larger than injected_file_content_bytes', [{ path: 'f', contents: b64('seventeen bytes!!') }], 403, 'Personality file content exceeds maximum 16'],
    ['personality at 2.57', [{ path: 'f', contents: b64('x') }], 400, "Invalid input for field/attribute server. Additional properties are not allowed ('personality' was unexpected)", { 'OpenStack-API-Version': 'compute 2.57' }],
  ];
  for (const [what, personality, status, message, version] of bad) {
    it(`refuses ${what} with ${status} and creates nothing`, async () => {
      const before = await count();
      const res = await create(personality, version ?? V);
      assert.equal(res.status, status, res.text);
      const fault = status === 400 ? 'badRequest' : 'forbidden';
      assert.ok(str(res.body, fault, 'message').startsWith(message), res.text);
      assert.equal(await count(), before);
    });
  }
});
