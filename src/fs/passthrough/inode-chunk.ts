// The inode table's storage: chunks of typed arrays, one slot per inode
// (see inode-table.ts), and the hashing helpers the table's indexes use.

export const SHIFT = 14;
export const CHUNK = 1 << SHIFT;
export const MASK = CHUNK - 1;
export const SLOT_BYTES = 46;

// The two 32-bit halves of a u64 for hashing, without BigInt arithmetic
// (each BigInt operation allocates) when the value is below 2^53, as inode
// numbers and node ids almost always are.
export function lo32(v: bigint): number {
  const n = Number(v);
  return n <= Number.MAX_SAFE_INTEGER ? n >>> 0 : Number(v & 0xffffffffn);
}

/** Which 32-bit word of a u64 in a typed array holds its low half (the platform's byte order). */
export const LO_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;

export function hi32(v: bigint): number {
  const n = Number(v);
  return n <= Number.MAX_SAFE_INTEGER ? Math.floor(n / 0x100000000) : Number((v >> 32n) & 0xffffffffn);
}

/**
 * Parent and name, to reopen an inode no file handle can reopen (the name is
 * in the arena at handleOff/handleLen). No index by (parent, name): the
 * passthrough finds the inode a name reaches by statx'ing it, so a million
 * named inodes cost 6 bytes each here and no hash.
 */
export class NameSlots {
  /** The parent's slot; -1 when the inode has no name to be reopened by (its fd then stays open). */
  readonly parent = new Int32Array(CHUNK).fill(-1);
  /**
   * Named children, up to KIDS_MAX (the rest are counted in the table):
   * the inode stays, its fd closable, while it has any, forgotten by the kernel or not.
   */
  readonly kids = new Uint16Array(CHUNK);
}

export const KIDS_MAX = 0xffff;

/** Bytes of one of a chunk's two freshness bitmaps. */
export const FRESH_BYTES = CHUNK >> 3;

export const REFS_PINNED = 0xffffffff;

/** How a birth time's seconds are kept: modulo 2^32 (also before 1970 and after 2106). */
export function btimeKey(sec: number): number {
  return ((sec % 0x100000000) + 0x100000000) % 0x100000000;
}

export class Chunk {
  /** st_ino (NodeIds); the slot's node id is computed from the slot and gens. */
  readonly stIno: BigUint64Array;
  readonly hostIno: BigUint64Array;
  /** The same memory as 32-bit words (low word at 2i + LO_WORD): compared without a BigInt per candidate. */
  readonly hostInoWords: Uint32Array;
  /** Birth time's seconds modulo 2^32 (btimeKey): with the nanoseconds, a file's birth is never mistaken in practice. */
  readonly btimeSec: Uint32Array;
  /** Lookups the kernel holds; REFS_PINNED stays (the count overflowed: the inode is never let go). */
  readonly refs: Uint32Array;
  readonly btimeNsec: Uint32Array;
  readonly fds: Int32Array;
  /** How many times the slot was taken: its node id's upper half, and the entry's generation. */
  readonly gens: Uint32Array;
  readonly handleOff: Uint32Array;
  /** 0, HANDLE_LATER, BY_NAME, or the handle's type as an index into the table's list of types + HANDLE_TYPE_BASE. */
  readonly handleKind: Uint8Array;
  /**
   * The operation that last used the slot's fd (never closed during that
   * operation), modulo 255: a slot used 255 operations ago only looks used
   * now, and is then passed over by one sweep.
   */
  readonly touched: Uint8Array;
  /** Device index; 0 marks a free slot. */
  readonly dev: Uint16Array;
  readonly types: Uint8Array;
  readonly handleLen: Uint8Array;
  /** Parents and names: made when a slot of the chunk is first named. */
  names: NameSlots | null = null;
  /**
   * Two bitmaps of FRESH_BYTES (one per half of the kernel's cache window,
   * alternating): the slot's entry and attributes were sent in that half.
   */
  readonly fresh = new Uint8Array(2 * FRESH_BYTES);
  live = 0;
  /** Where the search for a free slot starts: slots fill in order, so a scan from here is short. */
  scan = 0;

  constructor() {
    const b = new ArrayBuffer(CHUNK * SLOT_BYTES);
    let at = 0;
    const take = <T>(make: (buf: ArrayBuffer, off: number, n: number) => T, size: number): T => {
      const v = make(b, at, CHUNK);
      at += size * CHUNK;
      return v;
    };
    this.stIno = take((x, o, n) => new BigUint64Array(x, o, n), 8);
    this.hostIno = take((x, o, n) => new BigUint64Array(x, o, n), 8);
    this.hostInoWords = new Uint32Array(b, this.hostIno.byteOffset, 2 * CHUNK);
    this.btimeSec = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.refs = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.btimeNsec = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.fds = take((x, o, n) => new Int32Array(x, o, n), 4);
    this.gens = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.handleOff = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.dev = take((x, o, n) => new Uint16Array(x, o, n), 2);
    this.types = take((x, o, n) => new Uint8Array(x, o, n), 1);
    this.touched = take((x, o, n) => new Uint8Array(x, o, n), 1);
    this.handleLen = take((x, o, n) => new Uint8Array(x, o, n), 1);
    this.handleKind = take((x, o, n) => new Uint8Array(x, o, n), 1);
    this.fds.fill(-1);
  }
}

/**
 * Open addressing of slots, each entry slot + 1 (0 empty, -1 deleted). The
 * table computes where a key starts and checks the candidates itself: its
 * lookups are hot and compare the chunks' fields inline.
 */
export class SlotIndex {
  a: Int32Array;
  /** Entries filled since the last reset, deleted ones included. */
  used = 0;

  constructor(size: number) {
    this.a = new Int32Array(size);
  }

  get mask(): number {
    return this.a.length - 1;
  }

  reset(size: number): void {
    this.a = new Int32Array(size);
    this.used = 0;
  }

  insert(start: number, slot: number): void {
    const m = this.a.length - 1;
    for (let h = start; ; h = (h + 1) & m) {
      if (this.a[h]! <= 0) {
        if (this.a[h] === 0) this.used++;
        this.a[h] = slot + 1;
        return;
      }
    }
  }

  /** The first slot from `start` that `match` accepts, or -1 (for lookups off the hot path). */
  find(start: number, match: (slot: number) => boolean): number {
    const m = this.a.length - 1;
    for (let h = start, n = 0; n <= m; h = (h + 1) & m, n++) {
      const e = this.a[h]!;
      if (e === 0) return -1;
      if (e > 0 && match(e - 1)) return e - 1;
    }
    return -1;
  }

  remove(start: number, slot: number): void {
    const m = this.a.length - 1;
    for (let h = start, n = 0; n <= m; h = (h + 1) & m, n++) {
      const e = this.a[h]!;
      if (e === 0) return;
      if (e === slot + 1) {
        this.a[h] = -1;
        return;
      }
    }
  }
}

/**
 * The bytes of file handles and names, appended; a slot keeps an offset and
 * a length. Compacted when half is garbage, so memory follows the live slots.
 */
export class ByteArena {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private garbage = 0;

  constructor(
    /** Called when the arena's buffer is replaced (the old one is garbage). */
    private readonly dropped: () => void,
    /**
     * Visits every live (offset, length) when the arena compacts: calls
     * `move(off, len)` for each and stores the new offset it returns.
     */
    private readonly relocate: (move: (off: number, len: number) => number) => void,
  ) {}

  /** Copies `bytes` in; returns where. Compacts first when that frees enough. */
  put(bytes: Buffer): number {
    const n = bytes.length;
    if (this.used + n > this.buf.length) {
      if (this.garbage > this.used / 2) this.compact();
      if (this.used + n > this.buf.length) {
        const bigger = Buffer.allocUnsafe(this.buf.length * 2);
        this.buf.copy(bigger, 0, 0, this.used);
        this.buf = bigger;
        this.dropped();
      }
    }
    bytes.copy(this.buf, this.used);
    this.used += n;
    return this.used - n;
  }

  /** The `len` bytes at `off` (a view, valid until the next put or compaction). */
  at(off: number, len: number): Buffer {
    return this.buf.subarray(off, off + len);
  }

  /** Whether the `name.length` bytes at `off` are `name`. */
  equals(name: Buffer, off: number): boolean {
    return this.buf.compare(name, 0, name.length, off, off + name.length) === 0;
  }

  /** `n` bytes are no longer referenced. */
  free(n: number): void {
    this.garbage += n;
  }

  /** Gives memory back when mostly garbage and big enough for it to matter (after removals). */
  trim(): void {
    if (this.garbage > 64 * 1024 && this.garbage * 2 > this.used) this.compact();
  }

  /** Copies the live bytes into a fresh buffer. */
  private compact(): void {
    const fresh = Buffer.allocUnsafe(Math.max(64 * 1024, (this.used - this.garbage) * 2));
    let to = 0;
    this.relocate((off, len) => {
      this.buf.copy(fresh, to, off, off + len);
      to += len;
      return to - len;
    });
    this.buf = fresh;
    this.dropped();
    this.used = to;
    this.garbage = 0;
  }
}
