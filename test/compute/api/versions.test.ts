import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { at, PUBLIC_URL, startHarness, type ComputeHarness } from './harness.js';

/** The highest microversion we claim: every change up to it is implemented. */
const MAX = '2.96';

describe('compute API: versions and microversions', () => {
  let t: ComputeHarness;
  before(async () => {
    t = await startHarness();
  });
  after(async () => t.close());

  it('serves the version list and the v2.1 document without a token', async () => {
    const root = await t.call('GET', '/compute/', null);
    assert.equal(root.status, 200);
    // Nova lists the legacy v2.0 first (tempest's test_list_api_versions checks it), then v2.1.
    assert.equal(at(root.body, 'versions', 0, 'id'), 'v2.0');
    assert.equal(at(root.body, 'versions', 1, 'id'), 'v2.1');
    assert.equal(at(root.body, 'versions', 1, 'links', 0, 'href'), `${PUBLIC_URL}/compute/v2.1/`);
    const legacy = await t.call('GET', '/compute/v2/', null);
    assert.equal(legacy.status, 200);
    assert.equal(at(legacy.body, 'version', 'links', 0, 'href'), `${PUBLIC_URL}/compute/v2/`);
    const doc = await t.call('GET', '/compute/v2.1', null);
    assert.equal(doc.status, 200);
    assert.equal(at(doc.body, 'version', 'status'), 'CURRENT');
    assert.equal(at(doc.body, 'version', 'min_version'), '2.1');
    assert.equal(at(doc.body, 'version', 'version'), MAX);
  });

  it('negotiates from either header, accepts latest, and echoes both headers with Vary', async () => {
    const cases: [Record<string, string>, string][] = [
      [{}, '2.1'],
      [{ 'X-OpenStack-Nova-API-Version': '2.1' }, '2.1'],
      [{ 'OpenStack-API-Version': 'compute 2.5' }, '2.5'],
      [{ 'OpenStack-API-Version': 'image 2.9, compute latest' }, MAX],
    ];
    for (const [headers, expected] of cases) {
      const res = await t.call('GET', '/compute/v2.1/flavors', 'member-a', undefined, headers);
      assert.equal(res.status, 200, JSON.stringify(headers));
      assert.equal(res.headers['openstack-api-version'], `compute ${expected}`);
      assert.equal(res.headers['x-openstack-nova-api-version'], expected);
      assert.match(String(res.headers['vary']), /OpenStack-API-Version/);
      assert.match(String(res.headers['x-openstack-request-id']), /^req-/);
    }
  });

  it('answers 406 outside the supported range and 400 for a malformed version', async () => {
    const high = await t.call('GET', '/compute/v2.1/flavors', 'member-a', undefined, { 'OpenStack-API-Version': 'compute 2.99' });
    assert.equal(high.status, 406);
    assert.equal(at(high.body, 'notAcceptable', 'message'), `Version 2.99 is not supported by the API. Minimum is 2.1 and maximum is ${MAX}.`);
    assert.equal((await t.call('GET', '/compute/v2.1/flavors', 'member-a', undefined, { 'X-OpenStack-Nova-API-Version': '2.0' })).status, 406);
    const bad = await t.call('GET', '/compute/v2.1/flavors', 'member-a', undefined, { 'X-OpenStack-Nova-API-Version': 'two' });
    assert.equal(bad.status, 400);
  });

  it('answers unknown paths with the compute 404 body', async () => {
    const res = await t.call('GET', '/compute/v2.1/nothing-here', 'member-a');
    assert.equal(res.status, 404);
    assert.equal(at(res.body, 'itemNotFound', 'code'), 404);
  });
});
