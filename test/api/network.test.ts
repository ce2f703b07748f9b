import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../src/api/server.js';
import { silentLogger } from '../../src/log.js';
import { networkRoutes } from '../../src/network/api/routes.js';
import { fakeAuthenticator } from '../support/fake-auth.js';

describe('network discovery endpoint', () => {
  let app: FastifyInstance;
  before(async () => {
    app = createApiServer({ logger: silentLogger, authenticator: fakeAuthenticator, maxBodySize: 4096 });
    await app.register(networkRoutes({ publicUrl: () => 'http://cloud.test:8774' }), { prefix: '/network' });
  });
  after(async () => app.close());

  it('advertises v2.0 and offers no extensions, zones or networks', async () => {
    const versions = await app.inject({ method: 'GET', url: '/network/' });
    assert.deepEqual(versions.json(), { versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ rel: 'self', href: 'http://cloud.test:8774/network/v2.0/' }] }] });
    const ext = await app.inject({ method: 'GET', url: '/network/v2.0/extensions', headers: { 'x-auth-token': 'member-a' } });
    assert.deepEqual(ext.json(), { extensions: [] });
    assert.equal((await app.inject({ method: 'GET', url: '/network/v2.0/extensions', headers: {} })).statusCode, 401);
    assert.equal((await app.inject({ method: 'GET', url: '/network/v2.0/networks', headers: { 'x-auth-token': 'member-a' } })).statusCode, 404);
  });
});
