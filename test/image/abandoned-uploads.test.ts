import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sweepAbandonedUploads } from '../../src/image/api/abandoned-uploads.js';
import { createImageStore } from '../../src/image/index.js';
import { configFromText } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { OCTET, startImageApi, type ImageHarness } from './harness.js';

/**
 * An upload whose API process was killed leaves its image `saving` and a temporary file in
 * the store. Nothing else would ever finish it, so the sweeper puts the image back to
 * queued and removes the file — but only once nothing has been written for the threshold,
 * since another API process may be streaming an upload right now.
 */
describe('Image API: uploads abandoned by a dead API process', () => {
  let h: ImageHarness;
  before(async () => {
    h = await startImageApi();
  });
  after(async () => h.close());

  const status = async (id: string): Promise<string> => (await h.call('member-a', 'GET', `/image/v2/images/${id}`)).json<{ status: string }>().status;

  it('requeues a stale saving image and removes its temporary file; a live upload is left alone', async () => {
    const stale = String((await h.create('member-a', { name: 'killed-mid-upload', disk_format: 'raw', container_format: 'bare' }))['id']);
    const live = String((await h.create('member-a', { name: 'uploading-elsewhere', disk_format: 'raw', container_format: 'bare' }))['id']);
    // What the killed process left: the image claimed 10 minutes ago, and its half-written file.
    const tenMinutesAgo = new Date(Date.now() - 600_000).toISOString();
    await h.handle.db.updateTable('images').set({ status: 'saving', updated_at: tenMinutesAgo }).where('id', '=', stale).execute();
    await h.handle.db.updateTable('images').set({ status: 'saving' }).where('id', '=', live).execute();
    const staleFile = join(h.storeDir, '.upload-3f0e6a52-0000-4000-8000-000000000001');
    const liveFile = join(h.storeDir, '.upload-3f0e6a52-0000-4000-8000-000000000002');
    await mkdir(h.storeDir, { recursive: true });
    await writeFile(staleFile, Buffer.alloc(4096));
    await writeFile(liveFile, Buffer.alloc(4096));
    const old = new Date(Date.now() - 600_000);
    await utimes(staleFile, old, old);

    const store = createImageStore(configFromText(`[glance_store]\nfilesystem_store_datadir = ${h.storeDir}\n`).config);
    const result = await sweepAbandonedUploads({ db: h.handle.db, store, logger: silentLogger });
    assert.deepEqual(result.requeued, [stale]);
    assert.equal(result.tempFilesRemoved, 1);
    assert.equal(await status(stale), 'queued', 'the abandoned image can be uploaded again');
    assert.equal(await status(live), 'saving', 'an upload with recent progress is not touched');
    assert.ok(!h.storeFiles().includes('.upload-3f0e6a52-0000-4000-8000-000000000001'), 'the stale temporary file is gone');
    assert.ok(h.storeFiles().includes('.upload-3f0e6a52-0000-4000-8000-000000000002'), 'a file still being written stays');

    const put = await h.call('member-a', 'PUT', `/image/v2/images/${stale}/file`, Buffer.alloc(8192, 7), OCTET);
    assert.equal(put.statusCode, 204, put.body);
    assert.equal(await status(stale), 'active');

    // A second sweep finds nothing more to do.
    const again = await sweepAbandonedUploads({ db: h.handle.db, store, logger: silentLogger });
    assert.deepEqual(again, { requeued: [], tempFilesRemoved: 0 });
  });

  it('requeues an import whose process died (stage or web-download cut off); a staged image waiting for its import stays', async () => {
    const mk = async (name: string) => String((await h.create('member-a', { name, disk_format: 'raw', container_format: 'bare' }))['id']);
    const [stageCut, downloadCut, staged, downloading] = [await mk('stage-cut'), await mk('download-cut'), await mk('staged'), await mk('downloading')];
    const tenMinutesAgo = new Date(Date.now() - 600_000).toISOString();
    const importingProps = JSON.stringify({ os_glance_import_task: 't-1', os_glance_importing_to_stores: 'file', os_glance_failed_import: '' });
    const set = (id: string, values: Record<string, string | null>) => h.handle.db.updateTable('images').set(values).where('id', '=', id).execute();
    await set(stageCut, { status: 'uploading', updated_at: tenMinutesAgo });
    await set(downloadCut, { status: 'importing', properties: importingProps, updated_at: tenMinutesAgo });
    await set(staged, { status: 'uploading', location: 'staged-data', updated_at: tenMinutesAgo });
    await set(downloading, { status: 'importing', properties: importingProps });

    const store = createImageStore(configFromText(`[glance_store]\nfilesystem_store_datadir = ${h.storeDir}\n`).config);
    const result = await sweepAbandonedUploads({ db: h.handle.db, store, logger: silentLogger });
    assert.deepEqual([...result.requeued].sort(), [stageCut, downloadCut].sort());
    assert.equal(await status(stageCut), 'queued');
    const failed = (await h.call('member-a', 'GET', `/image/v2/images/${downloadCut}`)).json<Record<string, unknown>>();
    assert.equal(failed['status'], 'queued');
    assert.equal(failed['os_glance_failed_import'], 'file');
    assert.equal(failed['os_glance_importing_to_stores'], '');
    assert.equal(failed['os_glance_import_task'], undefined);
    assert.equal(await status(staged), 'uploading', 'staged data waits for its import call');
    assert.equal(await status(downloading), 'importing', 'a download with recent progress is not touched');
  });
});
