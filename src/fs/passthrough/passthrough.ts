// The passthrough filesystem: serves a host directory through FUSE with the
// host's own syscalls. Every operation works on fds (*at calls on directory
// fds, O_PATH fds, AT_EMPTY_PATH), never on paths from the root, and never
// follows a symlink on the host side, so nothing outside the source can be
// reached. Host errnos pass through unchanged.

import * as sys from '../../sys/index.js';
import { FuseError, Errno } from '../../session/errors.js';
import type {
  Attr, AttrReply, CreateReply, Entry, Filesystem, OpenReply, RequestContext, StatfsReply, StatxReply,
} from '../../session/filesystem.js';
import type { ConnectionInfo } from '../../session/connection.js';
import type { DirBuffer } from '../../session/dirbuf.js';
import type { Notifier } from '../../session/notify.js';
import type {
  AccessIn, CopyFileRangeIn, CreateIn, FallocateIn, FlushIn, FsyncIn, LseekIn, MkdirIn, MknodIn, OpenIn, ReadIn,
  ReleaseIn, RenameIn, SetattrIn, SetxattrIn, StatxIn, WriteIn,
} from '../../protocol/requests.js';
import {
  FATTR_ATIME, FATTR_ATIME_NOW, FATTR_CTIME, FATTR_FH, FATTR_GID, FATTR_KILL_SUIDGID, FATTR_MODE, FATTR_MTIME, FATTR_MTIME_NOW,
  FATTR_SIZE, FATTR_UID, FOPEN_CACHE_DIR, FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_PASSTHROUGH,
  FUSE_DEV_IOC_BACKING_CLOSE, FUSE_DEV_IOC_BACKING_OPEN, FUSE_FSYNC_FDATASYNC, FUSE_WRITE_KILL_SUIDGID,
} from '../../protocol/kernel.js';
import { resolvePassthroughOptions } from './options.js';
import type { PassthroughOptions, ResolvedOptions } from './options.js';
import { InodeTable } from './inode-table.js';
import { OPS } from '../../protocol/opcodes.js';
import type { Inode } from './inode-table.js';
import { Credentials } from './creds.js';
import { DirHandle } from './dirhandle.js';
import { isMainThread } from 'node:worker_threads';

/** The Filesystem methods the kernel's requests call. */
const OP_METHODS = [...new Set(OPS.flatMap((o) => (o?.method ? [o.method] : [])))];

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const NS = 1_000_000_000n;
const TRUSTED = Buffer.from('trusted.');
const ACL_ACCESS = Buffer.from('system.posix_acl_access');
const ACL_DEFAULT = Buffer.from('system.posix_acl_default');
const ACL_USER = 0x02;
const ACL_GROUP = 0x08;

function isAclName(name: Buffer): boolean {
  const n = name[name.length - 1] === 0 ? name.subarray(0, -1) : name;
  return n.equals(ACL_ACCESS) || n.equals(ACL_DEFAULT);
}
const NUL = Buffer.alloc(1);
const STATX_MASK = sys.STATX_BASIC_STATS | sys.STATX_BTIME | sys.STATX_MNT_ID;
const LOOKUP_FLAGS = sys.AT_SYMLINK_NOFOLLOW | sys.AT_NO_AUTOMOUNT;
const EMPTY = sys.AT_EMPTY_PATH | sys.AT_SYMLINK_NOFOLLOW;
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_COLLAPSE_RANGE = 0x08;
const FALLOC_FL_INSERT_RANGE = 0x20;

interface FileState {
  fd: number;
  backingId: number;
  /** The node id, when the open counts in `io` (regular files with FUSE_PASSTHROUGH agreed). */
  ioIno: bigint | undefined;
  /** A set-id file: writes run as the writer, so the host clears suid/sgid by its own rules. */
  setId: boolean;
  /** The host fd has O_DIRECT: its I/O needs block-aligned memory. */
  direct: boolean;
  /** Who opened it: the writer of pages the writeback cache sends later without a caller. */
  opener: { uid: number; gid: number; pid: number } | undefined;
}

/**
 * How the kernel does I/O on one inode while it has open files. The kernel
 * binds ONE backing file to an inode for as long as any of its files is open
 * in passthrough mode, and refuses (EIO to the caller) an open that names
 * another backing file, or a caching open next to passthrough ones, and the
 * reverse: every open of an inode must follow the mode of the first.
 */
interface IoState {
  passthrough: boolean;
  backingId: number;
  opens: number;
}

// One error object per errno, thrown again and again: a failed system call
// (ENOENT on a negative lookup, ENODATA on a getxattr) is routine here.
const ERRORS: FuseError[] = [];

function fail(ret: number): never {
  throw (ERRORS[-ret] ??= new FuseError(-ret));
}

function ok(ret: number): number {
  if (ret < 0) fail(ret);
  return ret;
}

/** Rejects names the kernel should never send: '/' inside, empty, too long. */
function checkName(name: Buffer): void {
  if (name.length === 0 || name.includes(0x2f)) throw new FuseError(Errno.EINVAL);
  if (name.length > 255) throw new FuseError(Errno.ENAMETOOLONG);
}

function isDirectFd(fd: number): boolean {
  const fl = sys.fcntl(fd, sys.F_GETFL, 0);
  return fl >= 0 && (fl & sys.O_DIRECT) !== 0;
}

function isDotOrDotDot(name: Buffer): boolean {
  return name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e));
}

export class PassthroughFs implements Filesystem {
  readonly options: ResolvedOptions;
  readonly inodes: InodeTable;
  private readonly creds: Credentials;
  private readonly stx = Buffer.alloc(256);
  private readonly lastDev = { major: -1, minor: -1, mnt: -1n, key: '' };
  private readonly files = new Map<bigint, FileState>();
  private readonly dirs = new Map<bigint, DirHandle>();
  private nextDirFh = 1n;
  private readonly rootFd: number;
  /** A plain (not O_PATH) fd on the source: open_by_handle_at refuses O_PATH mount fds. */
  private readonly mountFd: number;
  private readonly rootMntId: bigint;
  private conn: ConnectionInfo | undefined;
  private notifier: Notifier | undefined;
  private passthroughBroken = false;
  private readonly io = new Map<bigint, IoState>();
  /** This thread has its own umask (unshare CLONE_FS): creations apply the caller's umask, default ACLs win. */
  private readonly threadUmask: boolean;
  /** The session thread's umask now (with threadUmask). */
  private umaskNow = 0;
  private readonly linkBuf = Buffer.allocUnsafe(4096);
  private readonly pstx = Buffer.alloc(256);
  /** getxattr replies are built here (an xattr value is at most 64 KiB). */
  private readonly xattrBuf = Buffer.allocUnsafe(64 * 1024);
  /** /proc/self/fd, open: the xattr calls reach an inode's O_PATH fd from it (-1: unavailable). */
  private procFdDir: number;
  /**
   * Without default_permissions nobody but us checks search permission, and
   * the kernel asks us nothing about a name it has cached: a name under a
   * directory that not everyone may search is therefore never cached, so
   * each use comes back to us as the caller.
   */
  private readonly guardSearch: boolean;

  constructor(options: PassthroughOptions) {
    this.options = resolvePassthroughOptions(options);
    const src = this.options.source;
    const fd = sys.open(src, sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
    if (fd < 0) {
      const why = -fd === Errno.ENOENT ? 'does not exist' : -fd === Errno.ENOTDIR ? 'is not a directory' : sys.errnoName(-fd);
      throw new FuseError(-fd, `source ${src} ${why}`);
    }
    this.rootFd = fd;
    this.procFdDir = sys.open('/proc/self/fd', sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
    this.mountFd = sys.open(src, sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
    ok(sys.statx(fd, '', EMPTY, STATX_MASK, this.stx));
    this.rootMntId = this.stx.readBigUInt64LE(144);
    // Live inodes must not be bounded by the fd limit: take the hard limit,
    // keep at most ~half as inode fds, reopen the rest from file handles.
    const lim = sys.raiseNofileLimit();
    const soft = typeof lim === 'number' ? 1024 : Number(lim.soft);
    const useHandles = this.handlesWork();
    const maxFds = useHandles ? Math.max(64, Math.floor(soft / 2)) : Number.MAX_SAFE_INTEGER;
    const devKey = this.devKey();
    const [btimeSec, btimeNsec] = this.btime();
    this.inodes = new InodeTable(fd, { devKey, ino: this.stx.readBigUInt64LE(32), btimeSec, btimeNsec, type: S_IFDIR }, this.options.useHostIno, maxFds, useHandles, this.mountFd);
    this.creds = new Credentials(this.options.uidMap, this.options.gidMap);
    this.guardSearch = this.creds.enabled && !this.options.defaultPermissions;
    // The host applies the daemon's umask to every file we create. Give the
    // session thread its own umask, set per request to the caller's
    // (FUSE_DONT_MASK), so that a parent's default ACL replaces the umask as
    // natively. Never on the main thread: the libuv pool shares its cwd.
    this.threadUmask = !isMainThread && sys.unshare(sys.CLONE_FS) === 0;
    if (this.threadUmask) sys.umask(0);
    // Each operation opens an epoch of the inode table: fds it takes are not
    // closed by eviction before it returns (it may still hold them).
    const table = this.inodes;
    const self = this as unknown as Record<string, unknown>;
    for (const name of OP_METHODS) {
      const f = self[name];
      if (typeof f !== 'function') continue;
      self[name] = function (this: unknown, ...a: unknown[]): unknown {
        table.beginOp();
        return (f as (...x: unknown[]) => unknown).apply(this, a);
      };
    }
  }

  /** Runs a creation with the caller's umask (from the request when DONT_MASK is agreed; the kernel applied it otherwise). */
  private withUmask<T>(umask: number, f: () => T): T {
    if (!this.threadUmask || !this.conn?.has('DONT_MASK')) return f();
    // Only creations read the umask, and they all come through here: the
    // thread keeps the last caller's, changed only when the next one differs.
    if (umask !== this.umaskNow) {
      sys.umask(umask);
      this.umaskNow = umask;
    }
    return f();
  }

  /** Whether inodes can be reopened from file handles here (needs CAP_DAC_READ_SEARCH). */
  private handlesWork(): boolean {
    if (this.mountFd < 0) return false;
    const h = sys.name_to_handle_at(this.rootFd, '', sys.AT_EMPTY_PATH);
    if (typeof h === 'number') return false;
    const fd = sys.open_by_handle_at(this.mountFd, h, sys.O_PATH | sys.O_CLOEXEC);
    if (fd < 0) return false;
    sys.close(fd);
    return true;
  }

  /** (device, mount) of the file in the statx buffer. */
  private devKey(): string {
    const b = this.stx;
    const major = b.readUInt32LE(136);
    const minor = b.readUInt32LE(140);
    const mnt = b.readBigUInt64LE(144);
    // Almost every file is on the device of the one before: reuse its key string.
    const last = this.lastDev;
    if (last.major === major && last.minor === minor && last.mnt === mnt) return last.key;
    last.major = major;
    last.minor = minor;
    last.mnt = mnt;
    last.key = `${major}:${minor}:${mnt}`;
    return last.key;
  }

  /** Birth time of the file in the statx buffer: with it, a reused inode number is a different file. */
  private btime(): [number, number] {
    return [Number(this.stx.readBigInt64LE(80)), this.stx.readUInt32LE(88)];
  }

  /** The known inode for the file in the statx buffer, if any. */
  private known(devKey: string): Inode | undefined {
    const [bs, bns] = this.btime();
    return this.inodes.find(devKey, this.stx.readBigUInt64LE(32), bs, bns);
  }

  /** Adds the file in the statx buffer (fd: its O_PATH fd) to the table. */
  private addInode(fd: number, devKey: string, type: number): Inode {
    const [bs, bns] = this.btime();
    const sameMount = this.stx.readBigUInt64LE(144) === this.rootMntId;
    return this.inodes.add(fd, devKey, this.stx.readBigUInt64LE(32), bs, bns, type, sameMount);
  }

  // ---- lifecycle ----

  init(conn: ConnectionInfo, notifier?: Notifier): void {
    this.conn = conn;
    this.notifier = notifier;
    const o = this.options;
    // Not with no_open: the kernel then sends no OPEN, and with ATOMIC_O_TRUNC
    // it would leave O_TRUNC to that OPEN, so the file would never be truncated.
    conn.request('ATOMIC_O_TRUNC', !o.noOpen);
    conn.request('WRITEBACK_CACHE', o.writeback);
    conn.request('HANDLE_KILLPRIV_V2', o.killprivV2);
    conn.request('CACHE_SYMLINKS', o.cache === 'always');
    conn.request('DONT_MASK', this.threadUmask);
    // With default_permissions the kernel checks access itself, from the mode
    // bits only unless it knows the ACLs (POSIX_ACL, which the kernel ties
    // to default_permissions). Without it the host checks them as the caller.
    conn.request('POSIX_ACL', o.defaultPermissions && o.xattr);
    conn.request('SETXATTR_EXT', o.xattr);
    // FUSE_PASSTHROUGH needs CAP_SYS_ADMIN for the backing fds and cannot serve DIRECT_IO opens.
    // seal_size must see every write (kernel passthrough writes never reach
    // us); no_open opens have no reply to carry a backing file, and would
    // clash with created files bound to one (fs/fuse/iomode.c).
    const passthrough = o.passthrough && sys.geteuid() === 0 && o.cache !== 'never' && o.cache !== 'metadata' && !o.writeback && !o.sealSize && !o.noOpen;
    // Direct I/O files (cache=never/metadata) may still be mapped shared, as natively.
    conn.request('DIRECT_IO_ALLOW_MMAP', o.cache === 'never' || o.cache === 'metadata');
    conn.request('PASSTHROUGH', passthrough);
    if (passthrough) conn.maxStackDepth = 1;
  }

  destroy(): void {
    for (const f of this.files.values()) this.closeFile(f);
    this.files.clear();
    for (const d of this.dirs.values()) d.close();
    this.dirs.clear();
    this.inodes.clear();
    sys.close(this.rootFd);
    if (this.mountFd >= 0) sys.close(this.mountFd);
    if (this.procFdDir >= 0) sys.close(this.procFdDir);
  }

  // ---- helpers ----

  private fdOf(ino: bigint): number {
    return this.inodes.fdOf(this.inodes.get(ino));
  }

  private asCaller<T>(ctx: RequestContext, f: () => T): T {
    const switched = this.creds.enter(ctx);
    try {
      return f();
    } finally {
      if (switched) this.creds.leave();
    }
  }

  /** Attributes from the statx buffer, ids mapped to the client's view. */
  private attr(stIno: bigint): Attr {
    const b = this.stx;
    const rdev = sys.newEncodeDev(b.readUInt32LE(128), b.readUInt32LE(132));
    return {
      ino: stIno,
      size: b.readBigUInt64LE(40),
      blocks: b.readBigUInt64LE(48),
      atimeNs: b.readBigInt64LE(64) * NS + BigInt(b.readUInt32LE(72)),
      mtimeNs: b.readBigInt64LE(112) * NS + BigInt(b.readUInt32LE(120)),
      ctimeNs: b.readBigInt64LE(96) * NS + BigInt(b.readUInt32LE(104)),
      mode: b.readUInt16LE(28),
      nlink: b.readUInt32LE(16),
      uid: this.options.uidMap.toClient(b.readUInt32LE(20)),
      gid: this.options.gidMap.toClient(b.readUInt32LE(24)),
      rdev,
      blksize: b.readUInt32LE(4),
    };
  }

  private isDirMode(mode: number): boolean {
    return (mode & S_IFMT) === S_IFDIR;
  }

  private attrTimeoutFor(mode: number): number {
    return this.isDirMode(mode) ? this.options.dirAttrTimeout : this.options.attrTimeout;
  }

  private entryFrom(i: Inode): Entry {
    const attr = this.attr(i.nodeid);
    const dir = this.isDirMode(attr.mode);
    return {
      nodeid: i.nodeid,
      generation: i.generation,
      entryTimeout: dir ? this.options.dirEntryTimeout : this.options.entryTimeout,
      attrTimeout: dir ? this.options.dirAttrTimeout : this.options.attrTimeout,
      attr,
    };
  }

  /**
   * Looks `name` up in the directory `pfd` and returns its entry with one
   * more lookup counted. The statx by name is all a known file costs.
   */
  private lookupAt(pfd: number, name: Buffer | string): { entry: Entry; inode: Inode } {
    ok(sys.statx(pfd, name, LOOKUP_FLAGS, STATX_MASK, this.stx));
    let inode = this.known(this.devKey());
    if (inode !== undefined) {
      inode.refs++;
      return { entry: this.entryFrom(inode), inode };
    }
    const fd = sys.openat(pfd, name, sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC);
    if (fd < 0) fail(fd);
    // Stat the fd we hold: the name may have been replaced since the statx.
    const r = sys.statx(fd, '', EMPTY, STATX_MASK, this.stx);
    if (r < 0) {
      sys.close(fd);
      fail(r);
    }
    const devKey = this.devKey();
    inode = this.known(devKey);
    if (inode !== undefined) {
      this.inodes.offerFd(inode, fd);
      inode.refs++;
      return { entry: this.entryFrom(inode), inode };
    }
    inode = this.addInode(fd, devKey, this.stx.readUInt16LE(28) & S_IFMT);
    return { entry: this.entryFrom(inode), inode };
  }

  private statInode(i: Inode): void {
    ok(sys.statx(this.inodes.fdOf(i), '', EMPTY, STATX_MASK, this.stx));
  }

  private file(fh: bigint): FileState {
    const f = this.files.get(fh);
    if (f === undefined) throw new FuseError(Errno.EBADF);
    return f;
  }

  /** A file handle for `fh`, or (no_open, fh 0) a temporary one. */
  private withFile<T>(ino: bigint, fh: bigint, flags: number, f: (fd: number) => T): T {
    const st = this.files.get(fh);
    if (st !== undefined) return f(st.fd);
    if (!this.options.noOpen) throw new FuseError(Errno.EBADF);
    const fd = ok(sys.open(`/proc/self/fd/${this.fdOf(ino)}`, flags | sys.O_CLOEXEC));
    try {
      return f(fd);
    } finally {
      sys.close(fd);
    }
  }

  private sealCheckGrow(fd: number, end: bigint): void {
    ok(sys.statx(fd, '', EMPTY, sys.STATX_SIZE, this.stx));
    if (end > this.stx.readBigUInt64LE(40)) throw new FuseError(Errno.EPERM);
  }

  // ---- names ----

  lookup(ctx: RequestContext, parent: bigint, name: Buffer): Entry {
    const p = this.inodes.get(parent);
    if (isDotOrDotDot(name)) {
      // Only sent with export support: '.' is the directory, '..' its parent, and never above the root.
      if (name.length === 1 || p === this.inodes.root) return this.refEntry(p);
      const up = this.asCaller(ctx, () => this.lookupAt(this.inodes.fdOf(p), '..'));
      if (!this.insideSource(up.inode)) {
        // The host moved the directory out of the source: its parent is not ours to show.
        this.inodes.forget(up.inode.nodeid, 1n);
        throw new FuseError(Errno.ENOENT);
      }
      return up.entry;
    }
    checkName(name);
    const pfd = this.inodes.fdOf(p);
    const e = this.options.defaultPermissions ? this.lookupAt(pfd, name).entry : this.asCaller(ctx, () => this.lookupAt(pfd, name).entry);
    return this.guarded(e, pfd);
  }

  /** Whether the directory `i` is the source or below it, walking '..' on the host. */
  private insideSource(i: Inode): boolean {
    const root = this.inodes.root;
    if (i === root) return true;
    let cur = sys.openat(this.inodes.fdOf(i), '.', sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
    if (cur < 0) return false;
    try {
      for (let depth = 0; depth < 4096; depth++) {
        if (sys.statx(cur, '', EMPTY, STATX_MASK, this.stx) < 0) return false;
        const key = `${this.devKey()}:${this.stx.readBigUInt64LE(32)}`;
        if (key === `${root.devKey}:${root.hostIno}`) return true;
        const up = sys.openat(cur, '..', sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
        if (up < 0) return false;
        if (sys.statx(up, '', EMPTY, STATX_MASK, this.stx) < 0 || `${this.devKey()}:${this.stx.readBigUInt64LE(32)}` === key) {
          sys.close(up);
          return false; // the host's root: the source was not on the way
        }
        sys.close(cur);
        cur = up;
      }
      return false;
    } finally {
      sys.close(cur);
    }
  }

  private refEntry(i: Inode): Entry {
    this.statInode(i);
    i.refs++;
    return this.entryFrom(i);
  }

  forget(_ctx: RequestContext, ino: bigint, nlookup: bigint): void {
    this.inodes.forget(ino, nlookup);
  }

  batchForget(_ctx: RequestContext, items: { nodeid: bigint; nlookup: bigint }[]): void {
    for (const f of items) this.inodes.forget(f.nodeid, f.nlookup);
  }

  // ---- attributes ----

  getattr(_ctx: RequestContext, ino: bigint, fh: bigint | undefined): AttrReply {
    const i = this.inodes.get(ino);
    const f = fh !== undefined ? this.files.get(fh) : undefined;
    ok(sys.statx(f ? f.fd : this.inodes.fdOf(i), '', EMPTY, STATX_MASK, this.stx));
    const attr = this.attr(i.nodeid);
    return { attr, attrTimeout: this.attrTimeoutFor(attr.mode) };
  }

  setattr(ctx: RequestContext, ino: bigint, s: SetattrIn): AttrReply {
    const i = this.inodes.get(ino);
    const ifd = this.inodes.fdOf(i);
    const f = s.valid & FATTR_FH ? this.files.get(s.fh) : undefined;
    const v = s.valid;
    if (v & FATTR_SIZE && this.options.sealSize) {
      ok(sys.statx(ifd, '', EMPTY, sys.STATX_SIZE, this.stx));
      if (this.stx.readBigUInt64LE(40) !== s.size) throw new FuseError(Errno.EPERM);
    }
    if (v & FATTR_MODE) {
      const chmod = (): number => (f ? sys.fchmod(f.fd, s.mode & 0o7777) : sys.fchmodat2(ifd, '', s.mode & 0o7777, sys.AT_EMPTY_PATH));
      const r = this.asCaller(ctx, () => {
        const r = chmod();
        // The kernel clears suid/sgid after a write or truncate by another
        // user with a SETATTR of the mode, sent with that user's identity
        // (natively an ATTR_FORCE change). The host refuses it to a non-owner:
        // let it through when it only drops set-id bits of a file the caller
        // may write.
        if (r === -Errno.EPERM && this.onlyDropsSetId(ifd, s.mode) && sys.faccessat2(ifd, '', sys.W_OK, sys.AT_EMPTY_PATH | sys.AT_EACCESS) === 0) return 1;
        return ok(r);
      });
      if (r === 1) ok(chmod());
    }
    // Writeback cache: the kernel keeps mtime itself, so utimes(NULL) (touch)
    // arrives as atime NOW, mtime = the kernel's clock. Set "now" as "now":
    // a user who may write but does not own the file may do that, not more.
    const touch = this.options.writeback && (v & (FATTR_ATIME_NOW | FATTR_MTIME | FATTR_CTIME)) === (FATTR_ATIME_NOW | FATTR_MTIME | FATTR_CTIME) &&
      !(v & FATTR_MTIME_NOW) && Math.abs(Date.now() / 1000 - Number(s.mtime)) <= 2;
    const setTimes = (): void => {
      const [as, an] = v & FATTR_ATIME ? (v & FATTR_ATIME_NOW ? [0n, sys.UTIME_NOW] : [s.atime, s.atimensec]) : [0n, sys.UTIME_OMIT];
      const [ms, mn] = v & FATTR_MTIME ? (v & FATTR_MTIME_NOW || touch ? [0n, sys.UTIME_NOW] : [s.mtime, s.mtimensec]) : [0n, sys.UTIME_OMIT];
      ok(f ? sys.futimens(f.fd, as, an, ms, mn) : sys.utimensat(ifd, '', as, an, ms, mn, EMPTY));
    };
    // Writeback cache: the kernel keeps mtime itself and flushes it (with
    // ctime, never atime) as a SETATTR from whoever happens to run: the
    // writer closing the file (with its file handle), or anyone whose sync,
    // chmod or unlink flushes the inode first. That is the kernel's own
    // timestamp, not a utimes of the caller, who may well not own the file;
    // refused, it would surface as a writeback error at some other process's
    // syncfs or close. Without a file handle it looks exactly like
    // utimensat(OMIT, t): take it as the kernel's when the caller may write
    // the file anyway, or when t is the time of a recent write (within a
    // minute of the host's mtime, which that write set when it reached us).
    const timesOnly = this.options.writeback && (v & (FATTR_MTIME | FATTR_CTIME)) === (FATTR_MTIME | FATTR_CTIME) && !(v & (FATTR_ATIME | FATTR_SIZE | FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_MTIME_NOW));
    const kernelTimes = timesOnly && (f !== undefined || this.recentWriteTime(ifd, s.mtime) ||
      this.asCaller(ctx, () => sys.faccessat2(ifd, '', sys.W_OK, sys.AT_EMPTY_PATH | sys.AT_EACCESS) === 0));
    if (kernelTimes) setTimes();
    this.asCaller(ctx, () => {
      if (v & (FATTR_UID | FATTR_GID)) {
        const uid = v & FATTR_UID ? this.options.uidMap.toHost(s.uid) : -1;
        const gid = v & FATTR_GID ? this.options.gidMap.toHost(s.gid) : -1;
        ok(sys.fchownat(ifd, '', uid, gid, EMPTY));
      }
      if (v & FATTR_SIZE) {
        if (f) {
          ok(sys.ftruncate(f.fd, s.size));
        } else {
          const wfd = ok(sys.open(`/proc/self/fd/${ifd}`, sys.O_WRONLY | sys.O_CLOEXEC));
          const r = sys.ftruncate(wfd, s.size);
          sys.close(wfd);
          ok(r);
        }
      }
      // With a size change the host's truncate sets mtime and ctime itself.
      if (v & (FATTR_ATIME | FATTR_MTIME) && !(v & FATTR_SIZE) && !kernelTimes) setTimes();
      if (v & FATTR_KILL_SUIDGID && !(v & FATTR_MODE)) this.killSuidSgid(f ? f.fd : ifd, !!f);
    });
    return this.getattr(ctx, ino, f ? s.fh : undefined);
  }

  /** Whether `sec` is within a minute of the file's host mtime (and not in the future). */
  private recentWriteTime(fd: number, sec: bigint): boolean {
    if (sys.statx(fd, '', EMPTY, sys.STATX_MTIME, this.pstx) < 0) return false;
    const hostMtime = this.pstx.readBigInt64LE(112);
    return sec <= BigInt(Math.ceil(Date.now() / 1000)) && sec >= hostMtime - 60n && sec <= hostMtime + 60n;
  }

  /** Whether chmod to `mode` only clears set-id bits the file has. */
  private onlyDropsSetId(fd: number, mode: number): boolean {
    if (sys.statx(fd, '', EMPTY, sys.STATX_MODE, this.stx) < 0) return false;
    const cur = this.stx.readUInt16LE(28) & 0o7777;
    const req = mode & 0o7777;
    return (cur & ~0o6000) === (req & ~0o6000) && (req & ~cur) === 0 && (cur & ~req) !== 0;
  }

  /** HANDLE_KILLPRIV_V2: the kernel asks us to drop suid (and sgid if group-executable). */
  private killSuidSgid(fd: number, isOpenFile: boolean): void {
    ok(sys.statx(fd, '', EMPTY, sys.STATX_MODE, this.stx));
    const mode = this.stx.readUInt16LE(28);
    let kill = 0o4000;
    if (mode & 0o010) kill |= 0o2000;
    if (mode & kill) ok(isOpenFile ? sys.fchmod(fd, mode & 0o7777 & ~kill) : sys.fchmodat2(fd, '', mode & 0o7777 & ~kill, sys.AT_EMPTY_PATH));
  }

  readlink(_ctx: RequestContext, ino: bigint): Buffer {
    const n = ok(sys.readlinkat(this.fdOf(ino), '', this.linkBuf));
    return Buffer.from(this.linkBuf.subarray(0, n));
  }

  // ---- creating and removing names ----

  private created(pfd: number, name: Buffer): Entry {
    return this.guarded(this.lookupAt(pfd, name).entry, pfd);
  }

  /** Whether everyone may search the directory `pfd` (o+x). */
  private searchableByAll(pfd: number): boolean {
    return sys.statx(pfd, '', EMPTY, sys.STATX_MODE, this.pstx) >= 0 && (this.pstx.readUInt16LE(28) & 0o001) !== 0;
  }

  /** The entry, not to be cached when its directory does not let everyone search it (see guardSearch). */
  private guarded(e: Entry, pfd: number): Entry {
    if (!this.guardSearch || this.searchableByAll(pfd)) return e;
    return { ...e, entryTimeout: 0 };
  }

  mknod(ctx: RequestContext, parent: bigint, a: MknodIn): Entry {
    checkName(a.name);
    const pfd = this.fdOf(parent);
    const [maj, min] = sys.newDecodeDev(a.rdev);
    return this.asCaller(ctx, () => {
      this.withUmask(a.umask, () => ok(sys.mknodat(pfd, a.name, a.mode, sys.makedev(maj, min))));
      return this.created(pfd, a.name);
    });
  }

  mkdir(ctx: RequestContext, parent: bigint, a: MkdirIn): Entry {
    checkName(a.name);
    const pfd = this.fdOf(parent);
    return this.asCaller(ctx, () => {
      this.withUmask(a.umask, () => ok(sys.mkdirat(pfd, a.name, a.mode)));
      return this.created(pfd, a.name);
    });
  }

  symlink(ctx: RequestContext, parent: bigint, name: Buffer, target: Buffer): Entry {
    checkName(name);
    const pfd = this.fdOf(parent);
    return this.asCaller(ctx, () => {
      ok(sys.symlinkat(target, pfd, name));
      return this.created(pfd, name);
    });
  }

  unlink(ctx: RequestContext, parent: bigint, name: Buffer): void {
    checkName(name);
    const pfd = this.fdOf(parent);
    this.asCaller(ctx, () => ok(sys.unlinkat(pfd, name, 0)));
  }

  rmdir(ctx: RequestContext, parent: bigint, name: Buffer): void {
    checkName(name);
    const pfd = this.fdOf(parent);
    this.asCaller(ctx, () => ok(sys.unlinkat(pfd, name, sys.AT_REMOVEDIR)));
  }

  rename(ctx: RequestContext, parent: bigint, a: RenameIn): void {
    checkName(a.oldname);
    checkName(a.newname);
    const from = this.fdOf(parent);
    const to = this.fdOf(a.newdir);
    this.asCaller(ctx, () => ok(sys.renameat2(from, a.oldname, to, a.newname, a.flags)));
  }

  link(ctx: RequestContext, ino: bigint, newparent: bigint, newname: Buffer): Entry {
    checkName(newname);
    const fd = this.fdOf(ino);
    const pfd = this.fdOf(newparent);
    return this.asCaller(ctx, () => {
      // Through /proc: linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH, which the caller may lack.
      ok(sys.linkat(sys.AT_FDCWD, `/proc/self/fd/${fd}`, pfd, newname, sys.AT_SYMLINK_FOLLOW));
      return this.created(pfd, newname);
    });
  }

  // ---- files ----

  /** Host open flags for a client's: `widened` applies what the writeback cache needs (see widen). */
  private openFlags(flags: number, widened = false): number {
    // The kernel resolved the path: O_NOFOLLOW would refuse the /proc/self/fd magic link we reopen through.
    let f = flags & ~(sys.O_CREAT | sys.O_EXCL | sys.O_NOCTTY | sys.O_NOFOLLOW);
    if (this.options.writeback && widened) {
      // The kernel reads pages of write-only files and owns the append position.
      if ((f & sys.O_ACCMODE) === sys.O_WRONLY) f = (f & ~sys.O_ACCMODE) | sys.O_RDWR;
      f &= ~sys.O_APPEND;
    }
    if (!this.options.allowDirectIo) f &= ~sys.O_DIRECT;
    return f | sys.O_CLOEXEC;
  }

  /**
   * Writeback cache: the kernel reads pages of write-only files and owns the
   * append position, so a write-only or appending open is reopened read-write
   * without O_APPEND. The caller may not be allowed to read: the first open,
   * with the caller's flags and identity, was the permission check; the
   * reopen (through the fd's magic link) is ours. Returns the fd to keep.
   */
  private widen(fd: number, requestFlags: number): number {
    if (!this.options.writeback || ((requestFlags & sys.O_ACCMODE) !== sys.O_WRONLY && !(requestFlags & sys.O_APPEND))) return fd;
    const wide = sys.open(`/proc/self/fd/${fd}`, this.openFlags(requestFlags, true) & ~sys.O_TRUNC);
    if (wide < 0) return fd;
    sys.close(fd);
    return wide;
  }

  /**
   * The reply to open/create for host fd `fd` of inode `ino`. Must run with
   * the daemon's own credentials: the kernel keeps those of BACKING_OPEN for
   * all passthrough I/O on the inode.
   */
  private fileReply(fd: number, ino: bigint, isReg: boolean, requestFlags: number, ctx?: RequestContext): OpenReply {
    const o = this.options;
    let openFlags = o.cache === 'never' || o.cache === 'metadata' ? FOPEN_DIRECT_IO : o.cache === 'always' ? FOPEN_KEEP_CACHE : 0;
    let backingId = 0;
    let ioIno: bigint | undefined;
    const setId = isReg && this.hasSetIdBits(fd);
    // allow_direct_io off: a passthrough backing file would be opened by the
    // kernel with the client's O_DIRECT; serve such an open through our fd
    // (O_DIRECT stripped) instead, unless the inode is bound to passthrough.
    if (isReg && !o.allowDirectIo && requestFlags & sys.O_DIRECT && this.conn?.has('PASSTHROUGH') && !this.io.get(ino)?.passthrough) {
      openFlags |= FOPEN_DIRECT_IO;
    }
    if (isReg && this.conn?.has('PASSTHROUGH') && !(openFlags & FOPEN_DIRECT_IO)) {
      ioIno = ino;
      let st = this.io.get(ino);
      if (st === undefined) {
        st = { passthrough: false, backingId: 0, opens: 0 };
        // A set-id file is served through the daemon: passthrough writes run
        // with the daemon's credentials (CAP_FSETID), so the host would never
        // clear suid/sgid when another user writes; the kernel's own write
        // path does (it sends the SETATTR that clears them).
        if (!this.passthroughBroken && !setId) {
          const map = Buffer.alloc(16);
          map.writeInt32LE(fd, 0);
          const id = sys.ioctl(this.conn.devFd, FUSE_DEV_IOC_BACKING_OPEN, map);
          if (id > 0) {
            st.passthrough = true;
            st.backingId = id;
          } else {
            this.passthroughBroken = true;
            process.emitWarning(`kernel passthrough unavailable (${sys.errnoName(-id)}): serving file data through the daemon`);
          }
        }
        this.io.set(ino, st);
      }
      st.opens++;
      if (st.passthrough) {
        backingId = st.backingId;
        openFlags |= FOPEN_PASSTHROUGH;
        openFlags &= ~FOPEN_KEEP_CACHE;
      }
    }
    const fh = BigInt(fd);
    this.files.set(fh, { fd, backingId, ioIno, setId, direct: isDirectFd(fd), opener: ctx ? { uid: ctx.uid, gid: ctx.gid, pid: ctx.pid } : undefined });
    return { fh, openFlags, backingId };
  }

  /**
   * The open half of CREATE/TMPFILE. With no_open the kernel never sends a
   * RELEASE for it (nor OPENs afterwards): keep no fd, answer fh 0, and I/O
   * takes the per-request path as for every other file.
   */
  private createdReply(fd: number, ino: bigint, requestFlags: number, ctx: RequestContext): OpenReply {
    if (this.options.noOpen) {
      sys.close(fd);
      return { fh: 0n, openFlags: FOPEN_KEEP_CACHE, backingId: 0 };
    }
    return this.fileReply(this.widen(fd, requestFlags), ino, true, requestFlags, ctx);
  }

  private hasSetIdBits(fd: number): boolean {
    if (sys.statx(fd, '', EMPTY, sys.STATX_MODE, this.stx) < 0) return false;
    return (this.stx.readUInt16LE(28) & 0o6000) !== 0;
  }

  private closeFile(f: FileState): void {
    const st = f.ioIno !== undefined ? this.io.get(f.ioIno) : undefined;
    if (st !== undefined && --st.opens <= 0) {
      this.io.delete(f.ioIno!);
      if (st.passthrough && this.conn) {
        const id = Buffer.alloc(4);
        id.writeUInt32LE(st.backingId, 0);
        sys.ioctl(this.conn.devFd, FUSE_DEV_IOC_BACKING_CLOSE, id);
      }
    }
    sys.close(f.fd);
  }

  open(ctx: RequestContext, ino: bigint, a: OpenIn): OpenReply {
    if (this.options.noOpen) throw new FuseError(Errno.ENOSYS);
    const i = this.inodes.get(ino);
    const ifd = this.inodes.fdOf(i);
    const flags = this.openFlags(a.flags);
    if (this.options.sealSize && flags & sys.O_TRUNC) {
      ok(sys.statx(ifd, '', EMPTY, sys.STATX_SIZE, this.stx));
      if (this.stx.readBigUInt64LE(40) !== 0n) throw new FuseError(Errno.EPERM);
    }
    const fd = this.widen(this.asCaller(ctx, () => ok(sys.open(`/proc/self/fd/${ifd}`, flags))), a.flags);
    return this.fileReply(fd, ino, i.type === S_IFREG, a.flags, ctx);
  }

  create(ctx: RequestContext, parent: bigint, a: CreateIn): CreateReply {
    checkName(a.name);
    const pfd = this.fdOf(parent);
    const { fd, entry } = this.asCaller(ctx, () => {
      const fd = this.withUmask(a.umask, () => ok(sys.openat(pfd, a.name, this.openFlags(a.flags) | sys.O_CREAT | sys.O_NOFOLLOW, a.mode & 0o7777)));
      try {
        return { fd, entry: this.created(pfd, a.name) };
      } catch (e) {
        sys.close(fd);
        throw e;
      }
    });
    return { entry, open: this.createdReply(fd, entry.nodeid, a.flags, ctx) };
  }

  tmpfile(ctx: RequestContext, parent: bigint, a: CreateIn): CreateReply {
    const pfd = this.fdOf(parent);
    const { fd, entry } = this.asCaller(ctx, () => {
      const flags = (this.openFlags(a.flags) & ~sys.O_DIRECTORY) | sys.O_TMPFILE;
      const fd = this.withUmask(a.umask, () => ok(sys.openat(pfd, '.', flags, a.mode & 0o7777)));
      const pathFd = sys.open(`/proc/self/fd/${fd}`, sys.O_PATH | sys.O_CLOEXEC);
      if (pathFd < 0) {
        sys.close(fd);
        fail(pathFd);
      }
      ok(sys.statx(pathFd, '', EMPTY, STATX_MASK, this.stx));
      const inode = this.addInode(pathFd, this.devKey(), S_IFREG);
      return { fd, entry: this.entryFrom(inode) };
    });
    return { entry, open: this.createdReply(fd, entry.nodeid, a.flags, ctx) };
  }

  read(_ctx: RequestContext, ino: bigint, a: ReadIn, out: Buffer): number {
    return this.withFile(ino, a.fh, sys.O_RDONLY, (fd) => {
      if (this.files.get(a.fh)?.direct) {
        // The reply buffer is not block-aligned: O_DIRECT reads go through an aligned one.
        const buf = this.alignedScratch(a.size);
        const n = ok(sys.pread(fd, buf, a.size, a.offset));
        buf.copy(out, 0, 0, n);
        return n;
      }
      return ok(sys.pread(fd, out, a.size, a.offset));
    });
  }

  private scratch: Buffer | undefined;

  private alignedScratch(size: number): Buffer {
    if (this.scratch === undefined || this.scratch.length < size) this.scratch = sys.alignedBuffer(Math.max(size, 1 << 20));
    return this.scratch;
  }

  private pwrite(st: FileState | undefined, fd: number, a: WriteIn): number {
    if (st?.direct) {
      const buf = this.alignedScratch(a.data.length);
      a.data.copy(buf);
      return ok(sys.pwrite(fd, buf, a.data.length, a.offset));
    }
    return ok(sys.pwrite(fd, a.data, a.data.length, a.offset));
  }

  write(ctx: RequestContext, ino: bigint, a: WriteIn): number {
    return this.withFile(ino, a.fh, sys.O_WRONLY, (fd) => {
      if (this.options.sealSize) this.sealCheckGrow(fd, a.offset + BigInt(a.data.length));
      // Writing as the writer (without CAP_FSETID unless it is root) makes the
      // host drop suid/sgid exactly as it would natively (the kernel's FUSE
      // rule for sgid is older and narrower). KILL_SUIDGID (killpriv_v2) asks
      // for the same.
      const st = this.files.get(a.fh);
      let n: number;
      if ((st !== undefined && st.setId) || a.writeFlags & FUSE_WRITE_KILL_SUIDGID) {
        // Pages the writeback cache sends later come without a caller (pid 0): they are the opener's.
        const who = ctx.pid === 0 && st?.opener ? ({ ...st.opener } as unknown as RequestContext) : ctx;
        n = this.asCaller(who, () => this.pwrite(st, fd, a));
      } else {
        n = this.pwrite(st, fd, a);
      }
      // Writeback cache: the kernel keeps size and times, but st_blocks (and
      // a mode the host changed) come from us: let it ask again.
      if (this.options.writeback) this.notifier?.invalInode(ino, -1n);
      return n;
    });
  }

  flush(_ctx: RequestContext, _ino: bigint, a: FlushIn): void {
    // Locks are the kernel's own (we do not negotiate POSIX_LOCKS): nothing to drop on the host.
    if (!this.options.noOpen) this.file(a.fh);
  }

  release(_ctx: RequestContext, _ino: bigint, a: ReleaseIn): void {
    const f = this.files.get(a.fh);
    if (f === undefined) return;
    this.files.delete(a.fh);
    this.closeFile(f);
  }

  fsync(_ctx: RequestContext, ino: bigint, a: FsyncIn): void {
    this.withFile(ino, a.fh, sys.O_RDONLY, (fd) => ok(a.fsyncFlags & FUSE_FSYNC_FDATASYNC ? sys.fdatasync(fd) : sys.fsync(fd)));
  }

  fallocate(_ctx: RequestContext, ino: bigint, a: FallocateIn): void {
    this.withFile(ino, a.fh, sys.O_WRONLY, (fd) => {
      if (this.options.sealSize) {
        if (a.mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) throw new FuseError(Errno.EPERM);
        if (!(a.mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))) this.sealCheckGrow(fd, a.offset + a.length);
      }
      ok(sys.fallocate(fd, a.mode, a.offset, a.length));
    });
  }

  lseek(_ctx: RequestContext, ino: bigint, a: LseekIn): bigint {
    // Writeback cache: data may still be in the kernel's dirty pages, which it
    // does not write back before LSEEK; our answer would call it a hole (and
    // cp --sparse would drop it). ENOSYS makes the kernel answer itself
    // (all data up to EOF): less precise, never wrong.
    if (this.options.writeback && (a.whence === sys.SEEK_DATA || a.whence === sys.SEEK_HOLE)) throw new FuseError(Errno.ENOSYS);
    return this.withFile(ino, a.fh, sys.O_RDONLY, (fd) => {
      const r = sys.lseek(fd, a.offset, a.whence);
      if (r < 0n) throw new FuseError(Number(-r));
      return r;
    });
  }

  copyFileRange(_ctx: RequestContext, ino: bigint, a: CopyFileRangeIn): number {
    // no_open: fh 0 on either side, served with temporary fds like read and write.
    return this.withFile(ino, a.fhIn, sys.O_RDONLY, (fin) => this.withFile(a.nodeidOut, a.fhOut, sys.O_WRONLY, (fout) => {
      if (this.options.sealSize) this.sealCheckGrow(fout, a.offOut + a.len);
      const len = a.len > 0x7fff_f000n ? 0x7fff_f000 : Number(a.len);
      return ok(sys.copy_file_range(fin, a.offIn, fout, a.offOut, len, Number(a.flags)));
    }));
  }

  statx(_ctx: RequestContext, ino: bigint, a: StatxIn): StatxReply {
    const i = this.inodes.get(ino);
    const f = a.getattrFlags & 1 ? this.files.get(a.fh) : undefined;
    const b = this.stx;
    ok(sys.statx(f ? f.fd : this.inodes.fdOf(i), '', EMPTY | (a.sxFlags & 0x6000), a.sxMask | STATX_MASK, b));
    const t = (off: number): { sec: bigint; nsec: number } => ({ sec: b.readBigInt64LE(off), nsec: b.readUInt32LE(off + 8) });
    const mode = b.readUInt16LE(28);
    return {
      attrTimeout: this.attrTimeoutFor(mode),
      mask: b.readUInt32LE(0) & ~sys.STATX_MNT_ID,
      blksize: b.readUInt32LE(4),
      attributes: b.readBigUInt64LE(8),
      nlink: b.readUInt32LE(16),
      uid: this.options.uidMap.toClient(b.readUInt32LE(20)),
      gid: this.options.gidMap.toClient(b.readUInt32LE(24)),
      mode,
      ino: i.nodeid,
      size: b.readBigUInt64LE(40),
      blocks: b.readBigUInt64LE(48),
      attributesMask: b.readBigUInt64LE(56),
      atime: t(64),
      btime: t(80),
      ctime: t(96),
      mtime: t(112),
      rdevMajor: b.readUInt32LE(128),
      rdevMinor: b.readUInt32LE(132),
      devMajor: 0,
      devMinor: 0,
    };
  }

  // ---- directories ----

  opendir(ctx: RequestContext, ino: bigint, _a: OpenIn): OpenReply {
    if (this.options.noOpendir) throw new FuseError(Errno.ENOSYS);
    const ifd = this.fdOf(ino);
    const fd = this.asCaller(ctx, () => ok(sys.openat(ifd, '.', sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC)));
    const fh = this.nextDirFh++;
    this.dirs.set(fh, new DirHandle(fd));
    const c = this.options.cache;
    const openFlags = c === 'metadata' || c === 'always' ? FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE : 0;
    return { fh, openFlags };
  }

  /** The handle of an open directory, or (no_opendir) a temporary one for this call. */
  private withDir<T>(ino: bigint, fh: bigint, f: (d: DirHandle) => T): T {
    const d = this.dirs.get(fh);
    if (d !== undefined) return f(d);
    if (!this.options.noOpendir) throw new FuseError(Errno.EBADF);
    const tmp = new DirHandle(ok(sys.openat(this.fdOf(ino), '.', sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC)));
    try {
      return f(tmp);
    } finally {
      tmp.close();
    }
  }

  readdir(_ctx: RequestContext, ino: bigint, a: ReadIn, out: DirBuffer): void {
    if (this.options.noReaddir) return;
    const parent = this.inodes.get(ino);
    this.withDir(ino, a.fh, (d) => {
      d.list(a.offset, (name, hostIno, type, next) => {
        return out.add(this.inodes.peekIno(parent.devKey, hostIno), name, type, next);
      });
    });
  }

  readdirplus(ctx: RequestContext, ino: bigint, a: ReadIn, out: DirBuffer): void {
    if (this.options.noReaddir) return;
    const parent = this.inodes.get(ino);
    const pfd = this.inodes.fdOf(parent);
    const uncached = this.guardSearch && !this.searchableByAll(pfd);
    this.withDir(ino, a.fh, (d) => {
      d.list(a.offset, (name, hostIno, type, next) => {
        if (!out.fits(name.length)) return false;
        if (isDotOrDotDot(name)) return out.addPlus(null, name, type, next, name.length === 1 ? parent.nodeid : this.inodes.peekIno(parent.devKey, hostIno));
        let found: { entry: Entry; inode: Inode };
        try {
          found = this.asCallerIf(ctx, () => this.lookupAt(pfd, name));
        } catch {
          // Gone since getdents, or unreadable: list it without attributes.
          return out.addPlus(null, name, type, next, this.inodes.peekIno(parent.devKey, hostIno));
        }
        if (uncached) found.entry = { ...found.entry, entryTimeout: 0 };
        if (!out.addPlus(found.entry, name, type, next)) {
          this.inodes.forget(found.inode.nodeid, 1n);
          return false;
        }
        return true;
      });
    });
  }

  private asCallerIf<T>(ctx: RequestContext, f: () => T): T {
    return this.options.defaultPermissions ? f() : this.asCaller(ctx, f);
  }

  releasedir(_ctx: RequestContext, _ino: bigint, a: ReleaseIn): void {
    const d = this.dirs.get(a.fh);
    if (d === undefined) return;
    this.dirs.delete(a.fh);
    d.close();
  }

  fsyncdir(_ctx: RequestContext, ino: bigint, a: FsyncIn): void {
    this.withDir(ino, a.fh, (d) => ok(a.fsyncFlags & FUSE_FSYNC_FDATASYNC ? sys.fdatasync(d.fd) : sys.fsync(d.fd)));
  }

  // ---- filesystem-wide ----

  statfs(_ctx: RequestContext, ino: bigint): StatfsReply {
    const b = Buffer.alloc(120);
    ok(sys.fstatfs(this.fdOf(ino), b));
    const s = sys.decodeStatfs(b);
    return {
      blocks: BigInt(s.blocks), bfree: BigInt(s.bfree), bavail: BigInt(s.bavail), files: BigInt(s.files),
      ffree: BigInt(s.ffree), bsize: Number(s.bsize), namelen: Number(s.namelen), frsize: Number(s.frsize),
    };
  }

  syncfs(): void {
    ok(sys.syncfs(this.rootFd));
  }

  access(ctx: RequestContext, ino: bigint, a: AccessIn): void {
    const fd = this.fdOf(ino);
    this.asCaller(ctx, () => ok(sys.faccessat2(fd, '', a.mask, sys.AT_EMPTY_PATH | sys.AT_EACCESS)));
  }

  // ---- extended attributes ----

  private xattrOn(): void {
    if (!this.options.xattr) throw new FuseError(Errno.ENOSYS);
  }

  // The xattr calls go through /proc/self/fd/N: the *xattrat syscalls refuse
  // O_PATH fds (EBADF, measured on 6.18), and the magic link resolves to
  // exactly the inode, a symlink itself included, never to its target.
  setxattr(ctx: RequestContext, ino: bigint, a: SetxattrIn): void {
    this.xattrOn();
    const p = `/proc/self/fd/${this.fdOf(ino)}`;
    const acl = isAclName(a.name);
    const value = this.mapsIds && acl ? this.mapAcl(a.value, 'toHost') : a.value;
    this.asCaller(ctx, () => ok(sys.setxattr(p, a.name, value, a.flags)));
    // An access ACL changes the mode's group bits on the host.
    if (acl) this.notifier?.invalInode(ino, -1n);
  }

  getxattr(ctx: RequestContext, ino: bigint, name: Buffer, size: number): Buffer | number {
    this.xattrOn();
    const fd = this.fdOf(ino);
    return this.asCaller(ctx, () => {
      if (size === 0) return ok(this.getxattrOf(fd, name, null, 0));
      // The reply is encoded before the next request is read: one scratch buffer serves all.
      const buf = size <= this.xattrBuf.length ? this.xattrBuf : Buffer.allocUnsafe(size);
      const v = buf.subarray(0, ok(this.getxattrOf(fd, name, buf, size)));
      return this.mapsIds && isAclName(name) ? this.mapAcl(v, 'toClient') : v;
    });
  }

  /**
   * getxattr of the inode behind the O_PATH fd `fd`, following its
   * /proc/self/fd magic link. getxattrat from an open /proc/self/fd directory
   * walks one path step where the absolute path walks four (~0.7 µs less
   * per call, measured); before Linux 6.13 (ENOSYS) the path form.
   */
  private getxattrOf(fd: number, name: Buffer, buf: Buffer | null, size: number): number {
    if (this.procFdDir >= 0) {
      const r = sys.getxattrat(this.procFdDir, String(fd), 0, name, buf, size);
      if (r !== -Errno.ENOSYS) return r;
      sys.close(this.procFdDir);
      this.procFdDir = -1;
    }
    return sys.getxattr(`/proc/self/fd/${fd}`, name, buf, size);
  }

  private get mapsIds(): boolean {
    return !this.options.uidMap.identityMap || !this.options.gidMap.identityMap;
  }

  /**
   * POSIX ACL xattrs carry uids and gids (user:/group: entries): they are
   * mapped like the owners (version u32, then entries of tag u16, perm u16, id u32).
   */
  private mapAcl(v: Buffer, dir: 'toHost' | 'toClient'): Buffer {
    if (v.length < 4 || (v.length - 4) % 8 !== 0) return v;
    const out = Buffer.from(v);
    for (let off = 4; off < out.length; off += 8) {
      const tag = out.readUInt16LE(off);
      if (tag === ACL_USER) out.writeUInt32LE(this.options.uidMap[dir](out.readUInt32LE(off + 4)) >>> 0, off + 4);
      else if (tag === ACL_GROUP) out.writeUInt32LE(this.options.gidMap[dir](out.readUInt32LE(off + 4)) >>> 0, off + 4);
    }
    return out;
  }

  listxattr(ctx: RequestContext, ino: bigint, size: number): Buffer | number {
    this.xattrOn();
    const p = `/proc/self/fd/${this.fdOf(ino)}`;
    return this.asCaller(ctx, () => {
      if (this.creds.enabled && this.options.uidMap.toHost(ctx.uid) !== 0) return this.listUnprivileged(p, size);
      if (size === 0) return ok(sys.listxattr(p, null, 0));
      const buf = Buffer.allocUnsafe(size);
      return buf.subarray(0, ok(sys.listxattr(p, buf, size)));
    });
  }

  /**
   * The host lists trusted.* names to the daemon (CAP_SYS_ADMIN survives the
   * fsuid switch); natively a user without it never sees them.
   */
  private listUnprivileged(p: string, size: number): Buffer | number {
    let full: Buffer;
    for (;;) {
      const n = ok(sys.listxattr(p, null, 0));
      full = Buffer.allocUnsafe(n);
      const r = n === 0 ? 0 : sys.listxattr(p, full, n);
      if (r === -Errno.ERANGE) continue;
      full = full.subarray(0, ok(r));
      break;
    }
    const names = sys.splitXattrList(full, full.length).filter((nm) => !nm.subarray(0, 8).equals(TRUSTED));
    const len = names.reduce((t, nm) => t + nm.length + 1, 0);
    if (size === 0) return len;
    if (len > size) throw new FuseError(Errno.ERANGE);
    return Buffer.concat(names.flatMap((nm) => [nm, NUL]), len);
  }

  removexattr(ctx: RequestContext, ino: bigint, name: Buffer): void {
    this.xattrOn();
    const p = `/proc/self/fd/${this.fdOf(ino)}`;
    this.asCaller(ctx, () => ok(sys.removexattr(p, name)));
    if (isAclName(name)) this.notifier?.invalInode(ino, -1n);
  }
}
