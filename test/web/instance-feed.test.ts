import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { DatabaseHandle } from '../../src/db/database.js';
import { insertInstances, updateInstance } from '../../src/db/repos/instances.js';
import type { NewInstance } from '../../src/db/schema.js';
import { now } from '../../src/db/time.js';
import { createLogger } from '../../src/log.js';
import { InstanceFeed, type InstanceChange } from '../../src/web/instance-feed.js';
import { DIALECTS } from '../support/databases.js';

function newInstance(uuid: string, project: string, updatedAt = now()): NewInstance {
  return {
    uuid, display_name: `vm-${uuid.slice(0, 4)}`, display_description: null, hostname: 'vm', project_id: project, user_id: 'u1', flavor: '{}',
    image_ref: 'img', key_name: null, key_data: null, user_data: null, availability_zone: null, requested_availability_zone: null, host: null,
    node: null, vm_state: 'building', task_state: 'scheduling', power_state: 0, reservation_id: 'r-1', created_at: updatedAt, updated_at: updatedAt,
  };
}

/** Collects what a feed announces; `next(pred)` resolves with the first change matching it (past or future). */
function collector(feed: InstanceFeed) {
  const seen: InstanceChange[] = [];
  const waiters: { pred: (c: InstanceChange) => boolean; resolve: (c: InstanceChange) => void }[] = [];
  const stop = feed.subscribe((changes) => {
    seen.push(...changes);
    for (const c of changes) for (const w of [...waiters]) if (w.pred(c)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(c);
    }
  });
  return {
    seen,
    stop,
    next: (pred: (c: InstanceChange) => boolean, timeoutMs = 5000): Promise<InstanceChange> => {
      const found = seen.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching change within ${timeoutMs} ms; seen ${JSON.stringify(seen)}`)), timeoutMs);
        waiters.push({ pred, resolve: (c) => (clearTimeout(t), resolve(c)) });
      });
    },
  };
}

for (const dialect of DIALECTS) {
  describe(`dashboard instance feed (${dialect.name})`, () => {
    let h: DatabaseHandle;
    const logger = createLogger({ level: 'silent' });
    before(async () => {
      h = await dialect.open();
    });
    after(async () => h.close());

    it('announces a new instance and each guarded update once, with the API status', async () => {
      const feed = new InstanceFeed(h.db, h.bus, logger, { intervalMs: 50 });
      const c = collector(feed);
      try {
        const id = randomUUID();
        await insertInstances(h.db, [newInstance(id, 'p1')]);
        const built = await c.next((x) => x.id === id);
        assert.equal(built.status, 'BUILD');
        assert.equal(built.project_id, 'p1');
        assert.equal(built.task_state, 'scheduling');
        await updateInstance(h.db, id, {}, { vm_state: 'active', task_state: null, power_state: 1, host: 'h1' });
        const active = await c.next((x) => x.id === id && x.status === 'ACTIVE');
        assert.equal(active.host, 'h1');
        assert.equal(active.power_state, 1);
        await updateInstance(h.db, id, {}, { deleted: 1, vm_state: 'deleted' });
        const gone = await c.next((x) => x.id === id && x.deleted);
        assert.equal(gone.status, 'DELETED');
        // Several scans later, each version was announced exactly once.
        await feed.scanNow();
        await feed.scanNow();
        assert.deepEqual(c.seen.filter((x) => x.id === id).map((x) => x.status), ['BUILD', 'ACTIVE', 'DELETED']);
      } finally {
        c.stop();
        await feed.close();
      }
    });

    it('still sees a change stamped earlier than one it already announced (a late commit, a writer whose clock is behind)', async () => {
      const feed = new InstanceFeed(h.db, h.bus, logger, { intervalMs: 50 });
      const c = collector(feed);
      try {
        const first = randomUUID();
        await insertInstances(h.db, [newInstance(first, 'p1')]);
        await c.next((x) => x.id === first);
        const late = randomUUID();
        await insertInstances(h.db, [newInstance(late, 'p2', new Date(Date.now() - 2000).toISOString())]);
        const seen = await c.next((x) => x.id === late);
        assert.equal(seen.project_id, 'p2');
      } finally {
        c.stop();
        await feed.close();
      }
    });

    it('a Bus notification wakes the feed at once, without waiting for its timer', async () => {
      const feed = new InstanceFeed(h.db, h.bus, logger, { intervalMs: 600_000 });
      const c = collector(feed);
      try {
        const id = randomUUID();
        await insertInstances(h.db, [newInstance(id, 'p1')]);
        await h.bus.notify('scheduler', id);
        const seen = await c.next((x) => x.id === id, 3000);
        assert.equal(seen.status, 'BUILD');
      } finally {
        c.stop();
        await feed.close();
      }
    });
  });
}
