import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiServer } from '../../../src/api/server.js';
import { configFromText } from '../../../src/config/load.js';
import type { DatabaseHandle } from '../../../src/db/database.js';
import { createImageStore, FileImageStore, imageRoutes } from '../../../src/image/index.js';
import { createLogger } from '../../../src/log.js';
import { openTestSqlite } from '../../support/databases.js';
import { fakeAuthenticator } from '../../support/fake-auth.js';
import { ImageFixtures } from './fixtures.js';

describe('[image] variant_formats: conversion in the background after an upload', () => {
  const fx = new ImageFixtures();
  const state = mkdtempSync(join(tmpdir(), 'polyvisor-bgvariants-'));
  let handle: DatabaseHandle;
  const lines: Record<string, unknown>[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: () => void }[] = [];
  const logged = (match: (l: Record<string, unknown>) => boolean) =>
    new Promise<void>((resolve) => (lines.some(match) ? resolve() : waiters.push({ match, resolve })));
  const logger = createLogger({
    level: 'info',
    destination: {
      write(msg: string) {
        const line = JSON.parse(msg) as Record<string, unknown>;
        lines.push(line);
        for (const w of waiters.filter((x) => x.match(line))) w.resolve();
      },
    },
  });

  before(async () => {
    fx.raw('disk.raw', 2 * 1024 * 1024);
    fx.qemuImg('convert', '-f', 'raw', '-O', 'qcow2', 'disk.raw', 'disk.qcow2');
    handle = await openTestSqlite();
  });
  after(async () => {
    await handle.close();
    fx.close();
    rmSync(state, { recursive: true, force: true });
  });

  it('produces the configured variants of an uploaded image once, without delaying the upload', async () => {
    const { config } = configFromText(`[DEFAULT]\nstate_path = ${state}\n[image]\nvariant_formats = vmdk, raw, qcow2\n`);
    const app = createApiServer({ logger, authenticator: fakeAuthenticator, maxBodySize: config.api.max_request_body_size });
    await app.register(imageRoutes({ db: handle.db, config, logger, store: createImageStore(config), publicUrl: () => 'http://x' }), { prefix: '/image' });
    try {
      const created = await app.inject({ method: 'POST', url: '/image/v2/images', headers: { 'x-auth-token': 'member-a', 'content-type': 'application/json' }, payload: { name: 'q', disk_format: 'qcow2', container_format: 'bare' } });
      const id = created.json<{ id: string }>().id;
      const put = await app.inject({ method: 'PUT', url: `/image/v2/images/${id}/file`, headers: { 'x-auth-token': 'member-a', 'content-type': 'application/octet-stream' }, payload: fx.read('disk.qcow2') });
      assert.equal(put.statusCode, 204);
      const ready = (format: string) => logged((l) => l['msg'] === 'image variant ready' && l['image'] === id && l['format'] === format);
      await Promise.all([ready('vmdk'), ready('raw')]);
      const dir = new FileImageStore(config.glance_store.filesystem_store_datadir).variantsDirectory;
      const names = readdirSync(dir).sort();
      assert.equal(names.length, 2, 'qcow2 is the stored format: no variant for it');
      assert.ok(names.some((n) => n.endsWith('.raw')) && names.some((n) => n.endsWith('.vmdk-streamOptimized-lsiLogic')), names.join(', '));
    } finally {
      await app.close();
    }
  });

  it('refuses an unknown format in the configuration, naming the option', () => {
    const { config } = configFromText(`[DEFAULT]\nstate_path = ${state}\n[image]\nvariant_formats = vhdx\n`);
    assert.throws(
      () => imageRoutes({ db: handle.db, config, logger, store: createImageStore(config), publicUrl: () => 'http://x' }),
      /\[image\] variant_formats: vhdx is not one of raw, qcow2, vmdk/,
    );
  });
});
