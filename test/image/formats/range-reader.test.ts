import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_WANT, RangeReader } from '../../../src/image/formats/range-reader.js';

const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));

function feed(reader: RangeReader, chunk: number): void {
  for (let o = 0; o < data.length; o += chunk) reader.push(data.subarray(o, o + chunk));
}

describe('RangeReader: the ranges parsers ask for, served once as the upload streams', () => {
  for (const chunk of [1, 7, 100, 1000]) {
    it(`serves ordered, out-of-order, overlapping and chained asks with ${chunk}-byte chunks`, () => {
      const r = new RangeReader();
      const got: string[] = [];
      const take = (name: string, offset: number, length: number) =>
        r.want(offset, length, (b) => {
          assert.ok(b.equals(data.subarray(offset, offset + length)), `${name} bytes`);
          got.push(name);
        });
      take('c', 500, 20);
      take('a', 10, 4);
      take('b', 12, 300); // overlaps a
      take('empty', 40, 0);
      // Asked from a callback, for bytes right after: still served from the same chunk.
      r.want(900, 2, () => {
        got.push('d');
        take('e', 902, 98);
      });
      feed(r, chunk);
      assert.deepEqual(got.sort(), ['a', 'b', 'c', 'd', 'e', 'empty']);
      assert.equal(r.outstanding, 0);
      assert.equal(r.position, 1000);
    });
  }

  it('says which range is missing at the end, and refuses what has gone by or is too large', () => {
    const r = new RangeReader();
    r.want(990, 20, () => assert.fail('never complete'));
    feed(r, 64);
    assert.deepEqual(r.firstOutstanding(), { offset: 1000, length: 20 });
    assert.equal(r.want(5, 1, () => undefined), false, 'bytes already streamed past');
    assert.throws(() => r.want(2000, MAX_WANT + 1, () => undefined), /larger than/);
    assert.throws(() => r.want(-1, 1, () => undefined), /bad range/);
  });

  it('an error thrown by a callback reaches the caller of push', () => {
    const r = new RangeReader();
    r.want(3, 2, () => {
      throw new Error('refused');
    });
    assert.throws(() => r.push(data.subarray(0, 10)), /refused/);
  });
});
