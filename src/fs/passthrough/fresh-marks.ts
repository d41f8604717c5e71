// What the kernel holds fresh, per inode slot: a listing need not statx a
// name whose inode the kernel was given an entry for (dentry and
// attributes) within the shortest cache timeout, and has not invalidated
// since as far as the daemon can tell (an open clears the mark: writes and
// reads make the kernel drop what it cached). Two bitmaps a chunk
// (Chunk.fresh), one per half of that window, so that marks age out
// without a clock per slot: a mark lives between one half and a whole
// window.

import { FRESH_BYTES } from './inode-chunk.js';
import type { Chunk } from './inode-chunk.js';

export class FreshMarks {
  /** Half the window, ms; 0: the kernel caches nothing, nothing is fresh. */
  private halfMs = 0;
  private epoch = -2;

  /** `chunks` gives the table's chunks as they are now (the table may replace its array). */
  constructor(private readonly chunks: () => readonly (Chunk | null)[]) {}

  /** The shortest time the kernel keeps an entry or attributes it is given (seconds; 0 turns marks off). */
  setWindow(seconds: number): void {
    this.halfMs = seconds > 0 && Number.isFinite(seconds) ? seconds * 500 : 0;
    for (const c of this.chunks()) c?.fresh.fill(0);
  }

  /** Whether marks are kept at all. */
  get on(): boolean {
    return this.halfMs !== 0;
  }

  /** Clears the bitmap of a half that ended; returns the current half's offset. */
  private half(): number {
    const e = Math.floor(performance.now() / this.halfMs);
    if (e !== this.epoch) {
      const both = e !== this.epoch + 1;
      const h = (e & 1) * FRESH_BYTES;
      for (const c of this.chunks()) {
        if (c === null) continue;
        if (both) c.fresh.fill(0);
        else c.fresh.fill(0, h, h + FRESH_BYTES);
      }
      this.epoch = e;
    }
    return (e & 1) * FRESH_BYTES;
  }

  /** Slot `i` of chunk `c`: the kernel was just given its entry. */
  mark(c: Chunk, i: number): void {
    if (this.halfMs === 0) return;
    c.fresh[this.half() + (i >> 3)] |= 1 << (i & 7);
  }

  /** Slot `i` of chunk `c`: what the kernel holds may be out of date. */
  clear(c: Chunk, i: number): void {
    const bit = ~(1 << (i & 7));
    c.fresh[i >> 3] &= bit;
    c.fresh[FRESH_BYTES + (i >> 3)] &= bit;
  }

  /** Ages the marks; call before isFresh() (once a listing, not per name). */
  age(): void {
    if (this.halfMs !== 0) this.half();
  }

  /** Whether slot `i` of chunk `c` is marked in either half (as of the last age() or mark()). */
  isFresh(c: Chunk, i: number): boolean {
    if (this.halfMs === 0) return false;
    const byte = i >> 3;
    return ((c.fresh[byte]! | c.fresh[FRESH_BYTES + byte]!) & (1 << (i & 7))) !== 0;
  }
}
