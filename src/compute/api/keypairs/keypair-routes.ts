import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAdmin, requireWriter } from '../../../api/policy.js';
import { ConflictError, InvalidInputError, PolyvisorError, QuotaExceededError } from '../../../errors.js';
import { deleteKeypair, getKeypair, insertKeypair, listKeypairs } from '../../../db/repos/keypairs.js';
import { effectiveQuotas } from '../quotas/effective.js';
import type { KeypairRow } from '../../../db/schema.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf, Linker, param, parseLimit, pathParam, queryOf } from '../request.js';
import { pythonIsoTime } from '../times.js';
import { strictObject } from '../validation.js';
import { fingerprintOf, generateKeypair, parsePublicKey } from './ssh-keys.js';
import { generateCertificate, parseCertificate } from './x509-keys.js';

// The widest body (2.10); fields a lower microversion does not know are refused by fieldsSince.
const createSchema = strictObject(
  {
    keypair: strictObject(
      {
        name: { type: 'string', minLength: 1, maxLength: 255 },
        public_key: { type: 'string' },
        type: { type: 'string', enum: ['ssh', 'x509'] },
        user_id: { type: 'string', minLength: 1, maxLength: 255 },
      },
      ['name'],
    ),
  },
  ['keypair'],
);

interface CreateBody {
  keypair: { name: string; public_key?: string; type?: 'ssh' | 'x509'; user_id?: string };
}

const SAFE_NAME = /^[A-Za-z0-9_\- ]+$/;
const SAFE_NAME_292 = /^[A-Za-z0-9_\- .@]+$/;

function keypairNotFound(name: string): PolyvisorError {
  return new PolyvisorError('not_found', `Keypair ${name} not found for user`);
}

/** A field added by a later microversion is, at a lower one, an unknown property (400) as in Nova's schemas. */
function fieldsSince(req: FastifyRequest, body: CreateBody['keypair']): void {
  for (const [field, minor] of [['type', 2], ['user_id', 10]] as const) {
    if (body[field] !== undefined && !atLeast(req, 2, minor)) {
      throw new InvalidInputError(`body/keypair Additional properties are not allowed ('${field}' was unexpected)`);
    }
  }
}

/**
 * The user whose key pairs a request works on: the caller's own, or (2.10, admins only)
 * the one named by `user_id`. Before 2.10 `user_id` is not a parameter and is ignored.
 */
function targetUser(req: FastifyRequest, requested: string | undefined, what: string): string {
  const ctx = callerOf(req);
  if (requested === undefined || requested === ctx.userId || !atLeast(req, 2, 10)) return ctx.userId;
  requireAdmin(ctx, `os_compute_api:os-keypairs:${what}`);
  return requested;
}

/**
 * `/os-keypairs`: a user's key pairs. Microversion 2.2 adds `type` (ssh or x509), create
 * answers 201 and delete 204; 2.10 lets admins work on other users' key pairs (`user_id`).
 */
export function keypairRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const typed = (req: FastifyRequest, k: KeypairRow, view: Record<string, unknown>) => (atLeast(req, 2, 2) ? { ...view, type: k.type } : view);

  app.get('/os-keypairs', async (req) => {
    const userId = targetUser(req, param(queryOf(req), 'user_id'), 'index');
    let rows = await listKeypairs(deps.db, userId);
    const q = queryOf(req);
    let limit: number | undefined;
    // 2.35: paging by name (the list's order), with a next link when a page is full.
    if (atLeast(req, 2, 35)) {
      const marker = param(q, 'marker');
      if (marker !== undefined) {
        const i = rows.findIndex((k) => k.name === marker);
        if (i < 0) throw new InvalidInputError(`marker [${marker}] not found`);
        rows = rows.slice(i + 1);
      }
      if (param(q, 'limit') !== undefined) {
        limit = parseLimit(q, deps.config.api.max_limit);
        rows = rows.slice(0, limit);
      }
    }
    const body: Record<string, unknown> = {
      keypairs: rows.map((k) => ({ keypair: typed(req, k, { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint }) })),
    };
    const last = rows[rows.length - 1];
    if (limit !== undefined && last && rows.length === limit) body['keypairs_links'] = new Linker(req, deps).next('os-keypairs', q, last.name);
    return body;
  });

  app.post('/os-keypairs', { schema: { body: createSchema } }, async (req, reply) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:os-keypairs:create');
    const body = (req.body as CreateBody).keypair;
    fieldsSince(req, body);
    const { name, public_key } = body;
    const type = body.type ?? 'ssh';
    const userId = targetUser(req, body.user_id, 'create');
    // 2.92: key pairs are imported only (no generated private keys), and names may hold '@' and '.'.
    if (atLeast(req, 2, 92) && public_key === undefined) throw new InvalidInputError("Invalid input for field/attribute keypair. 'public_key' is a required property");
    if (!(atLeast(req, 2, 92) ? SAFE_NAME_292 : SAFE_NAME).test(name)) throw new InvalidInputError('Keypair data is invalid: Keypair name contains unsafe characters');
    let publicKey: string;
    let fingerprint: string;
    let privateKey: string | undefined;
    if (type === 'x509') {
      if (public_key === undefined) ({ certificate: publicKey, fingerprint, privateKey } = await generateCertificate(userId));
      else ({ text: publicKey, fingerprint } = parseCertificate(public_key));
    } else if (public_key === undefined) {
      ({ publicKey, fingerprint, privateKey } = generateKeypair());
    } else {
      const parsed = parsePublicKey(public_key);
      publicKey = parsed.text;
      fingerprint = fingerprintOf(parsed.blob);
    }
    const quota = (await effectiveQuotas(deps.db, deps, ctx.projectId ?? '', userId)).key_pairs;
    const result = await insertKeypair(deps.db, deps.dialect, { name, userId, type, fingerprint, publicKey }, quota);
    if (!result.ok) {
      if (result.reason === 'duplicate') throw new ConflictError(`Key pair '${name}' already exists.`);
      throw new QuotaExceededError('Quota exceeded, too many key pairs.');
    }
    const keypair: Record<string, unknown> = typed(req, result.row, { name, public_key: publicKey, fingerprint, user_id: userId });
    if (privateKey !== undefined) keypair['private_key'] = privateKey;
    return reply.status(atLeast(req, 2, 2) ? 201 : 200).send({ keypair });
  });

  app.get('/os-keypairs/:name', async (req) => {
    const userId = targetUser(req, param(queryOf(req), 'user_id'), 'show');
    const name = pathParam(req, 'name');
    const k = await getKeypair(deps.db, userId, name);
    if (!k) throw keypairNotFound(name);
    return {
      keypair: typed(req, k, {
        id: k.id,
        name: k.name,
        public_key: k.public_key,
        fingerprint: k.fingerprint,
        user_id: k.user_id,
        created_at: pythonIsoTime(k.created_at),
        updated_at: null,
        deleted: false,
        deleted_at: null,
      }),
    };
  });

  app.delete('/os-keypairs/:name', async (req, reply) => {
    const ctx = callerOf(req);
    requireWriter(ctx, 'os_compute_api:os-keypairs:delete');
    const userId = targetUser(req, param(queryOf(req), 'user_id'), 'delete');
    const name = pathParam(req, 'name');
    if (!(await deleteKeypair(deps.db, userId, name))) throw keypairNotFound(name);
    return reply.status(atLeast(req, 2, 2) ? 204 : 202).send();
  });
}
