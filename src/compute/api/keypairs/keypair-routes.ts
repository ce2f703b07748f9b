import type { FastifyInstance } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import { ConflictError, InvalidInputError, PolyvisorError, QuotaExceededError } from '../../../errors.js';
import { deleteKeypair, getKeypair, insertKeypair, listKeypairs } from '../../../db/repos/keypairs.js';
import { projectQuotas, defaultQuotas } from '../../../db/repos/quotas.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf, pathParam } from '../request.js';
import { pythonIsoTime } from '../times.js';
import { strictObject } from '../validation.js';
import { fingerprintOf, generateKeypair, parsePublicKey } from './ssh-keys.js';

const createSchema = strictObject(
  { keypair: strictObject({ name: { type: 'string', minLength: 1, maxLength: 255 }, public_key: { type: 'string' } }, ['name']) },
  ['keypair'],
);

const SAFE_NAME = /^[A-Za-z0-9_\- ]+$/;

function keypairNotFound(name: string): PolyvisorError {
  return new PolyvisorError('not_found', `Keypair ${name} not found for user`);
}

/** `/os-keypairs`: a user's SSH key pairs (2.1 forms: create 200, delete 202, no type field). */
export function keypairRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/os-keypairs', async (req) => {
    const ctx = callerOf(req);
    const rows = await listKeypairs(deps.db, ctx.userId);
    return { keypairs: rows.map((k) => ({ keypair: { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint } })) };
  });

  app.post('/os-keypairs', { schema: { body: createSchema } }, async (req) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:os-keypairs:create');
    const { name, public_key } = (req.body as { keypair: { name: string; public_key?: string } }).keypair;
    if (!SAFE_NAME.test(name)) throw new InvalidInputError('Keypair data is invalid: Keypair name contains unsafe characters');
    let publicKey: string;
    let fingerprint: string;
    let privateKey: string | undefined;
    if (public_key === undefined) {
      const generated = generateKeypair();
      ({ publicKey, fingerprint, privateKey } = generated);
    } else {
      const parsed = parsePublicKey(public_key);
      publicKey = parsed.text;
      fingerprint = fingerprintOf(parsed.blob);
    }
    const quota = (await projectQuotas(deps.db, defaultQuotas(deps.config.quota), ctx.projectId ?? '')).key_pairs;
    const result = await insertKeypair(deps.db, deps.dialect, { name, userId: ctx.userId, type: 'ssh', fingerprint, publicKey }, quota);
    if (!result.ok) {
      if (result.reason === 'duplicate') throw new ConflictError(`Key pair '${name}' already exists.`);
      throw new QuotaExceededError('Quota exceeded, too many key pairs.');
    }
    const keypair: Record<string, unknown> = { name, public_key: publicKey, fingerprint, user_id: ctx.userId };
    if (privateKey !== undefined) keypair['private_key'] = privateKey;
    return { keypair };
  });

  app.get('/os-keypairs/:name', async (req) => {
    const ctx = callerOf(req);
    const name = pathParam(req, 'name');
    const k = await getKeypair(deps.db, ctx.userId, name);
    if (!k) throw keypairNotFound(name);
    return {
      keypair: {
        id: k.id,
        name: k.name,
        public_key: k.public_key,
        fingerprint: k.fingerprint,
        user_id: k.user_id,
        created_at: pythonIsoTime(k.created_at),
        updated_at: null,
        deleted: false,
        deleted_at: null,
      },
    };
  });

  app.delete('/os-keypairs/:name', async (req, reply) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:os-keypairs:delete');
    const name = pathParam(req, 'name');
    if (!(await deleteKeypair(deps.db, ctx.userId, name))) throw keypairNotFound(name);
    return reply.status(202).send();
  });
}
