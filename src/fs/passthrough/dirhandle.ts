// An open host directory, listed with getdents64. Offsets given to the kernel
// are the host's own d_off cookies, so they stay valid across calls and
// concurrent changes (no snapshot, no positions). Records read but not yet
// accepted are kept, so a whole listing costs one pass over the directory.

import * as sys from '../../sys/index.js';
import { FuseError } from '../../session/errors.js';

const BUF_SIZE = 32 * 1024;

/** Returns false to stop (the entry was not taken). */
export type DirVisitor = (name: Buffer, ino: bigint, type: number, nextOffset: bigint) => boolean;

export class DirHandle {
  private buf: Buffer | null = null;
  private len = 0;
  private pos = 0;
  /** The offset of the record at `pos` (the d_off of the one before it). */
  private posOffset = -1n;

  constructor(
    readonly fd: number,
    /** The node id it was opened on (0 for a temporary one). */
    readonly ino = 0n,
  ) {}

  list(offset: bigint, visit: DirVisitor): void {
    this.buf ??= Buffer.allocUnsafe(BUF_SIZE);
    if (offset !== this.posOffset || this.pos >= this.len) {
      if (offset !== this.posOffset) {
        const r = sys.lseek(this.fd, offset, 0 /* SEEK_SET */);
        if (r < 0n) throw new FuseError(Number(-r));
      }
      this.len = 0;
      this.pos = 0;
      this.posOffset = offset;
    }
    const buf = this.buf;
    for (;;) {
      if (this.pos >= this.len) {
        const n = sys.getdents64(this.fd, buf, BUF_SIZE);
        if (n < 0) throw new FuseError(-n);
        this.len = n;
        this.pos = 0;
        if (n === 0) return;
      }
      const p = this.pos;
      const reclen = buf.readUInt16LE(p + sys.DIRENT_RECLEN);
      const nameLen = sys.direntNameLength(buf, p);
      const name = buf.subarray(p + sys.DIRENT_NAME, p + sys.DIRENT_NAME + nameLen);
      const next = buf.readBigInt64LE(p + sys.DIRENT_OFF);
      if (!visit(name, buf.readBigUInt64LE(p + sys.DIRENT_INO), buf[p + sys.DIRENT_TYPE]!, next)) return;
      this.pos = p + reclen;
      this.posOffset = next;
    }
  }

  close(): void {
    sys.close(this.fd);
    this.buf = null;
  }
}
