// READ replies moved with splice(2) instead of copied through our memory: the
// file's pages go into a pipe by reference, the header into a second pipe,
// the data pipe's pages after it, and the whole message to /dev/fuse in one
// splice. The kernel then copies each byte once (into the reader's page)
// where pread + write copy it twice. Used for reads of SPLICE_MIN bytes and
// more that fit the pipes; everything else, and every failure before the
// message reached the device, goes the pread + write way.

import * as sys from '../sys/index.js';
import { SIZEOF } from '../protocol/kernel.js';
import { encodeOutHeader } from '../protocol/replies.js';

const HDR = SIZEOF.fuse_out_header;
const PAGE = 4096;
/** Below this a copy costs less than the extra system calls. */
export const SPLICE_MIN = 64 * 1024;
/** The pipes' size: the largest the kernel lets an unprivileged process have by default (pipe-max-size). */
const PIPE_BYTES = 1 << 20;
const FLAGS = sys.SPLICE_F_MOVE | sys.SPLICE_F_NONBLOCK;

/** What send() did: the bytes of data sent, or the errno of a failure (the device did not get the message). */
export type SpliceResult = { ok: true; n: number } | { ok: false; errno: number };

export class SpliceReplier {
  private data: [number, number] | undefined;
  private head: [number, number] | undefined;
  /** The longest data one reply may carry: the pipe's size less a page for an unaligned start and one for the header. */
  private maxLen = 0;
  private readonly hdr = Buffer.alloc(HDR);
  /** Pipes could not be made, or the session is over: never try again. */
  private broken = false;

  /** Whether a read of `len` bytes should be spliced. */
  wants(len: number): boolean {
    if (len < SPLICE_MIN || this.broken) return false;
    if (this.data === undefined && !this.open()) return false;
    return len <= this.maxLen;
  }

  /** Makes the pipes now (at INIT), so that the session's fds do not change while it serves. */
  prepare(): void {
    if (this.data === undefined && !this.broken) this.open();
  }

  private open(): boolean {
    const a = sys.pipe2(sys.O_NONBLOCK | sys.O_CLOEXEC);
    const b = typeof a === 'number' ? a : sys.pipe2(sys.O_NONBLOCK | sys.O_CLOEXEC);
    if (typeof a === 'number' || typeof b === 'number') {
      if (typeof a !== 'number') a.forEach((fd) => sys.close(fd));
      this.broken = true;
      return false;
    }
    // A larger pipe where allowed; the default (64 KiB) otherwise.
    sys.fcntl(a[1], sys.F_SETPIPE_SZ, PIPE_BYTES);
    sys.fcntl(b[1], sys.F_SETPIPE_SZ, PIPE_BYTES);
    const size = Math.min(sys.fcntl(a[1], sys.F_GETPIPE_SZ, 0), sys.fcntl(b[1], sys.F_GETPIPE_SZ, 0));
    this.data = a;
    this.head = b;
    this.maxLen = size - 2 * PAGE;
    return true;
  }

  /** Drops the pipes (they may hold a failed message's bytes); the next use makes new ones. */
  private reset(): void {
    for (const p of [this.data, this.head]) p?.forEach((fd) => sys.close(fd));
    this.data = this.head = undefined;
  }

  /**
   * Sends the reply to request `unique`: up to `len` bytes of `fd` from
   * `offset` (fewer at end of file). Call only after wants(len).
   */
  send(dev: number, unique: bigint, fd: number, offset: bigint, len: number): SpliceResult {
    const [dr, dw] = this.data!;
    const [hr, hw] = this.head!;
    let n = 0;
    while (n < len) {
      const r = sys.splice(fd, offset + BigInt(n), dw, null, len - n, FLAGS);
      if (r === 0) break; // end of file
      if (r < 0) {
        if (n > 0) break; // a short read, as pread would give
        return { ok: false, errno: -r }; // the pipes are still empty
      }
      n += r;
    }
    encodeOutHeader(this.hdr, 0, HDR + n, 0, unique);
    const w = sys.write(hw, this.hdr, HDR);
    if (w !== HDR) return this.failed(w);
    for (let moved = 0; moved < n;) {
      const r = sys.splice(dr, null, hw, null, n - moved, FLAGS);
      if (r <= 0) return this.failed(r);
      moved += r;
    }
    const r = sys.splice(hr, null, dev, null, HDR + n, FLAGS);
    // The device takes a message whole or not at all.
    if (r !== HDR + n) return this.failed(r);
    return { ok: true, n };
  }

  /** A failure once bytes are in the pipes: they go with the pipes. */
  private failed(r: number): SpliceResult {
    this.reset();
    return { ok: false, errno: r < 0 ? -r : 5 /* EIO: a short move */ };
  }

  close(): void {
    this.reset();
    this.broken = true;
  }
}
