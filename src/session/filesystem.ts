// The low-level filesystem API: one method per FUSE operation, inode based.
// A method left out makes the session reply ENOSYS (the kernel remembers it
// for most operations and stops asking). A method may return its value or a
// Promise of it; it fails by throwing (or rejecting with) an error carrying an
// errno (FuseError, a Node SystemError); anything else is answered EIO.

import type {
  AccessIn, BmapIn, CopyFileRangeIn, CreateIn, FallocateIn, FileLock, FlushIn, FsyncIn, IoctlIn,
  LkIn, LseekIn, MkdirIn, MknodIn, OpenIn, PollIn, ReadIn, ReleaseIn, RenameIn, SetattrIn,
  SetxattrIn, StatxIn, WriteIn,
} from '../protocol/requests.js';
import type { AttrReply, Entry, OpenReply, StatfsReply, StatxReply } from '../protocol/replies.js';
import type { ConnectionInfo } from './connection.js';
import type { DirBuffer } from './dirbuf.js';
import type { Notifier } from './notify.js';

export type { Attr, AttrReply, Entry, OpenReply, StatfsReply, StatxReply } from '../protocol/replies.js';
export type MaybePromise<T> = T | Promise<T>;

/**
 * A READ result that names where the data is instead of carrying it: `length`
 * bytes (at most the request's size) of the file `fd` from `offset`. The
 * session moves large ones to the kernel with splice(2), one copy fewer than
 * reading them into the reply buffer, which it does for the rest. `fd` must
 * stay open until the handler has settled.
 */
export class FileData {
  constructor(readonly fd: number, readonly offset: bigint, readonly length: number) {}
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

  lookup?(ctx: RequestContext, parent: bigint, name: Buffer): MaybePromise<Entry | NegativeEntry>;
  forget?(ctx: RequestContext, ino: bigint, nlookup: bigint): void;
  batchForget?(ctx: RequestContext, items: { nodeid: bigint; nlookup: bigint }[]): void;
  getattr?(ctx: RequestContext, ino: bigint, fh: bigint | undefined): MaybePromise<AttrReply>;
  setattr?(ctx: RequestContext, ino: bigint, set: SetattrIn): MaybePromise<AttrReply>;
  readlink?(ctx: RequestContext, ino: bigint): MaybePromise<Buffer | string>;
  symlink?(ctx: RequestContext, parent: bigint, name: Buffer, target: Buffer): MaybePromise<Entry>;
  mknod?(ctx: RequestContext, parent: bigint, args: MknodIn): MaybePromise<Entry>;
  mkdir?(ctx: RequestContext, parent: bigint, args: MkdirIn): MaybePromise<Entry>;
  unlink?(ctx: RequestContext, parent: bigint, name: Buffer): MaybePromise<void>;
  rmdir?(ctx: RequestContext, parent: bigint, name: Buffer): MaybePromise<void>;
  rename?(ctx: RequestContext, parent: bigint, args: RenameIn): MaybePromise<void>;
  link?(ctx: RequestContext, ino: bigint, newparent: bigint, newname: Buffer): MaybePromise<Entry>;
  open?(ctx: RequestContext, ino: bigint, args: OpenIn): MaybePromise<OpenReply>;
  /**
   * Read into `out` (sized args.size) and return the byte count, or return a
   * Buffer of data. Filling `out` avoids a copy: it is the reply buffer.
   */
  read?(ctx: RequestContext, ino: bigint, args: ReadIn, out: Buffer): MaybePromise<number | Buffer | FileData>;
  /** Return the number of bytes written. args.data is only valid until the handler settles. */
  write?(ctx: RequestContext, ino: bigint, args: WriteIn): MaybePromise<number>;
  flush?(ctx: RequestContext, ino: bigint, args: FlushIn): MaybePromise<void>;
  release?(ctx: RequestContext, ino: bigint, args: ReleaseIn): MaybePromise<void>;
  fsync?(ctx: RequestContext, ino: bigint, args: FsyncIn): MaybePromise<void>;
  opendir?(ctx: RequestContext, ino: bigint, args: OpenIn): MaybePromise<OpenReply>;
  /** Add entries from `offset` on until out.add() returns false. */
  readdir?(ctx: RequestContext, ino: bigint, args: ReadIn, out: DirBuffer): MaybePromise<void>;
  /** As readdir, with out.addPlus(); count a lookup only for entries it accepted. */
  readdirplus?(ctx: RequestContext, ino: bigint, args: ReadIn, out: DirBuffer): MaybePromise<void>;
  releasedir?(ctx: RequestContext, ino: bigint, args: ReleaseIn): MaybePromise<void>;
  fsyncdir?(ctx: RequestContext, ino: bigint, args: FsyncIn): MaybePromise<void>;
  statfs?(ctx: RequestContext, ino: bigint): MaybePromise<StatfsReply>;
  setxattr?(ctx: RequestContext, ino: bigint, args: SetxattrIn): MaybePromise<void>;
  /** size 0: return the value's length (a number); otherwise the value (ERANGE if longer than size). */
  getxattr?(ctx: RequestContext, ino: bigint, name: Buffer, size: number): MaybePromise<Buffer | number>;
  /** The NUL-separated names; size 0: their total length. */
  listxattr?(ctx: RequestContext, ino: bigint, size: number): MaybePromise<Buffer | number>;
  removexattr?(ctx: RequestContext, ino: bigint, name: Buffer): MaybePromise<void>;
  access?(ctx: RequestContext, ino: bigint, args: AccessIn): MaybePromise<void>;
  create?(ctx: RequestContext, parent: bigint, args: CreateIn): MaybePromise<CreateReply>;
  getlk?(ctx: RequestContext, ino: bigint, args: LkIn): MaybePromise<LockReply>;
  /** setlk and setlkw (args.sleep true: wait for the lock; watch ctx.signal). */
  setlk?(ctx: RequestContext, ino: bigint, args: LkIn, sleep: boolean): MaybePromise<void>;
  bmap?(ctx: RequestContext, ino: bigint, args: BmapIn): MaybePromise<bigint>;
  ioctl?(ctx: RequestContext, ino: bigint, args: IoctlIn): MaybePromise<IoctlReply>;
  poll?(ctx: RequestContext, ino: bigint, args: PollIn): MaybePromise<number>;
  fallocate?(ctx: RequestContext, ino: bigint, args: FallocateIn): MaybePromise<void>;
  lseek?(ctx: RequestContext, ino: bigint, args: LseekIn): MaybePromise<bigint>;
  copyFileRange?(ctx: RequestContext, ino: bigint, args: CopyFileRangeIn): MaybePromise<number | bigint>;
  statx?(ctx: RequestContext, ino: bigint, args: StatxIn): MaybePromise<StatxReply>;
  syncfs?(ctx: RequestContext, ino: bigint): MaybePromise<void>;
  tmpfile?(ctx: RequestContext, parent: bigint, args: CreateIn): MaybePromise<CreateReply>;
}
