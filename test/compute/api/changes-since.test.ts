import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { insertInstances } from '../../../src/db/repos/instances.js';
import { parseIsoTime } from '../../../src/compute/api/times.js';
import { addComputeNode, at, instance, list, startHarness, str, type ComputeHarness } from './harness.js';

describe('changes-since: ISO 8601 only, as Nova', () => {
  it('parses ISO 8601 forms to UTC and refuses the rest', () => {
    assert.equal(parseIsoTime('2011-01-01'), '2011-01-01T00:00:00.000Z');
    assert.equal(parseIsoTime('2011-01-01T10:20:30Z'), '2011-01-01T10:20:30.000Z');
    assert.equal(parseIsoTime('2011-01-01T10:20:30.5+02:00'), '2011-01-01T08:20:30.500Z');
    assert.equal(parseIsoTime('2011-01-01 10:20:30-0130'), '2011-01-01T11:50:30.000Z');
    for (const bad of ['2011/01/01', 'Jan 1 2011', '2011-02-30', '2011-13-01', 'yesterday', '']) assert.equal(parseIsoTime(bad), undefined, bad);
  });

  let t: ComputeHarness;
  before(async () => {
    t = await startHarness();
    await addComputeNode(t.h, { host: 'cmp1' });
    await insertInstances(t.h.db, [instance()]);
  });
  after(async () => t.close());

  it('GET /servers?changes-since=2011/01/01 is 400 naming the parameter; an ISO date lists', async () => {
    const bad = await t.call('GET', '/compute/v2.1/servers?changes-since=2011%2F01%2F01', 'member-a');
    assert.equal(bad.status, 400);
    assert.match(str(bad.body, 'badRequest', 'message'), /changes-since\. Value: 2011\/01\/01/);
    const good = await t.call('GET', '/compute/v2.1/servers?changes-since=2011-01-01T00:00:00Z', 'member-a');
    assert.equal(good.status, 200, good.text);
    assert.equal(list(good.body, 'servers').length, 1);
    assert.equal(typeof at(list(good.body, 'servers')[0], 'id'), 'string');
  });
});
