import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../../errors.js';
import { callerOf, pathParam } from '../request.js';

/**
 * `/extensions`: Nova answers with the fixed list of the legacy v2 extension names that
 * v2.1 still covers (nova/api/openstack/compute/extension_info.py); clients and tempest
 * look for names such as 'Hosts' and aliases such as 'os-consoles'. Ours is the part of
 * that list whose resources Polyvisor serves (os-consoles is listed, as Nova still lists it
 * though its API is gone, and console access is through remote-consoles).
 */
const EXTENSIONS: readonly [name: string, alias: string, description: string][] = [
  ['AdminActions', 'os-admin-actions', 'Enable admin-only server actions.'],
  ['AggregateAggregates', 'os-aggregates', 'Admin-only aggregate administration.'],
  ['AvailabilityZone', 'os-availability-zone', '1. Add availability_zone to the Create Server API. 2. Add availability zones describing.'],
  ['Consoles', 'os-consoles', 'Interactive Console support.'],
  ['ConsoleOutput', 'os-console-output', 'Console log output support, with tailing ability.'],
  ['CreateServerExt', 'os-create-server-ext', 'Extended support to the Create Server v1.1 API.'],
  ['DeferredDelete', 'os-deferred-delete', 'Instance deferred delete.'],
  ['DiskConfig', 'OS-DCF', 'Disk Management Extension.'],
  ['ExtendedAvailabilityZone', 'OS-EXT-AZ', 'Extended Availability Zone support.'],
  ['ExtendedServerAttributes', 'OS-EXT-SRV-ATTR', 'Extended Server Attributes support.'],
  ['ExtendedStatus', 'OS-EXT-STS', 'Extended Status support.'],
  ['ExtendedVolumes', 'os-extended-volumes', 'Extended Volumes support.'],
  ['FlavorAccess', 'os-flavor-access', 'Flavor access support.'],
  ['FlavorExtraSpecs', 'os-flavor-extra-specs', 'Flavors extra specs support.'],
  ['FlavorManage', 'os-flavor-manage', 'Flavor create/delete API support.'],
  ['Hosts', 'os-hosts', 'Admin-only host administration.'],
  ['Hypervisors', 'os-hypervisors', 'Admin-only hypervisor administration.'],
  ['ImageSize', 'OS-EXT-IMG-SIZE', 'Adds image size to image listings.'],
  ['InstanceActions', 'os-instance-actions', 'View a log of actions and events taken on an instance.'],
  ['InstanceUsageAuditLog', 'os-instance-usage-audit-log', 'Admin-only Task Log Monitoring.'],
  ['Keypairs', 'os-keypairs', 'Keypair Support.'],
  ['Lock', 'os-lock-server', 'Enable lock/unlock server actions.'],
  ['MultipleCreate', 'os-multiple-create', 'Allow multiple create in the Create Server v2.1 API.'],
  ['PauseServer', 'os-pause-server', 'Enable pause/unpause server actions.'],
  ['QuotaClasses', 'os-quota-class-sets', 'Quota classes management support.'],
  ['Quotas', 'os-quota-sets', 'Quotas management support.'],
  ['RemoteConsoles', 'os-remote-consoles', 'Interactive Console support.'],
  ['SchedulerHints', 'OS-SCH-HNT', 'Pass arbitrary key/value pairs to the scheduler.'],
  ['ServerGroupQuotas', 'os-server-group-quotas', 'Adds quota support to server groups.'],
  ['ServerGroups', 'os-server-groups', 'Server group support.'],
  ['ServerUsage', 'OS-SRV-USG', 'Adds launched_at and terminated_at on Servers.'],
  ['Services', 'os-services', 'Services support.'],
  ['SimpleTenantUsage', 'os-simple-tenant-usage', 'Simple tenant usage extension.'],
  ['SuspendServer', 'os-suspend-server', 'Enable suspend/resume server actions.'],
  ['UserQuotas', 'os-user-quotas', 'Project user quota support.'],
];

function view([name, alias, description]: (typeof EXTENSIONS)[number]) {
  return { name, alias, description, namespace: `http://docs.openstack.org/compute/ext/fake_xml`, updated: '2014-12-03T00:00:00Z', links: [] };
}

export function extensionRoutes(app: FastifyInstance): void {
  app.get('/extensions', async (req) => {
    callerOf(req);
    return { extensions: EXTENSIONS.map(view) };
  });
  app.get('/extensions/:alias', async (req) => {
    callerOf(req);
    const alias = pathParam(req, 'alias');
    const e = EXTENSIONS.find((x) => x[1] === alias);
    if (!e) throw new NotFoundError('Extension', alias);
    return { extension: view(e) };
  });
}
