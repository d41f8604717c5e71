// The low-level filesystem API: one method per FUSE operation, inode based.
// A method left out makes the session reply ENOSYS (the kernel remembers it
// for most operations and stops asking); the session looks a method up at
// the first request that needs it, so one added to the object later is not
// seen. A method may return its value or a
// Promise of it; it fails by throwing (or rejecting with) an error carrying an
// errno (FuseError, a Node SystemError); anything else is answered EIO. It may
// also return (or resolve to) a FuseError: the same reply as throwing it,
// without unwinding the stack, which costs about 1.5 µs per request
// (measured) where failing is routine: a missing name, a missing xattr.

import type {
  AccessIn, BmapIn, CopyFileRangeIn, CreateIn, FallocateIn, FileLock, FlushIn, FsyncIn, IoctlIn,
  LkIn, LseekIn, MkdirIn, MknodIn, OpenIn, PollIn, ReadIn, ReleaseIn, RenameIn, SetattrIn,
  SetxattrIn, StatxIn, WriteIn,
} from '../protocol/requests.js';
import type { AttrReply, Entry, OpenReply, StatfsReply, StatxReply } from '../protocol/replies.js';
import type { ConnectionInfo } from './connection.js';
import type { FuseError } from './errors.js';
import type { DirBuffer } from './dirbuf.js';
import type { Notifier } from './notify.js';

export type { Attr, AttrReply, Entry, OpenReply, StatfsReply, StatxReply } from '../protocol/replies.js';
export type MaybePromise<T> = T | Promise<T>;
/** What a request handler returns: its value, or a FuseError to fail without throwing; or a Promise of either. */
export type HandlerResult<T> = MaybePromise<T | FuseError>;

/** Whether a handler's result is pending (a Promise, or anything with a `then`). */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * A READ result that names where the data is instead of carrying it: `length`
 * bytes (at most the request's size) of the file `fd` from `offset`. The
 * session reads them itself: through its io_uring when reads overlap (the
 * thread goes on serving other requests meanwhile), with splice(2) for
 * large ones under `spliceRead`, else with pread into the reply buffer. `direct`: `fd`
 * was opened O_DIRECT (the session then reads into block-aligned memory).
 * `fd` must stay open until the reply is sent (an open file's fd does: the
 * kernel sends RELEASE only after its reads are answered).
 */
export class FileData {
  constructor(readonly fd: number, readonly offset: bigint, readonly length: number, readonly direct = false) {}
}

/**
 * A WRITE result that leaves the writing to the session: `data` (the
 * request's payload) to the file `fd` at `offset`; the reply is the count
 * written. The session writes it through its io_uring when requests overlap
 * (several O_DIRECT writers are then served in parallel), else with pwrite.
 * `direct`: `fd` was opened O_DIRECT (the session then writes from
 * block-aligned memory). Only O_DIRECT data goes on the ring: io_uring hands
 * buffered writes to kernel workers, measured slower than pwrite. The write
 * runs with the daemon's credentials, later: a handler that must write as
 * the caller (to clear set-id bits) writes itself.
 */
export class FileWrite {
  constructor(readonly fd: number, readonly offset: bigint, readonly data: Buffer, readonly direct = false) {}
}

/**
 * An FSYNC or FSYNCDIR result that leaves the syncing to the session: fsync(2)
 * of `fd` (fdatasync(2) with `dataOnly`), then an empty reply or its error.
 * The session runs it through its io_uring, in a kernel worker thread, and
 * goes on serving other requests while the disk works (natively, one
 * process's fsync holds up nobody else's stat; done inline, it held up every
 * client of the mount for as long as it took); without the ring, inline.
 * `fd` must stay open until the reply is sent (an open file's or directory's
 * does: the kernel sends RELEASE only after the fsync is answered); with
 * `own`, the fd is the session's from then on, closed once synced (a
 * filesystem without open handles opens one for the sync).
 */
export class FileSync {
  constructor(readonly fd: number, readonly dataOnly = false, readonly own = false) {}
}

/**
 * A SETATTR or OPEN result that leaves a truncate to the session:
 * ftruncate(2) of `fd` to `size`, then `reply()` gives the reply (the
 * attributes after it, or the opened file; what it throws is answered as a
 * handler's throw would be; not named `then`, which would make the result
 * look like a Promise). When no reply of `reply()`'s comes to be sent (the
 * truncate failed, or reply() threw), `failed()` runs instead, once: an OPEN
 * closes there the file it opened. Dropping many pages of a large file takes
 * tens of milliseconds, inline held up every other client of the mount
 * meanwhile: the session runs it through its io_uring in a kernel worker
 * thread, with the daemon's credentials (a truncate that must clear set-id
 * bits as the caller needs a step of its own in `reply()`: the passthrough
 * truncates again, as the caller, to the new size); without the ring, inline. `fd` must
 * stay open until the reply is sent (an open file's does: its holder waits in
 * ftruncate or open).
 */
export class FileTruncate<R> {
  constructor(readonly fd: number, readonly size: bigint, readonly reply: () => R, readonly failed?: () => void) {}
}

/**
 * A FALLOCATE result that leaves the call to the session: fallocate(2) of
 * `fd` with `mode`, `offset` and `length`, answered with an empty reply or
 * its errno. Allocating or punching out much of a file takes milliseconds
 * to tens of them (10 GiB allocated: 19 ms; 1 GiB of dirty pages punched
 * out: 39 ms, ad hoc), inline held up every other client of the mount
 * meanwhile: the session runs it through its io_uring in a kernel worker
 * thread, with the daemon's credentials; without the ring, inline. `fd`
 * must stay open until the reply is sent (an open file's does).
 */
export class FileAllocate {
  constructor(readonly fd: number, readonly mode: number, readonly offset: bigint, readonly length: bigint) {}
}

/**
 * A FORGET, BATCH_FORGET or RELEASE result: fds the filesystem is done with,
 * for the session to close (a RELEASE is then answered as done). The last close of a removed file frees it, which for a
 * big one takes long (its cached pages dropped, its blocks freed: 40 ms to
 * 0.7 s for 1 GiB on ext4 here, ad hoc), and inline held up every other client of
 * the mount: the session closes them through its io_uring in a kernel
 * worker thread; without the ring, inline. The fds are the session's from
 * then on.
 */
export class FileClose {
  constructor(readonly fds: readonly number[]) {}
}

/** Who is asking, and a signal that fires when the kernel interrupts the request. */
export interface RequestContext {
  readonly unique: bigint;
  readonly nodeid: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  readonly opcode: number;
  /** Aborted on FUSE_INTERRUPT; created on first use. */
  readonly signal: AbortSignal;
}

/** lookup may answer "no such entry, and remember that for this long". */
export interface NegativeEntry {
  negative: true;
  entryTimeout: number;
}

export interface CreateReply {
  entry: Entry;
  open: OpenReply;
}

export interface LockReply extends FileLock {}

export interface IoctlReply {
  result: number;
  data?: Buffer;
}

export interface Filesystem {
  /** Called once during INIT: read what the kernel offers, say what you want. */
  init?(conn: ConnectionInfo, notifier: Notifier): MaybePromise<void>;
  destroy?(): MaybePromise<void>;
  /**
   * Called on the session thread when no request has come for IDLE_AFTER_MS
   * (200 ms): a moment for housekeeping (the passthrough gives memory back
   * after the kernel forgot many inodes). Return true while the thread's
   * event loop must keep running (timers, the collector's tasks): the session
   * then looks for requests every millisecond and calls idle() again. Once it
   * returns false, it is called again only after the next request and quiet
   * period. A busy client never waits for it.
   */
  idle?(): boolean;

  lookup?(ctx: RequestContext, parent: bigint, name: Buffer): HandlerResult<Entry | NegativeEntry>;
  /** Drop `nlookup` lookups of `ino`; may give fds to close off the session thread (FileClose). */
  forget?(ctx: RequestContext, ino: bigint, nlookup: bigint): void | FileClose;
  batchForget?(ctx: RequestContext, items: { nodeid: bigint; nlookup: bigint }[]): void | FileClose;
  getattr?(ctx: RequestContext, ino: bigint, fh: bigint | undefined): HandlerResult<AttrReply>;
  /** Apply the changes and answer the attributes after them; or return a FileTruncate for a size change the session makes without holding up other requests. */
  setattr?(ctx: RequestContext, ino: bigint, set: SetattrIn): HandlerResult<AttrReply | FileTruncate<AttrReply>>;
  readlink?(ctx: RequestContext, ino: bigint): HandlerResult<Buffer | string>;
  symlink?(ctx: RequestContext, parent: bigint, name: Buffer, target: Buffer): HandlerResult<Entry>;
  mknod?(ctx: RequestContext, parent: bigint, args: MknodIn): HandlerResult<Entry>;
  mkdir?(ctx: RequestContext, parent: bigint, args: MkdirIn): HandlerResult<Entry>;
  unlink?(ctx: RequestContext, parent: bigint, name: Buffer): HandlerResult<void>;
  rmdir?(ctx: RequestContext, parent: bigint, name: Buffer): HandlerResult<void>;
  rename?(ctx: RequestContext, parent: bigint, args: RenameIn): HandlerResult<void>;
  link?(ctx: RequestContext, ino: bigint, newparent: bigint, newname: Buffer): HandlerResult<Entry>;
  open?(ctx: RequestContext, ino: bigint, args: OpenIn): HandlerResult<OpenReply | FileTruncate<OpenReply>>;
  /**
   * Read into `out` (sized args.size) and return the byte count, or return a
   * Buffer of data. Filling `out` avoids a copy: it is the reply buffer.
   */
  read?(ctx: RequestContext, ino: bigint, args: ReadIn, out: Buffer): HandlerResult<number | Buffer | FileData>;
  /**
   * Return the number of bytes written, or a FileWrite for the session to do.
   * args.data is only valid until the handler settles.
   */
  write?(ctx: RequestContext, ino: bigint, args: WriteIn): HandlerResult<number | FileWrite>;
  flush?(ctx: RequestContext, ino: bigint, args: FlushIn): HandlerResult<void>;
  /** May give the file's fd to close off the session thread (FileClose), then answered as done. */
  release?(ctx: RequestContext, ino: bigint, args: ReleaseIn): HandlerResult<void | FileClose>;
  /** Sync it yourself, or return a FileSync for the session to do without holding up other requests. */
  fsync?(ctx: RequestContext, ino: bigint, args: FsyncIn): HandlerResult<void | FileSync>;
  opendir?(ctx: RequestContext, ino: bigint, args: OpenIn): HandlerResult<OpenReply>;
  /** Add entries from `offset` on until out.add() returns false. */
  readdir?(ctx: RequestContext, ino: bigint, args: ReadIn, out: DirBuffer): HandlerResult<void>;
  /** As readdir, with out.addPlus(); count a lookup only for entries it accepted. */
  readdirplus?(ctx: RequestContext, ino: bigint, args: ReadIn, out: DirBuffer): HandlerResult<void>;
  releasedir?(ctx: RequestContext, ino: bigint, args: ReleaseIn): HandlerResult<void>;
  /** As fsync. */
  fsyncdir?(ctx: RequestContext, ino: bigint, args: FsyncIn): HandlerResult<void | FileSync>;
  statfs?(ctx: RequestContext, ino: bigint): HandlerResult<StatfsReply>;
  setxattr?(ctx: RequestContext, ino: bigint, args: SetxattrIn): HandlerResult<void>;
  /** size 0: return the value's length (a number); otherwise the value (ERANGE if longer than size). */
  getxattr?(ctx: RequestContext, ino: bigint, name: Buffer, size: number): HandlerResult<Buffer | number>;
  /** The NUL-separated names; size 0: their total length. */
  listxattr?(ctx: RequestContext, ino: bigint, size: number): HandlerResult<Buffer | number>;
  removexattr?(ctx: RequestContext, ino: bigint, name: Buffer): HandlerResult<void>;
  access?(ctx: RequestContext, ino: bigint, args: AccessIn): HandlerResult<void>;
  create?(ctx: RequestContext, parent: bigint, args: CreateIn): HandlerResult<CreateReply>;
  getlk?(ctx: RequestContext, ino: bigint, args: LkIn): HandlerResult<LockReply>;
  /** setlk and setlkw (args.sleep true: wait for the lock; watch ctx.signal). */
  setlk?(ctx: RequestContext, ino: bigint, args: LkIn, sleep: boolean): HandlerResult<void>;
  bmap?(ctx: RequestContext, ino: bigint, args: BmapIn): HandlerResult<bigint>;
  ioctl?(ctx: RequestContext, ino: bigint, args: IoctlIn): HandlerResult<IoctlReply>;
  poll?(ctx: RequestContext, ino: bigint, args: PollIn): HandlerResult<number>;
  fallocate?(ctx: RequestContext, ino: bigint, args: FallocateIn): HandlerResult<void | FileAllocate>;
  lseek?(ctx: RequestContext, ino: bigint, args: LseekIn): HandlerResult<bigint>;
  copyFileRange?(ctx: RequestContext, ino: bigint, args: CopyFileRangeIn): HandlerResult<number | bigint>;
  statx?(ctx: RequestContext, ino: bigint, args: StatxIn): HandlerResult<StatxReply>;
  syncfs?(ctx: RequestContext, ino: bigint): HandlerResult<void>;
  tmpfile?(ctx: RequestContext, parent: bigint, args: CreateIn): HandlerResult<CreateReply>;
}
