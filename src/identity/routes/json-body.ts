import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../../errors.js';

/**
 * Keystone clients send some bodiless requests (PUT of a role grant) with a JSON content
 * type; an empty body is "no body" here, not an error. Malformed JSON is a 400 that says so.
 * Registered inside the identity plugin, so other API families keep their own parser.
 */
export function acceptEmptyJson(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (err) {
      done(new InvalidInputError(`Malformed request body: ${err instanceof Error ? err.message : 'invalid JSON'}.`), undefined);
    }
  });
}
