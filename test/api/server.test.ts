import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../../src/api/server.js';
import { InvalidInputError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { fakeAuthenticator } from '../support/fake-auth.js';

describe('the shared API server', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    app = createApiServer({ logger: silentLogger, authenticator: fakeAuthenticator, maxBodySize: 64 * 1024 });
    app.post('/compute/v2.1/things', { schema: { body: { type: 'object' } } }, async (req) => ({ got: req.body, user: req.auth?.userName }));
    app.post('/compute/v2.1/things/:id/action', async (req, reply) => reply.status(req.body === undefined ? 204 : 400).send());
    app.get('/compute/v2.1/bad', async () => {
      throw new InvalidInputError('the thing is wrong');
    });
    app.get('/compute/v2.1/boom', async () => {
      throw new Error('secret internal detail');
    });
    app.get('/identity/v3/public', { config: { public: true } }, async () => ({ ok: true }));
    app.delete('/compute/v2.1/things/:id', async (_req, reply) => reply.status(202).send());
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => app.close());

  const post = (body: string | Uint8Array, token = 'member-a') =>
    fetch(`${base}/compute/v2.1/things`, { method: 'POST', headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body });

  it('authenticates and stamps a request id', async () => {
    const res = await post('{"a":1}');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { got: { a: 1 }, user: 'alice' });
    assert.match(res.headers.get('x-openstack-request-id') ?? '', /^req-[0-9a-f-]{36}$/);
    assert.equal(res.headers.get('x-compute-request-id'), res.headers.get('x-openstack-request-id'));
  });

  it('refuses a missing or unknown token with 401, and lets public routes through', async () => {
    const res = await post('{}', 'nope');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { unauthorized: { code: number } }).unauthorized.code, 401);
    assert.equal((await fetch(`${base}/identity/v3/public`)).status, 200);
  });

  it('answers malformed JSON with a compute badRequest fault', async () => {
    const res = await post('{"a":');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { badRequest: { code: number; message: string } };
    assert.equal(body.badRequest.code, 400);
    assert.match(body.badRequest.message, /Malformed request body/);
  });

  it('accepts a bodyless request with a JSON content type, as tempest and keystoneauth send it', async () => {
    const res = await fetch(`${base}/compute/v2.1/things/1`, { method: 'DELETE', headers: { 'x-auth-token': 'member-a', 'content-type': 'application/json' } });
    assert.equal(res.status, 202);
    const action = await fetch(`${base}/compute/v2.1/things/1/action`, { method: 'POST', headers: { 'x-auth-token': 'member-a', 'content-type': 'application/json' } });
    assert.equal(action.status, 204);
    const empty = await post('');
    assert.equal(empty.status, 400, 'a POST still needs its body');
  });

  it('answers a body over the limit with 413 and a fault, even while the client is still sending', async () => {
    const res = await post(new Uint8Array(10 * 1024 * 1024).fill(32));
    assert.equal(res.status, 413);
    const body = (await res.json()) as { overLimit: { message: string } };
    assert.match(body.overLimit.message, /limit is 65536 bytes/);
  });

  it('maps typed errors, hides internal ones, and 404s unknown paths in the family shape', async () => {
    const bad = await fetch(`${base}/compute/v2.1/bad`, { headers: { 'x-auth-token': 'admin' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { badRequest: { code: 400, message: 'the thing is wrong' } });
    const boom = await fetch(`${base}/compute/v2.1/boom`, { headers: { 'x-auth-token': 'admin' } });
    assert.equal(boom.status, 500);
    assert.doesNotMatch(await boom.text(), /secret internal detail/);
    const missing = await fetch(`${base}/identity/v3/nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: number } }).error.code, 404);
  });
});
