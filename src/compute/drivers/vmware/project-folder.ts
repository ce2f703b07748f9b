import { asFault, isMoref, morefKey, type Client, type ManagedObjectReference } from '../../../vsphere/index.js';

/**
 * Our VMs live in `<datacenter vmFolder>/OpenStack/Project (<project id>)/`. A folder is
 * created at its first use (CreateFolder; a DuplicateName fault carries the existing one)
 * and remembered, so a warm boot costs no round trip for it.
 */
export class ProjectFolders {
  readonly #known = new Map<string, Promise<ManagedObjectReference>>();

  constructor(private readonly client: Client) {}

  folder(vmFolder: ManagedObjectReference, projectId: string, signal: AbortSignal): Promise<ManagedObjectReference> {
    const key = `${morefKey(vmFolder)}|${projectId}`;
    let p = this.#known.get(key);
    if (p === undefined) {
      p = this.#ensure(this.#ensure(Promise.resolve(vmFolder), 'OpenStack', signal), `Project (${projectId})`, signal);
      this.#known.set(key, p);
      p.catch(() => this.#known.delete(key));
    }
    return p;
  }

  async #ensure(parent: Promise<ManagedObjectReference>, name: string, signal: AbortSignal): Promise<ManagedObjectReference> {
    const ref = await parent;
    try {
      return (await this.client.folder(ref).createFolder(name, { signal })).ref;
    } catch (err) {
      const existing = asFault(err, 'DuplicateName')?.fault['object'];
      if (isMoref(existing)) return existing;
      throw err;
    }
  }
}
