/**
 * Lets format parsers read an upload as it streams past, exactly once: a parser asks for
 * the bytes at [offset, offset+length) and is called back when they have arrived. Asks are
 * served in offset order; bytes nobody asked for are never copied, so memory stays bounded
 * by what parsers hold (each ask is capped) however large the image is. The bytes handed to a
 * callback may be a view of the caller's chunk: valid during the callback only, so a parser
 * copies what it keeps.
 */
export type RangeCallback = (bytes: Buffer) => void;

interface Want {
  readonly offset: number;
  readonly length: number;
  readonly callback: RangeCallback;
  /** Filled as chunks arrive; allocated lazily so far-ahead asks cost nothing until reached. */
  buffer?: Buffer | undefined;
  filled: number;
  done: boolean;
}

/** Largest single ask: a grain table, a compressed grain, a descriptor. */
export const MAX_WANT = 4 * 1024 * 1024;
/** Most outstanding asks at once (a grain directory of a 4 TiB disk has 131,072 tables). */
export const MAX_PENDING = 1 << 20;

export class RangeReader {
  #pos = 0;
  #pending: Want[] = [];
  #head = 0;
  #sorted = true;

  /** Bytes seen so far. */
  get position(): number {
    return this.#pos;
  }

  /**
   * Asks for a range. Returns false when it has already streamed past (the caller decides
   * whether that is an error); throws on a range too large to hold.
   */
  want(offset: number, length: number, callback: RangeCallback): boolean {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad range ${offset}+${length}`);
    if (length > MAX_WANT) throw new RangeError(`range of ${length} bytes is larger than ${MAX_WANT}`);
    if (offset < this.#pos && !this.#inCurrentChunk(offset)) return false;
    if (this.#pending.length - this.#head >= MAX_PENDING) throw new RangeError('too many outstanding ranges');
    const w: Want = { offset, length, callback, filled: 0, done: false };
    const last = this.#pending[this.#pending.length - 1];
    if (last !== undefined && last.offset > offset) this.#sorted = false;
    this.#pending.push(w);
    return true;
  }

  /** Ranges asked for and not yet complete. */
  get outstanding(): number {
    return this.#pending.slice(this.#head).filter((p) => !p.done).length;
  }

  /** The earliest outstanding ask, if any (to name what is missing at the end). */
  firstOutstanding(): { offset: number; length: number } | undefined {
    this.#sort();
    const w = this.#pending.slice(this.#head).find((p) => !p.done);
    return w === undefined ? undefined : { offset: w.offset + w.filled, length: w.length };
  }

  #chunkStart = 0;
  #inChunk = false;
  #inCurrentChunk(offset: number): boolean {
    return this.#inChunk && offset >= this.#chunkStart;
  }

  /** Restores offset order after out-of-order asks; true when the array was rebuilt. */
  #sort(): boolean {
    if (this.#sorted) return false;
    const rest = this.#pending.slice(this.#head).filter((p) => !p.done).sort((a, b) => a.offset - b.offset);
    this.#pending = rest;
    this.#head = 0;
    this.#sorted = true;
    return true;
  }

  /**
   * Feeds the next chunk; callbacks run synchronously, in offset order, and may ask for more
   * (even inside this chunk). Overlapping asks are served too; an ask whose first bytes had
   * already streamed past when it was made can never complete and is dropped.
   */
  push(chunk: Buffer): void {
    const start = this.#pos;
    const end = start + chunk.length;
    this.#chunkStart = start;
    this.#inChunk = true;
    try {
      let i = this.#head;
      for (;;) {
        if (this.#sort()) i = 0;
        while (this.#head < this.#pending.length && this.#pending[this.#head]?.done === true) this.#head++;
        if (i < this.#head) i = this.#head;
        const w = this.#pending[i];
        if (w === undefined || w.offset >= end) break;
        i++;
        if (w.done) continue;
        const from = w.offset + w.filled;
        const wantEnd = w.offset + w.length;
        if (from < start) {
          w.done = true; // its first bytes went by before anyone asked: unrecoverable
          continue;
        }
        if (w.filled === 0 && wantEnd <= end) {
          // Entirely inside this chunk: a view, no copy (valid only during the callback).
          w.done = true;
          w.callback(chunk.subarray(w.offset - start, wantEnd - start));
          i = this.#head; // the callback may have asked for ranges earlier in this chunk
          continue;
        }
        if (from >= end) continue;
        w.buffer ??= Buffer.allocUnsafe(w.length);
        const take = Math.min(wantEnd, end) - from;
        chunk.copy(w.buffer, w.filled, from - start, from - start + take);
        w.filled += take;
        if (w.filled < w.length) continue;
        w.done = true;
        const bytes = w.buffer;
        w.buffer = undefined; // done asks wait in the array until compaction: hold nothing
        w.callback(bytes);
        i = this.#head;
      }
      if (this.#head > 64 && this.#head * 2 > this.#pending.length) {
        this.#pending = this.#pending.slice(this.#head);
        this.#head = 0;
      }
    } finally {
      this.#inChunk = false;
      this.#pos = end;
    }
  }
}
