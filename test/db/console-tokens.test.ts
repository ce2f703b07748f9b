import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consumeConsoleToken, issueConsoleToken, peekConsoleToken, tokenHash } from '../../src/db/repos/consoles.js';
import { DIALECTS } from '../support/databases.js';

/** One-time console tokens (migration 0010-console) on SQLite and PostgreSQL. */
for (const dialect of DIALECTS) {
  describe(`console tokens are one-time (${dialect.name})`, () => {
    it('of 8 concurrent redemptions exactly one wins; the others learn the token was used', async () => {
      const h = await dialect.open();
      try {
        await issueConsoleToken(h.db, 'tok-1', { instanceUuid: 'i-1', consoleType: 'novnc', host: '127.0.0.1', port: 5900, ttlSeconds: 600 });
        assert.ok('row' in (await peekConsoleToken(h.db, 'tok-1')), 'a peek does not use it up');
        const results = await Promise.all(Array.from({ length: 8 }, () => consumeConsoleToken(h.db, 'tok-1')));
        const won = results.filter((r) => 'row' in r);
        assert.equal(won.length, 1);
        assert.deepEqual(results.filter((r) => 'refused' in r).map((r) => ('refused' in r ? r.refused : '')), Array(7).fill('used'));
        assert.deepEqual(await consumeConsoleToken(h.db, 'tok-1'), { refused: 'used', instanceUuid: 'i-1' });
      } finally {
        await h.close();
      }
    });

    it('says expired and unknown apart, and stores only the hash', async () => {
      const h = await dialect.open();
      try {
        await issueConsoleToken(h.db, 'tok-2', { instanceUuid: 'i-2', consoleType: 'novnc', host: 'h', port: 5901, ttlSeconds: 600 });
        await h.db.updateTable('console_auth_tokens').set({ expires_at: new Date(Date.now() - 1).toISOString() }).where('token_hash', '=', tokenHash('tok-2')).execute();
        assert.deepEqual(await consumeConsoleToken(h.db, 'tok-2'), { refused: 'expired', instanceUuid: 'i-2' });
        assert.deepEqual(await consumeConsoleToken(h.db, 'never-issued'), { refused: 'unknown' });
        const stored = await h.db.selectFrom('console_auth_tokens').select(['token_hash', 'used_at']).execute();
        assert.deepEqual(stored, [{ token_hash: tokenHash('tok-2'), used_at: null }]);
      } finally {
        await h.close();
      }
    });
  });
}
