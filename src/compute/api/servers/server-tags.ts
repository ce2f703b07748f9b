import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import type { Db } from '../../../db/database.js';
import { addTag, listTags, removeTag, replaceTags } from '../../../db/repos/instance-extras.js';
import type { InstanceRow } from '../../../db/schema.js';
import { InvalidInputError, NotFoundError, PolyvisorError } from '../../../errors.js';
import { VmState } from '../../states.js';
import type { ComputeDeps } from '../deps.js';
import { atLeast } from '../microversion.js';
import { callerOf, Linker, pathParam } from '../request.js';
import { invalidState, visibleServer } from './lookup.js';

/** Nova's limit of tags per server. */
export const MAX_TAGS = 50;
const MAX_TAG_LENGTH = 60;
/** States in which Nova lets tags change (no task in progress). */
const TAGGABLE: readonly string[] = [VmState.ACTIVE, VmState.PAUSED, VmState.RESCUED, VmState.SHELVED, VmState.SHELVED_OFFLOADED, VmState.STOPPED, VmState.SUSPENDED];

/** Nova's tag: a string of 1–60 characters without '/' or ','. */
export function validateTag(tag: unknown, field = 'tags'): string {
  if (typeof tag !== 'string') throw new InvalidInputError(`Invalid input for field/attribute ${field}. Value: ${JSON.stringify(tag)}. ${JSON.stringify(tag)} is not of type 'string'`);
  if (tag.length < 1 || tag.length > MAX_TAG_LENGTH) throw new InvalidInputError(`Invalid input for field/attribute ${field}. Value: ${tag}. '${tag}' must be 1 to ${MAX_TAG_LENGTH} characters long`);
  if (/[/,]/.test(tag)) throw new InvalidInputError(`Invalid input for field/attribute ${field}. Value: ${tag}. '${tag}' must not contain '/' or ','`);
  return tag;
}

/** A list of tags (create 2.52, PUT /tags): at most 50, each valid. */
export function validateTagList(v: unknown): string[] {
  if (!Array.isArray(v)) throw new InvalidInputError(`Invalid input for field/attribute tags. Value: ${JSON.stringify(v)}. ${JSON.stringify(v)} is not of type 'array'`);
  const tags = v.map((t) => validateTag(t));
  if (tags.length > MAX_TAGS) throw new InvalidInputError(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
  return tags;
}

function notFound(): PolyvisorError {
  return new PolyvisorError('not_found', 'The resource could not be found.');
}

function assertTaggable(row: InstanceRow): void {
  if (!TAGGABLE.includes(row.vm_state)) throw invalidState('update tags', row, 'vm_state');
  if (row.task_state !== null) throw invalidState('update tags', row, 'task_state');
}

/** Server tags (microversion 2.26+; before it these URLs do not exist, as in Nova). */
export function serverTagRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  const load = async (req: FastifyRequest, policy: string): Promise<InstanceRow> => {
    if (!atLeast(req, 2, 26)) throw notFound();
    const row = await visibleServer(req, deps);
    requireWriter(callerOf(req), `os_compute_api:os-server-tags:${policy}`);
    return row;
  };
  const inTransaction = (f: (trx: Db) => Promise<void>) => deps.db.transaction().execute(f);

  app.get('/servers/:server_id/tags', async (req) => {
    const row = await load(req, 'index');
    return { tags: await listTags(deps.db, row.uuid) };
  });

  app.put('/servers/:server_id/tags', async (req) => {
    const row = await load(req, 'update_all');
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || !('tags' in body)) {
      throw new InvalidInputError("Invalid input for field/attribute tags. 'tags' is a required property");
    }
    const extra = Object.keys(body).find((k) => k !== 'tags');
    if (extra !== undefined) throw new InvalidInputError(`Additional properties are not allowed ('${extra}' was unexpected)`);
    const tags = validateTagList((body).tags);
    assertTaggable(row);
    await inTransaction((trx) => replaceTags(trx, row.uuid, tags));
    return { tags: await listTags(deps.db, row.uuid) };
  });

  app.delete('/servers/:server_id/tags', async (req, reply) => {
    const row = await load(req, 'delete_all');
    assertTaggable(row);
    await replaceTags(deps.db, row.uuid, []);
    return reply.status(204).send();
  });

  app.get('/servers/:server_id/tags/:tag', async (req, reply) => {
    const row = await load(req, 'show');
    const tag = pathParam(req, 'tag');
    if (!(await listTags(deps.db, row.uuid)).includes(tag)) throw new NotFoundError('Tag', tag);
    return reply.status(204).send();
  });

  app.put('/servers/:server_id/tags/:tag', async (req, reply) => {
    const row = await load(req, 'update');
    const tag = validateTag(pathParam(req, 'tag'), 'tag');
    assertTaggable(row);
    const current = await listTags(deps.db, row.uuid);
    if (current.includes(tag)) return reply.status(204).send();
    if (current.length >= MAX_TAGS) throw new InvalidInputError(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
    await addTag(deps.db, row.uuid, tag);
    reply.header('Location', `${new Linker(req, deps).self('servers', row.uuid)}/tags/${encodeURIComponent(tag)}`);
    return reply.status(201).send();
  });

  app.delete('/servers/:server_id/tags/:tag', async (req, reply) => {
    const row = await load(req, 'delete');
    const tag = pathParam(req, 'tag');
    assertTaggable(row);
    if (!(await removeTag(deps.db, row.uuid, tag))) throw new NotFoundError('Tag', tag);
    return reply.status(204).send();
  });
}
