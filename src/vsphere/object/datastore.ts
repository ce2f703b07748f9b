import { searchDatastoreSubFoldersTask, searchDatastoreTask } from '../methods/file-methods.js';
import type { CallOptions } from '../soap/round-tripper.js';
import type { HostDatastoreBrowserSearchResults, HostDatastoreBrowserSearchSpec } from '../types/datastore.js';
import { ManagedObject, type TaskCallOptions } from './managed-object.js';

/** Every file, with size and time ("*" spelt out: vcsim lists nothing without a pattern). */
const DEFAULT_SEARCH: HostDatastoreBrowserSearchSpec = {
  details: { fileType: true, fileSize: true, modification: true, fileOwner: false },
  matchPattern: ['*'],
};

export class Datastore extends ManagedObject {
  /** SearchDatastore_Task on "[ds] path": the files directly in it. */
  async search(datastorePath: string, spec: HostDatastoreBrowserSearchSpec = DEFAULT_SEARCH, options: TaskCallOptions = {}): Promise<HostDatastoreBrowserSearchResults> {
    const browser = await this.refProperty('browser', options);
    return (await this.runTask(searchDatastoreTask(this.ctx.rt, browser, datastorePath, spec, options), options)) as HostDatastoreBrowserSearchResults;
  }

  /** SearchDatastoreSubFolders_Task: one result per folder below the path. */
  async searchSubFolders(datastorePath: string, spec: HostDatastoreBrowserSearchSpec = DEFAULT_SEARCH, options: TaskCallOptions = {}): Promise<HostDatastoreBrowserSearchResults[]> {
    const browser = await this.refProperty('browser', options);
    const r = await this.runTask(searchDatastoreSubFoldersTask(this.ctx.rt, browser, datastorePath, spec, options), options);
    return Array.isArray(r) ? (r as HostDatastoreBrowserSearchResults[]) : [];
  }

  async summary(options: CallOptions = {}): Promise<{ name: string; capacity: number; freeSpace: number; url: string; accessible: boolean }> {
    const { summary } = await this.properties(['summary'], options);
    const s = (summary ?? {}) as Record<string, unknown>;
    const str = (v: unknown): string => (typeof v === 'string' ? v : '');
    return { name: str(s['name']), capacity: Number(s['capacity'] ?? 0), freeSpace: Number(s['freeSpace'] ?? 0), url: str(s['url']), accessible: s['accessible'] === true };
  }
}
