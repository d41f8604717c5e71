// READs served through io_uring: the session thread queues the host read and
// goes on reading /dev/fuse; the reply goes out when the completion is
// reaped. Without it the thread blocks in each pread, so parallel clients
// (4 fio jobs doing O_DIRECT 4 KiB reads) are served one disk access at a
// time. Used for FileData results (the passthrough's reads without kernel
// passthrough).
//
// Writes stay on the session thread: io_uring hands a write it cannot issue
// without blocking (any buffered ext4 write; O_DIRECT through a loop device)
// to its kernel workers, which run the writes to one inode one at a time and
// cost a context switch each: measured slower than pwrite (docs/benchmarks.md).
//
// Each in-flight read owns a slot: an aligned buffer with the reply header
// just before an aligned data area (O_DIRECT needs block-aligned memory), so
// a reply is one write(2) from the slot.

import * as sys from '../sys/index.js';
import { SIZEOF } from '../protocol/kernel.js';

const HDR = SIZEOF.fuse_out_header;
/** Data starts here in a reply buffer (alignedReplyBuffer); the reply header sits just before it. */
export const DATA_AT = 4096;
const GROW = 64 << 10;
const POLLIN = 1;

/** Reads in flight at most; more are served inline (the caller's fallback). */
export const RING_SLOTS = 32;
/** The tag of cancel requests: their own completions carry nothing to send. */
const CANCEL_TAG = 0xffff_ffff;
const ECANCELED = 125;
const EINTR = 4;

interface Slot {
  index: number;
  buf: Buffer | undefined;
  /** The address of buf's data (at DATA_AT), for the submission. */
  addr: bigint;
  /** The request the slot serves; 0n when free (no request has unique 0). */
  unique: bigint;
}

/**
 * A block-aligned buffer for a READ reply of up to `len` bytes: the data
 * aligned at DATA_AT (O_DIRECT needs that), the reply header just before it,
 * so the reply is one write(2) of [DATA_AT - header, DATA_AT + n).
 */
export function alignedReplyBuffer(len: number): Buffer {
  return sys.alignedBuffer(DATA_AT + len);
}

export interface RingReplies {
  /** Sends buf[off, off+len) to /dev/fuse, the reply header written at `off` first. */
  send(unique: bigint, error: number, buf: Buffer, off: number, len: number, what: string): void;
}

/** Rings whose reads never completed: kept reachable so that their buffers are never freed under the kernel. */
const abandoned: RingIo[] = [];

export class RingIo {
  private readonly slots: Slot[] = [];
  private readonly free: number[] = [];
  private inFlight = 0;
  private readonly onCompletion = (tag: number, res: number): void => this.complete(tag, res);

  constructor(readonly ring: sys.Uring, private readonly out: RingReplies) {
    for (let i = RING_SLOTS - 1; i >= 0; i--) {
      this.slots[i] = { index: i, buf: undefined, addr: 0n, unique: 0n };
      this.free.push(i);
    }
  }

  /** Reads in flight. */
  get busy(): number {
    return this.inFlight;
  }

  /** The ring's fd, for poll(2). */
  get fd(): number {
    return this.ring.fd;
  }

  /** Queues a READ of `len` bytes of `fd` at `offset`; false when it cannot (then serve it inline). */
  read(unique: bigint, fd: number, offset: bigint, len: number): boolean {
    const i = this.free.pop();
    if (i === undefined) return false;
    const s = this.slots[i]!;
    // Grown in 64 KiB steps, kept: the same few slots serve a steady load.
    if (s.buf === undefined || s.buf.length < DATA_AT + len) {
      s.buf = alignedReplyBuffer(Math.max(GROW, Math.ceil(len / GROW) * GROW));
      s.addr = sys.addressOf(s.buf) + BigInt(DATA_AT);
    }
    if (this.ring.submit(sys.IORING_OP_READ, fd, s.addr, len, offset, i) < 0) {
      this.free.push(i);
      return false;
    }
    s.unique = unique;
    this.inFlight++;
    return true;
  }

  /**
   * The kernel interrupted request `unique`: if it is a read on the ring,
   * cancel it (it is then answered EINTR; one that completes first is
   * answered as usual). True if it was one.
   */
  interrupt(unique: bigint): boolean {
    if (unique === 0n) return false;
    for (const s of this.slots) {
      if (s.unique === unique) {
        this.ring.cancel(s.index, CANCEL_TAG);
        return true;
      }
    }
    return false;
  }

  /** Sends the replies of the reads completed so far. True if there were any. */
  reap(): boolean {
    return this.ring.ready() && this.ring.reap(this.onCompletion) > 0;
  }

  /**
   * Waits for every read in flight, at most `limitMs` (at the end of the
   * session: the kernel writes into our buffers until they complete). True
   * if all completed.
   */
  drain(limitMs = 10_000): boolean {
    const until = performance.now() + limitMs;
    while (this.inFlight > 0) {
      const left = until - performance.now();
      if (left <= 0) return false;
      if (!this.ring.ready()) sys.poll([this.ring.fd], POLLIN, Math.ceil(Math.min(left, 1000)));
      this.ring.reap(this.onCompletion);
    }
    return true;
  }

  /**
   * Cancels what is in flight, drains, then closes the ring. Reads still in
   * flight after the drain keep the ring and its buffers forever.
   */
  close(): void {
    for (const s of this.slots) if (s.unique !== 0n) this.ring.cancel(s.index, CANCEL_TAG);
    if (!this.drain()) {
      abandoned.push(this);
      return;
    }
    this.ring.close();
  }

  private complete(tag: number, res: number): void {
    const s = this.slots[tag];
    if (s === undefined) return; // a cancel's own completion
    this.inFlight--;
    // A negative result is the errno: an error reply, header only. A read
    // cancelled because the kernel interrupted it is answered EINTR.
    if (res === -ECANCELED) res = -EINTR;
    this.out.send(s.unique, res < 0 ? res : 0, s.buf!, DATA_AT - HDR, HDR + (res < 0 ? 0 : res), 'READ');
    s.unique = 0n;
    this.free.push(tag);
  }
}
