import { readFile } from 'node:fs/promises';
import { silentLogger, type Logger } from '../log.js';
import { DatastoreFiles } from './datastore/file-transfer.js';
import { retrieveServiceContent, SERVICE_INSTANCE, terminateSession } from './methods/session-methods.js';
import { currentTime } from './methods/session-methods.js';
import { AuthorizationManager } from './object/authorization-manager.js';
import { ClusterComputeResource } from './object/cluster-compute-resource.js';
import { Datacenter } from './object/datacenter.js';
import { Datastore } from './object/datastore.js';
import { FileManager } from './object/file-manager.js';
import { Folder } from './object/folder.js';
import { HostSystem } from './object/host-system.js';
import type { VimContext } from './object/managed-object.js';
import { ResourcePool } from './object/resource-pool.js';
import { VirtualDiskManager } from './object/virtual-disk-manager.js';
import { VirtualMachine } from './object/virtual-machine.js';
import { PropertyCollector } from './property/collector.js';
import { ContainerView } from './property/container-view.js';
import { retrieveInventory, type Inventory } from './property/inventory.js';
import { CallCounter } from './soap/call-counter.js';
import { CallLogger } from './soap/call-logger.js';
import { HttpTransport } from './soap/http-transport.js';
import { OpIdRoundTripper } from './soap/op-id.js';
import { RetryRoundTripper } from './soap/retry.js';
import type { CallOptions, RoundTripper } from './soap/round-tripper.js';
import { Session } from './session/session.js';
import { TaskWaiter } from './task/task-waiter.js';
import type { ManagedObjectReference } from './types/moref.js';
import type { ServiceContent } from './types/service.js';
import { PolyvisorError } from '../errors.js';

export interface ClientOptions {
  /** https://vcenter/sdk (a bare host or https://host is completed to /sdk). */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** A PEM file of CAs to trust ([vmware] ca_file). */
  readonly caFile?: string;
  /** PEM text, instead of caFile. */
  readonly ca?: string;
  /** Skip TLS verification ([vmware] insecure): logged as a warning. */
  readonly insecure?: boolean;
  readonly logger?: Logger;
  /** Per-call timeout (default 60 s). */
  readonly timeoutMs?: number;
  /** Retries of transient failures ([vmware] api_retry_count, default 10). */
  readonly retryCount?: number;
  readonly retryBaseDelayMs?: number;
  /** Connections kept to the vCenter (default 8). */
  readonly maxSockets?: number;
  /** Keepalive period while idle (default 5 minutes; 0 disables). */
  readonly keepAliveMs?: number;
}

/** The endpoint URL with /sdk, from what an operator writes in host_ip (and friends). */
export function sdkUrl(url: string): URL {
  const u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `https://${url}`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/sdk';
  return u;
}

/**
 * A logged-in vSphere client. The call stack, outermost first:
 * Session (re-login) → OpId → Retry → CallLogger → CallCounter → HttpTransport.
 */
export class Client implements VimContext {
  readonly rt: RoundTripper;
  readonly pc: PropertyCollector;
  readonly tasks: TaskWaiter;
  readonly files: DatastoreFiles;

  private constructor(
    readonly content: ServiceContent,
    readonly session: Session,
    readonly counter: CallCounter,
    readonly transport: HttpTransport,
    readonly log: Logger,
  ) {
    this.rt = session;
    this.pc = new PropertyCollector(session, content.propertyCollector);
    if (content.viewManager === undefined) throw new PolyvisorError('vsphere_unsupported', 'the server has no ViewManager');
    this.tasks = new TaskWaiter(session, content.propertyCollector, content.viewManager, () => session.generation, log);
    this.files = new DatastoreFiles(transport);
  }

  static async connect(options: ClientOptions, signal?: AbortSignal): Promise<Client> {
    const log = (options.logger ?? silentLogger).child({ component: 'vsphere' });
    const url = sdkUrl(options.url);
    if (options.insecure === true && url.protocol === 'https:') {
      log.warn({ url: url.origin }, 'TLS certificate verification of the vCenter is disabled (insecure)');
    }
    const ca = options.ca ?? (options.caFile === undefined ? undefined : await readFile(options.caFile, 'utf8'));
    const transport = new HttpTransport({
      url,
      ...(ca === undefined ? {} : { ca }),
      insecure: options.insecure ?? false,
      maxSockets: options.maxSockets ?? 8,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    const counter = new CallCounter(transport);
    const logged = new CallLogger(counter, log);
    const retried = new RetryRoundTripper(logged, { retryCount: options.retryCount ?? 10, ...(options.retryBaseDelayMs === undefined ? {} : { baseDelayMs: options.retryBaseDelayMs }) }, log);
    const stamped = new OpIdRoundTripper(retried);
    const o = signal === undefined ? {} : { signal };
    try {
      const content = await retrieveServiceContent(stamped, o);
      transport.apiVersion = content.about.apiVersion;
      if (content.sessionManager === undefined) throw new PolyvisorError('vsphere_unsupported', 'the server has no SessionManager');
      const session = new Session(stamped, {
        username: options.username,
        password: options.password,
        sessionManager: content.sessionManager,
        clearCookie: () => transport.clearCookie(),
        keepAliveMs: options.keepAliveMs ?? 300_000,
        logger: log,
      });
      await session.login(signal);
      log.debug({ url: url.origin, version: content.about.version, apiType: content.about.apiType }, 'connected to vSphere');
      return new Client(content, session, counter, transport, log);
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  /** True for a vCenter, false for a standalone ESXi host. */
  get isVCenter(): boolean {
    return this.content.about.apiType === 'VirtualCenter';
  }

  rootFolder(): Folder {
    return new Folder(this, this.content.rootFolder);
  }

  vm(ref: ManagedObjectReference): VirtualMachine {
    return new VirtualMachine(this, ref);
  }

  folder(ref: ManagedObjectReference): Folder {
    return new Folder(this, ref);
  }

  datacenter(ref: ManagedObjectReference): Datacenter {
    return new Datacenter(this, ref);
  }

  cluster(ref: ManagedObjectReference): ClusterComputeResource {
    return new ClusterComputeResource(this, ref);
  }

  host(ref: ManagedObjectReference): HostSystem {
    return new HostSystem(this, ref);
  }

  datastore(ref: ManagedObjectReference): Datastore {
    return new Datastore(this, ref);
  }

  resourcePool(ref: ManagedObjectReference): ResourcePool {
    return new ResourcePool(this, ref);
  }

  fileManager(): FileManager {
    return new FileManager(this, this.#required(this.content.fileManager, 'FileManager'));
  }

  virtualDiskManager(): VirtualDiskManager {
    return new VirtualDiskManager(this, this.#required(this.content.virtualDiskManager, 'VirtualDiskManager'));
  }

  authorizationManager(): AuthorizationManager {
    return new AuthorizationManager(this, this.#required(this.content.authorizationManager, 'AuthorizationManager'));
  }

  /** The whole inventory (datacenters → clusters → hosts → datastores → networks) in one round trip. */
  inventory(options: CallOptions & { vms?: boolean } = {}): Promise<Inventory> {
    return retrieveInventory(this.pc, this.content.rootFolder, options);
  }

  /** A ContainerView of `types` under `container` (default: the root folder). */
  containerView(types: readonly string[], container: ManagedObjectReference = this.content.rootFolder, options: CallOptions = {}): Promise<ContainerView> {
    return ContainerView.create(this.rt, this.#required(this.content.viewManager, 'ViewManager'), container, types, options);
  }

  /** The server clock (also a cheap liveness check). */
  currentTime(options: CallOptions = {}): Promise<Date> {
    return currentTime(this.rt, options);
  }

  /** Ends other sessions (an administrator's tool; vSphere refuses to end the caller's own). */
  terminateSessions(sessionIds: readonly string[], options: CallOptions = {}): Promise<void> {
    return terminateSession(this.rt, this.#required(this.content.sessionManager, 'SessionManager'), sessionIds, options);
  }

  /** Stops task waits and the keepalive, logs out and closes connections. */
  async close(signal?: AbortSignal): Promise<void> {
    try {
      await this.tasks.close();
      await this.session.logout(signal);
    } finally {
      this.transport.close();
    }
  }

  #required(ref: ManagedObjectReference | undefined, what: string): ManagedObjectReference {
    if (ref === undefined) throw new PolyvisorError('vsphere_unsupported', `the server has no ${what}`);
    return ref;
  }
}

export { SERVICE_INSTANCE };
