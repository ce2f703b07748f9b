import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors.js';
import { REGION, catalogEndpoints, catalogServices } from '../catalog.js';
import type { IdentityEnv } from '../deps.js';
import { DEFAULT_DOMAIN } from '../domains.js';
import { adminOnly } from '../policy.js';
import { domainView, endpointView, listLinks, serviceById, serviceView } from '../views.js';
import { caller, param, query } from './request.js';

/** Read-only views of what is fixed in Polyvisor: services, endpoints, the region and the one domain. */
export function catalogRoutes(app: FastifyInstance, env: IdentityEnv): void {
  app.get('/v3/services', async (req) => {
    adminOnly(caller(req), 'list_services');
    const type = query(req, 'type');
    const services = catalogServices().filter((s) => type === undefined || s.type === type);
    return { services: services.map((s) => serviceView(s, env.v3Url())), links: listLinks(`${env.v3Url()}/services`) };
  });

  app.get('/v3/services/:service_id', async (req) => {
    adminOnly(caller(req), 'get_service');
    const id = param(req, 'service_id');
    const s = serviceById(id);
    if (!s) throw new NotFoundError('Service', id);
    return { service: serviceView(s, env.v3Url()) };
  });

  app.get('/v3/endpoints', async (req) => {
    adminOnly(caller(req), 'list_endpoints');
    const iface = query(req, 'interface');
    const serviceId = query(req, 'service_id');
    const regionId = query(req, 'region_id');
    const endpoints = catalogEndpoints(env.publicUrl()).filter(
      (e) => (iface === undefined || e.interface === iface) && (serviceId === undefined || e.service_id === serviceId) && (regionId === undefined || e.region_id === regionId),
    );
    return { endpoints: endpoints.map((e) => endpointView(e, env.v3Url())), links: listLinks(`${env.v3Url()}/endpoints`) };
  });

  app.get('/v3/endpoints/:endpoint_id', async (req) => {
    adminOnly(caller(req), 'get_endpoint');
    const id = param(req, 'endpoint_id');
    const e = catalogEndpoints(env.publicUrl()).find((x) => x.id === id);
    if (!e) throw new NotFoundError('Endpoint', id);
    return { endpoint: endpointView(e, env.v3Url()) };
  });

  const region = () => ({ id: REGION, description: '', parent_region_id: null, links: { self: `${env.v3Url()}/regions/${REGION}` } });
  app.get('/v3/regions', async (req) => {
    caller(req);
    return { regions: [region()], links: listLinks(`${env.v3Url()}/regions`) };
  });
  app.get('/v3/regions/:region_id', async (req) => {
    caller(req);
    const id = param(req, 'region_id');
    if (id !== REGION) throw new NotFoundError('Region', id);
    return { region: region() };
  });

  app.get('/v3/domains', async (req) => {
    adminOnly(caller(req), 'list_domains');
    const name = query(req, 'name');
    const enabled = query(req, 'enabled');
    const match = (name === undefined || name === DEFAULT_DOMAIN.name) && (enabled === undefined || enabled.toLowerCase() !== 'false');
    return { domains: match ? [domainView(env.v3Url())] : [], links: listLinks(`${env.v3Url()}/domains`) };
  });

  // Anyone may read the domain their project lives in; there is only one.
  app.get('/v3/domains/:domain_id', async (req) => {
    caller(req);
    const id = param(req, 'domain_id');
    if (id !== DEFAULT_DOMAIN.id) throw new NotFoundError('Domain', id);
    return { domain: domainView(env.v3Url()) };
  });
}
