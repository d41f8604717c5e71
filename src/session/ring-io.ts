// READs, and O_DIRECT WRITEs, served through io_uring: the session thread
// queues the host read or write and goes on reading /dev/fuse; the reply goes
// out when the completion is reaped. Without it the thread blocks in each
// pread/pwrite, so parallel clients (4 fio jobs doing O_DIRECT 4 KiB I/O)
// are served one disk access at a time. Used for FileData and FileWrite
// results (the passthrough's reads and O_DIRECT writes without kernel
// passthrough), for FileSync results (every FSYNC and FSYNCDIR of an open
// file): an fsync can wait seconds for the disk, and inline it held up every
// other client of the mount that long; for FileTruncate results (a SETATTR
// or an O_TRUNC OPEN that drops much of a file), whose reply the session
// builds when the truncate completes; for FileAllocate results (a big
// FALLOCATE); and for FileClose results (the last close of a big removed
// file frees its blocks), which have no reply.
//
// Buffered writes stay on the session thread: io_uring hands a buffered ext4
// write to its kernel workers, which run the writes to one inode one at a
// time and cost a context switch each: measured slower than pwrite
// (docs/benchmarks.md). O_DIRECT writes to blocks already allocated are
// issued at once, in parallel.
//
// Each request in flight owns a slot: an aligned buffer with the reply header
// just before an aligned data area (O_DIRECT needs block-aligned memory), so
// a READ reply is one write(2) from the slot; a WRITE's data is copied there
// (the request buffer is reused as soon as the handler returns).

import * as sys from '../sys/index.js';
import { SIZEOF } from '../protocol/kernel.js';

const HDR = SIZEOF.fuse_out_header;
/** Data starts here in a reply buffer (alignedReplyBuffer); the reply header sits just before it. */
export const DATA_AT = 4096;
const GROW = 64 << 10;
const POLLIN = 1;

/** Requests in flight at most; more are served inline (the caller's fallback). */
export const RING_SLOTS = 32;
/** The tag of cancel requests: their own completions carry nothing to send. */
const CANCEL_TAG = 0xffff_ffff;
const ECANCELED = 125;
const EINTR = 4;

const READ = 0;
const WRITE = 1;
/** A call that moves no data (fsync, ftruncate, fallocate, close): its continuation answers the request, if any. */
const CALL = 2;
/** The `unique` of a slot that serves no request (a close the filesystem left to us). */
const NO_REQUEST = -1n;
const ignore = (): void => {};

interface Slot {
  index: number;
  buf: Buffer | undefined;
  /** The address of buf's data (at DATA_AT), for the submission. */
  addr: bigint;
  /** The request the slot serves; 0n when free (no request has unique 0). */
  unique: bigint;
  kind: typeof READ | typeof WRITE | typeof CALL;
  /** A CALL's continuation, given the result (or -errno): it answers the request. */
  done: ((res: number) => void) | undefined;
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

/** Rings whose requests never completed: kept reachable so that their buffers are never freed under the kernel. */
const abandoned: RingIo[] = [];

export class RingIo {
  private readonly slots: Slot[] = [];
  private readonly free: number[] = [];
  private inFlight = 0;
  private readonly onCompletion = (tag: number, res: number): void => this.complete(tag, res);

  constructor(readonly ring: sys.Uring, private readonly out: RingReplies) {
    for (let i = RING_SLOTS - 1; i >= 0; i--) {
      this.slots[i] = { index: i, buf: undefined, addr: 0n, unique: 0n, kind: READ, done: undefined };
      this.free.push(i);
    }
  }

  /** Requests in flight. */
  get busy(): number {
    return this.inFlight;
  }

  /** The ring's fd, for poll(2). */
  get fd(): number {
    return this.ring.fd;
  }

  /** Queues a READ of `len` bytes of `fd` at `offset`; false when it cannot (then serve it inline). */
  read(unique: bigint, fd: number, offset: bigint, len: number): boolean {
    return this.queue(READ, sys.IORING_OP_READ, unique, fd, offset, len, undefined) !== undefined;
  }

  /** Queues a WRITE of `data` (copied) to `fd` at `offset`; false when it cannot (then serve it inline). */
  write(unique: bigint, fd: number, offset: bigint, data: Buffer): boolean {
    return this.queue(WRITE, sys.IORING_OP_WRITE, unique, fd, offset, data.length, data) !== undefined;
  }

  /**
   * Queues an fsync (fdatasync with `dataOnly`) of `fd`; `done(res)` (0 or
   * -errno) answers the request. False when it cannot be queued (then fsync
   * inline). The kernel runs it in one of its io_uring worker threads.
   */
  fsync(unique: bigint, fd: number, dataOnly: boolean, done: (res: number) => void): boolean {
    return this.call(sys.IORING_OP_FSYNC, unique, fd, 0n, dataOnly ? sys.IORING_FSYNC_DATASYNC : 0, done);
  }

  /**
   * Queues an ftruncate of `fd` to `size`; `done(res)` (0 or -errno) is
   * called when it completes and answers the request itself. False when it
   * cannot be queued (then truncate inline).
   */
  truncate(unique: bigint, fd: number, size: bigint, done: (res: number) => void): boolean {
    return this.call(sys.IORING_OP_FTRUNCATE, unique, fd, size, 0, done);
  }

  /**
   * Queues a close of `fd`, run in a kernel worker (IOSQE_ASYNC: inline,
   * the last close would free the file on this thread all the same); false
   * when it cannot be queued (then close inline). The fd must be ours alone
   * from now on: it stays open until the worker runs.
   */
  closeFd(fd: number): boolean {
    return this.call(sys.IORING_OP_CLOSE, NO_REQUEST, fd, 0n, 0, ignore, sys.IOSQE_ASYNC);
  }

  /**
   * Queues an fallocate of `fd` (`mode`, `offset`, `length`); `done(res)`
   * (0 or -errno) answers the request. False when it cannot be queued (then
   * fallocate inline).
   */
  fallocate(unique: bigint, fd: number, mode: number, offset: bigint, length: bigint, done: (res: number) => void): boolean {
    return this.call(sys.IORING_OP_FALLOCATE, unique, fd, offset, 0, done, 0, length, mode);
  }

  /**
   * Queues `op` on `fd` (a CALL: no data; `offset`, `opFlags` and, where the
   * operation takes them there, `addr` and `len` its arguments), answered by `done`.
   */
  private call(
    op: number, unique: bigint, fd: number, offset: bigint, opFlags: number, done: (res: number) => void, sqeFlags = 0, addr = 0n, len = 0,
  ): boolean {
    const s = this.queue(CALL, op, unique, fd, offset, len, undefined, opFlags, sqeFlags, addr);
    if (s === undefined) return false;
    s.done = done;
    return true;
  }

  /** The slot of the request queued, or undefined when it cannot be (no free slot, the ring refused). */
  private queue(
    kind: Slot['kind'], op: number, unique: bigint, fd: number, offset: bigint, len: number, data: Buffer | undefined, opFlags = 0, sqeFlags = 0,
    callAddr = 0n,
  ): Slot | undefined {
    const i = this.free.pop();
    if (i === undefined) return undefined;
    const s = this.slots[i]!;
    // Grown in 64 KiB steps, kept: the same few slots serve a steady load.
    // A CALL moves no data: no buffer.
    const moves = kind !== CALL;
    if (moves && (s.buf === undefined || s.buf.length < DATA_AT + len)) {
      s.buf = alignedReplyBuffer(Math.max(GROW, Math.ceil(len / GROW) * GROW));
      s.addr = sys.addressOf(s.buf) + BigInt(DATA_AT);
    }
    if (data !== undefined) data.copy(s.buf!, DATA_AT);
    if (this.ring.submit(op, fd, moves ? s.addr : callAddr, len, offset, i, opFlags, sqeFlags) < 0) {
      this.free.push(i);
      return undefined;
    }
    s.unique = unique;
    s.kind = kind;
    this.inFlight++;
    return s;
  }

  /**
   * The kernel interrupted request `unique`: if it is on the ring,
   * cancel it (it is then answered EINTR; one that completes first is
   * answered as usual). An fsync or a truncate runs on: natively a signal
   * does not cut one short. True if it was one.
   */
  interrupt(unique: bigint): boolean {
    if (unique === 0n) return false;
    for (const s of this.slots) {
      if (s.unique === unique) {
        if (s.kind !== CALL) this.ring.cancel(s.index, CANCEL_TAG);
        return true;
      }
    }
    return false;
  }

  /** Bytes of slot buffers held (grown for large requests, kept for the next ones). */
  get heldBytes(): number {
    let n = 0;
    for (const s of this.slots) n += s.buf?.length ?? 0;
    return n;
  }

  /**
   * Lets go of the buffers of free slots (the session calls this once it has
   * been quiet a while): a burst of 1 MiB requests would otherwise keep up to
   * RING_SLOTS MiB. Returns the bytes let go.
   */
  trim(): number {
    let n = 0;
    for (const s of this.slots) {
      if (s.unique !== 0n || s.buf === undefined) continue;
      n += s.buf.length;
      s.buf = undefined;
      s.addr = 0n;
    }
    return n;
  }

  /** Sends the replies of the requests completed so far. True if there were any. */
  reap(): boolean {
    return this.ring.ready() && this.ring.reap(this.onCompletion) > 0;
  }

  /**
   * Waits for every request in flight, at most `limitMs` (at the end of the
   * session: the kernel uses our buffers until they complete). True
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
   * Cancels what is in flight, drains, then closes the ring. Requests still
   * in flight after the drain keep the ring and its buffers forever.
   */
  close(): void {
    // A close is left to finish: cancelled, its fd would stay open for good.
    for (const s of this.slots) if (s.unique !== 0n && s.unique !== NO_REQUEST) this.ring.cancel(s.index, CANCEL_TAG);
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
    // A negative result is the errno: an error reply, header only. A request
    // cancelled because the kernel interrupted it is answered EINTR (a
    // cancelled write wrote nothing).
    if (res === -ECANCELED) res = -EINTR;
    if (s.kind === CALL) {
      // The slot is free again before the continuation runs (it answers the request, and may queue more).
      const done = s.done!;
      s.done = undefined;
      s.unique = 0n;
      this.free.push(tag);
      done(res);
      return;
    }
    const buf = s.buf!;
    if (res < 0) {
      this.out.send(s.unique, res, buf, 0, HDR, s.kind === WRITE ? 'WRITE' : 'READ');
    } else if (s.kind === WRITE) {
      // fuse_write_out: the count and 4 bytes of padding.
      buf.writeUInt32LE(res, HDR);
      buf.writeUInt32LE(0, HDR + 4);
      this.out.send(s.unique, 0, buf, 0, HDR + 8, 'WRITE');
    } else {
      this.out.send(s.unique, 0, buf, DATA_AT - HDR, HDR + res, 'READ');
    }
    s.unique = 0n;
    this.free.push(tag);
  }
}
