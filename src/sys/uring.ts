// A minimal io_uring(7): one ring, read and write at an offset and fsync, completions
// reaped by polling the shared completion queue (a memory read, no syscall).
// The session uses it to keep several data requests on the disk at once
// while its one thread goes on reading /dev/fuse (src/session/ring-io.ts).
//
// Raw syscalls (io_uring_setup, io_uring_enter) and mmap of the rings; no
// liburing. Layouts are the kernel's (include/uapi/linux/io_uring.h).

import { SYS, declare, koffi, negErrno } from './libc.js';
import { close as closeFd } from './io.js';

const _setup = declare('long syscall(long nr, uint32_t entries, void *params)');
const _enter = declare('long syscall(long nr, int fd, uint32_t toSubmit, uint32_t minComplete, uint32_t flags, void *sig, size_t sz)');
const _mmap = declare('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)');
const _munmap = declare('int munmap(void *addr, size_t len)');

const PROT_RW = 3;
const MAP_SHARED_POPULATE = 0x01 | 0x8000;
const IORING_OFF_SQ_RING = 0;
const IORING_OFF_CQ_RING = 0x8000000;
const IORING_OFF_SQES = 0x10000000;
const IORING_FEAT_SINGLE_MMAP = 1;
const IORING_ENTER_GETEVENTS = 1;
const SQE_SIZE = 64;
const CQE_SIZE = 16;

export const IORING_OP_ASYNC_CANCEL = 14;
export const IORING_OP_READ = 22;
export const IORING_OP_WRITE = 23;
export const IORING_OP_FSYNC = 3;
/** fsync_flags of IORING_OP_FSYNC: fdatasync(2) instead of fsync(2). */
export const IORING_FSYNC_DATASYNC = 1;
/** ftruncate(2) of fd to the sqe's offset (Linux 6.9; older kernels complete it with -EINVAL). */
export const IORING_OP_FTRUNCATE = 55;
/** fallocate(2) of the sqe's fd: mode in the sqe's len, offset in off, length in addr. */
export const IORING_OP_FALLOCATE = 17;
/** close(2) of the sqe's fd. */
export const IORING_OP_CLOSE = 19;
/** An sqe flag: run the operation in a kernel worker, never inline in io_uring_enter. */
export const IOSQE_ASYNC = 1 << 4;

/**
 * An io_uring instance. `submit()` queues one read or write and hands it to
 * the kernel at once; `reap()` takes the completions that have arrived.
 * Single-threaded: one thread submits and reaps.
 */
export class Uring {
  /** The ring's fd: poll(2) reports POLLIN when completions are waiting. */
  readonly fd: number;
  readonly entries: number;
  private readonly sqHead: number;
  private readonly sqTail: number;
  private readonly sqMask: number;
  private readonly sqArray: Uint32Array;
  private readonly cqHead: number;
  private readonly cqTail: number;
  private readonly cqMask: number;
  private readonly cqesOff: number;
  private readonly sq32: Uint32Array;
  private readonly cq32: Uint32Array;
  private readonly cqI32: Int32Array;
  private readonly sqes: DataView;
  private readonly maps: [bigint, number][];
  private closed = false;

  private constructor(fd: number, params: Buffer, maps: [bigint, number][], sqRing: ArrayBuffer, cqRing: ArrayBuffer, sqes: ArrayBuffer) {
    this.fd = fd;
    this.maps = maps;
    const u32 = (o: number): number => params.readUInt32LE(o);
    this.entries = u32(0);
    this.sq32 = new Uint32Array(sqRing);
    this.cq32 = new Uint32Array(cqRing);
    this.cqI32 = new Int32Array(cqRing);
    this.sqHead = u32(40) / 4;
    this.sqTail = u32(44) / 4;
    this.sqMask = this.sq32[u32(48) / 4]!;
    this.sqArray = new Uint32Array(sqRing, u32(64), this.entries);
    this.cqHead = u32(80) / 4;
    this.cqTail = u32(84) / 4;
    this.cqMask = this.cq32[u32(88) / 4]!;
    this.cqesOff = u32(100) / 4;
    this.sqes = new DataView(sqes);
    // The SQ array maps ring positions to SQE slots: identity, set once.
    for (let i = 0; i < this.entries; i++) this.sqArray[i] = i;
  }

  /** A ring of `entries` (a power of two) submissions; -errno when the kernel refuses (no io_uring, or disabled). */
  static create(entries: number): Uring | number {
    const params = Buffer.alloc(120);
    const fd = Number(_setup(SYS.io_uring_setup, entries, params));
    if (fd < 0) return negErrno();
    const u32 = (o: number): number => params.readUInt32LE(o);
    const sqEntries = u32(0);
    const cqEntries = u32(4);
    const single = (u32(20) & IORING_FEAT_SINGLE_MMAP) !== 0;
    const sqSize = u32(64) + sqEntries * 4;
    const cqSize = u32(100) + cqEntries * CQE_SIZE;
    const maps: [bigint, number][] = [];
    const map = (len: number, off: number): bigint | number => {
      const r = _mmap(null, len, PROT_RW, MAP_SHARED_POPULATE, fd, off) as bigint | number | null;
      // MAP_FAILED is (void *)-1, which koffi hands back as 2^64 - 1.
      if (r === null || BigInt.asIntN(64, BigInt(r)) === -1n) return negErrno();
      const p = BigInt(r);
      maps.push([p, len]);
      return p;
    };
    const fail = (e: number): number => {
      for (const [p, len] of maps) _munmap(p, len);
      closeFd(fd);
      return e;
    };
    const ringLen = single ? Math.max(sqSize, cqSize) : sqSize;
    const sq = map(ringLen, IORING_OFF_SQ_RING);
    if (typeof sq === 'number') return fail(sq);
    const cq = single ? sq : map(cqSize, IORING_OFF_CQ_RING);
    if (typeof cq === 'number') return fail(cq);
    const sqes = map(sqEntries * SQE_SIZE, IORING_OFF_SQES);
    if (typeof sqes === 'number') return fail(sqes);
    return new Uring(fd, params, maps, koffi.view(sq, ringLen), koffi.view(cq, single ? ringLen : cqSize), koffi.view(sqes, sqEntries * SQE_SIZE));
  }

  /**
   * Queues `op` (IORING_OP_READ or _WRITE) of `len` bytes at `addr` (koffi.address
   * of memory that stays alive until the completion) on `fd` at file offset
   * `offset`, tagged `tag`, and submits it. `opFlags`: the operation's own
   * flags (rw_flags, fsync_flags); `sqeFlags`: IOSQE_*. 1 | -errno (EBUSY:
   * the ring is full).
   */
  submit(op: number, fd: number, addr: bigint, len: number, offset: bigint, tag: number, opFlags = 0, sqeFlags = 0): number {
    const tail = this.sq32[this.sqTail]!;
    const head = Atomics.load(this.sq32, this.sqHead);
    if (tail - head >= this.entries) return -16; // EBUSY
    const o = (tail & this.sqMask) * SQE_SIZE;
    const v = this.sqes;
    v.setUint32(o, op | (sqeFlags << 8), true); // opcode, flags, ioprio = 0
    v.setInt32(o + 4, fd, true);
    v.setBigUint64(o + 8, offset, true);
    v.setBigUint64(o + 16, addr, true);
    v.setUint32(o + 24, len, true);
    v.setUint32(o + 28, opFlags, true); // rw_flags, fsync_flags
    v.setUint32(o + 32, tag, true); // user_data, low half
    v.setUint32(o + 36, 0, true);
    v.setBigUint64(o + 40, 0n, true); // buf_index, personality, splice_fd_in
    v.setBigUint64(o + 48, 0n, true);
    v.setBigUint64(o + 56, 0n, true);
    Atomics.store(this.sq32, this.sqTail, (tail + 1) >>> 0);
    const r = Number(_enter(SYS.io_uring_enter, this.fd, 1, 0, 0, null, 0));
    return r < 0 ? negErrno() : r;
  }

  /**
   * Asks the kernel to cancel the request tagged `target`; the cancel's own
   * completion is tagged `tag`. The target then completes with -ECANCELED
   * (or its own result, if it finished first). 1 | -errno.
   */
  cancel(target: number, tag: number): number {
    return this.submit(IORING_OP_ASYNC_CANCEL, -1, BigInt(target), 0, 0n, tag);
  }

  /** Whether a completion is waiting (one shared-memory read). */
  ready(): boolean {
    return Atomics.load(this.cq32, this.cqTail) !== this.cq32[this.cqHead];
  }

  /** Calls `fn` for each completion waiting, and frees their slots. The count. */
  reap(fn: (tag: number, res: number) => void): number {
    let head = this.cq32[this.cqHead]!;
    const tail = Atomics.load(this.cq32, this.cqTail);
    let n = 0;
    while (head !== tail) {
      const i = this.cqesOff + (head & this.cqMask) * (CQE_SIZE / 4);
      const tag = this.cq32[i]!;
      const res = this.cqI32[i + 2]!;
      head = (head + 1) >>> 0;
      // Free the slot before the callback: it may submit again.
      Atomics.store(this.cq32, this.cqHead, head);
      fn(tag, res);
      n++;
    }
    return n;
  }

  /** Blocks until at least one completion is waiting. 0 | -errno. */
  wait(): number {
    const r = Number(_enter(SYS.io_uring_enter, this.fd, 0, 1, IORING_ENTER_GETEVENTS, null, 0));
    return r < 0 ? negErrno() : 0;
  }

  /** Unmaps the rings and closes the fd; the kernel finishes or cancels what is in flight. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [p, len] of this.maps) _munmap(p, len);
    closeFd(this.fd);
  }
}

/** The address of a buffer's first byte (for submit; the buffer must outlive the operation). */
export function addressOf(b: Uint8Array): bigint {
  return koffi.address(b) as bigint;
}
