import type { FastifyInstance } from 'fastify';
import { requireWriter } from '../../../api/policy.js';
import { getSystemMetadata, setSystemMetadata } from '../../../db/repos/instance-extras.js';
import type { ComputeDeps } from '../deps.js';
import { callerOf } from '../request.js';
import { visibleServer } from './lookup.js';

/** Where the guest-posted password blob lives (Nova splits it over password_0..3; one key here). */
const PASSWORD_KEY = 'password';

/**
 * os-server-password: the encrypted password a guest posts to the metadata service, for
 * its owner to fetch and decrypt with the keypair's private key. Polyvisor has no metadata
 * service yet, so nothing is ever posted and GET answers "" as Nova does for such a server;
 * DELETE clears it (204). changePassword does not show up here (nor does it in Nova).
 */
export function serverPasswordRoutes(app: FastifyInstance, deps: ComputeDeps): void {
  app.get('/servers/:server_id/os-server-password', async (req) => {
    const row = await visibleServer(req, deps);
    requireWriter(callerOf(req), 'os_compute_api:os-server-password:show');
    return { password: (await getSystemMetadata(deps.db, row.uuid))[PASSWORD_KEY] ?? '' };
  });
  app.delete('/servers/:server_id/os-server-password', async (req, reply) => {
    const row = await visibleServer(req, deps);
    requireWriter(callerOf(req), 'os_compute_api:os-server-password:clear');
    await setSystemMetadata(deps.db, row.uuid, { [PASSWORD_KEY]: null });
    return reply.status(204).send();
  });
}
