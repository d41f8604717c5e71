// An open host directory, listed with getdents64. Offsets given to the kernel
// are the host's own d_off cookies, so they stay valid across calls and
// concurrent changes (no snapshot, no positions). Records read but not yet
// accepted are kept, so a whole listing costs one pass over the directory.
//
// Listing visits records where getdents64 left them: a name's bytes and its
// d_off are copied into the reply from there, with no Buffer or BigInt made
// for them (a listing of 10,000 names spent ~0.4 µs a name doing so).

import * as sys from '../../sys/index.js';
import { FuseError } from '../../session/errors.js';

const BUF_SIZE = 32 * 1024;
/**
 * Buffers of closed handles, for the next ones: a tree walk opens a
 * directory after another, and a fresh 32 KiB each (an ArrayBuffer of its
 * own, beyond Node's pool) came to ~120 MB for a `find` of 3,735 directories.
 * Handles live on the session thread only, so no two share one.
 */
const spare: { buf: Buffer; dv: DataView }[] = [];
const SPARE_MAX = 16;

/** Returns false to stop (the entry was not taken). `p` is the record's position in `d.buf`. */
export type RecordVisitor = (d: DirHandle, p: number) => boolean;

export class DirHandle {
  private buffer: Buffer | null = null;
  private dv: DataView | null = null;
  private len = 0;
  private pos = 0;
  /**
   * The offset of the record at `pos` (the d_off of the one before it), once
   * `last` is -1. Every handle gets a freshly opened fd, which is at the
   * start: a listing from offset 0 needs no lseek (one a directory in a walk).
   */
  private posOffset = 0n;
  /** The last record taken, whose d_off is `posOffset` once read (read lazily: a BigInt a record costs). */
  private last = -1;

  constructor(
    readonly fd: number,
    /** The node id it was opened on (0 for a temporary one). */
    readonly ino = 0n,
  ) {}

  /** The getdents64 records being visited (valid during a visit). */
  get buf(): Buffer {
    return this.buffer!;
  }

  /** The host inode number of the record at `p`. */
  inoAt(p: number): bigint {
    return this.dv!.getBigUint64(p + sys.DIRENT_INO, true);
  }

  /** The record's d_off: the offset to continue after it. */
  nextOffsetAt(p: number): bigint {
    return this.dv!.getBigInt64(p + sys.DIRENT_OFF, true);
  }

  typeAt(p: number): number {
    return this.buffer![p + sys.DIRENT_TYPE]!;
  }

  nameLengthAt(p: number): number {
    return sys.direntNameLength(this.buffer!, p);
  }

  /** The record's name, `nameLen` (nameLengthAt's answer) bytes: a view valid during the visit. */
  nameAt(p: number, nameLen: number): Buffer {
    const start = p + sys.DIRENT_NAME;
    return this.buffer!.subarray(start, start + nameLen);
  }

  /** Visits the records from `offset` on, until the visitor refuses one or the directory ends. */
  list(offset: bigint, visit: RecordVisitor): void {
    if (this.buffer === null) {
      const b = spare.pop();
      this.buffer = b?.buf ?? Buffer.allocUnsafe(BUF_SIZE);
      this.dv = b?.dv ?? new DataView(this.buffer.buffer, this.buffer.byteOffset, BUF_SIZE);
    }
    if (offset !== this.offset() || this.pos >= this.len) {
      if (offset !== this.posOffset) {
        const r = sys.lseek(this.fd, offset, 0 /* SEEK_SET */);
        if (r < 0n) throw new FuseError(Number(-r));
      }
      this.len = 0;
      this.pos = 0;
      this.posOffset = offset;
    }
    const buf = this.buffer;
    for (;;) {
      if (this.pos >= this.len) {
        this.offset();
        const n = sys.getdents64(this.fd, buf, BUF_SIZE);
        if (n < 0) throw new FuseError(-n);
        this.len = n;
        this.pos = 0;
        if (n === 0) return;
      }
      const p = this.pos;
      if (!visit(this, p)) return;
      this.pos = p + sys.direntRecordLength(buf, p);
      this.last = p;
    }
  }

  /** The offset of the record at `pos`. */
  private offset(): bigint {
    if (this.last >= 0) {
      this.posOffset = this.nextOffsetAt(this.last);
      this.last = -1;
    }
    return this.posOffset;
  }

  close(): void {
    sys.close(this.fd);
    if (this.buffer !== null && spare.length < SPARE_MAX) spare.push({ buf: this.buffer, dv: this.dv! });
    this.buffer = null;
    this.dv = null;
  }
}
