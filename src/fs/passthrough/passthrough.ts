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
import type {
  AccessIn, CopyFileRangeIn, CreateIn, FallocateIn, FlushIn, FsyncIn, LseekIn, MkdirIn, MknodIn, OpenIn, ReadIn,
  ReleaseIn, RenameIn, SetattrIn, SetxattrIn, StatxIn, WriteIn,
} from '../../protocol/requests.js';
import {
  FATTR_ATIME, FATTR_ATIME_NOW, FATTR_FH, FATTR_GID, FATTR_KILL_SUIDGID, FATTR_MODE, FATTR_MTIME, FATTR_MTIME_NOW,
  FATTR_SIZE, FATTR_UID, FOPEN_CACHE_DIR, FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_PASSTHROUGH,
  FUSE_DEV_IOC_BACKING_CLOSE, FUSE_DEV_IOC_BACKING_OPEN, FUSE_FSYNC_FDATASYNC, FUSE_WRITE_KILL_SUIDGID,
} from '../../protocol/kernel.js';
import { resolvePassthroughOptions } from './options.js';
import type { PassthroughOptions, ResolvedOptions } from './options.js';
import { InodeTable } from './inodes.js';
import type { Inode } from './inodes.js';
import { Credentials } from './creds.js';
import { DirHandle } from './dirhandle.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const NS = 1_000_000_000n;
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
}

function fail(ret: number): never {
  throw new FuseError(-ret);
}

function ok(ret: number): number {
  if (ret < 0) throw new FuseError(-ret);
  return ret;
}

/** Rejects names the kernel should never send: '/' inside, empty, too long. */
function checkName(name: Buffer): void {
  if (name.length === 0 || name.includes(0x2f)) throw new FuseError(Errno.EINVAL);
  if (name.length > 255) throw new FuseError(Errno.ENAMETOOLONG);
}

function isDotOrDotDot(name: Buffer): boolean {
  return name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e));
}

export class PassthroughFs implements Filesystem {
  readonly options: ResolvedOptions;
  readonly inodes: InodeTable;
  private readonly creds: Credentials;
  private readonly stx = Buffer.alloc(256);
  private readonly files = new Map<bigint, FileState>();
  private readonly dirs = new Map<bigint, DirHandle>();
  private nextDirFh = 1n;
  private readonly rootFd: number;
  private readonly rootMntId: bigint;
  private conn: ConnectionInfo | undefined;
  private passthroughBroken = false;
  private readonly linkBuf = Buffer.allocUnsafe(4096);

  constructor(options: PassthroughOptions) {
    this.options = resolvePassthroughOptions(options);
    const src = this.options.source;
    const fd = sys.open(src, sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
    if (fd < 0) {
      const why = -fd === Errno.ENOENT ? 'does not exist' : -fd === Errno.ENOTDIR ? 'is not a directory' : sys.errnoName(-fd);
      throw new FuseError(-fd, `source ${src} ${why}`);
    }
    this.rootFd = fd;
    ok(sys.statx(fd, '', EMPTY, STATX_MASK, this.stx));
    this.rootMntId = this.stx.readBigUInt64LE(144);
    // Live inodes must not be bounded by the fd limit: take the hard limit,
    // keep at most ~half as inode fds, reopen the rest from file handles.
    const lim = sys.raiseNofileLimit();
    const soft = typeof lim === 'number' ? 1024 : Number(lim.soft);
    const useHandles = this.handlesWork();
    const maxFds = useHandles ? Math.max(64, Math.floor(soft / 2)) : Number.MAX_SAFE_INTEGER;
    const devKey = this.devKey();
    this.inodes = new InodeTable(fd, { devKey, ino: this.stx.readBigUInt64LE(32), key: this.fileKey(devKey), type: S_IFDIR }, this.options.useHostIno, maxFds, useHandles);
    this.creds = new Credentials(this.options.uidMap, this.options.gidMap);
  }

  /** Whether inodes can be reopened from file handles here (needs CAP_DAC_READ_SEARCH). */
  private handlesWork(): boolean {
    const h = sys.name_to_handle_at(this.rootFd, '', sys.AT_EMPTY_PATH);
    if (typeof h === 'number') return false;
    const fd = sys.open_by_handle_at(this.rootFd, h, sys.O_PATH | sys.O_CLOEXEC);
    if (fd < 0) return false;
    sys.close(fd);
    return true;
  }

  /** (device, mount) of the file in the statx buffer. */
  private devKey(): string {
    const b = this.stx;
    return `${b.readUInt32LE(136)}:${b.readUInt32LE(140)}:${b.readBigUInt64LE(144)}`;
  }

  /** Identity of the file in the statx buffer: with the birth time, a reused inode number is a different file. */
  private fileKey(devKey: string): string {
    const b = this.stx;
    return `${devKey}:${b.readBigUInt64LE(32)}:${b.readBigInt64LE(80)}.${b.readUInt32LE(88)}`;
  }

  // ---- lifecycle ----

  init(conn: ConnectionInfo): void {
    this.conn = conn;
    const o = this.options;
    conn.request('ATOMIC_O_TRUNC');
    conn.request('WRITEBACK_CACHE', o.writeback);
    conn.request('HANDLE_KILLPRIV_V2', o.killprivV2);
    conn.request('CACHE_SYMLINKS', o.cache === 'always');
    conn.request('DONT_MASK', false);
    conn.request('SETXATTR_EXT', o.xattr);
    // FUSE_PASSTHROUGH needs CAP_SYS_ADMIN for the backing fds and cannot serve DIRECT_IO opens.
    const passthrough = o.passthrough && sys.geteuid() === 0 && o.cache !== 'never' && o.cache !== 'metadata' && !o.writeback;
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
    const attr = this.attr(this.inodes.stIno(i));
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
    let key = this.fileKey(this.devKey());
    let inode = this.inodes.findByKey(key);
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
    key = this.fileKey(devKey);
    inode = this.inodes.findByKey(key);
    if (inode !== undefined) {
      this.inodes.offerFd(inode, fd);
      inode.refs++;
      return { entry: this.entryFrom(inode), inode };
    }
    const sameMount = this.stx.readBigUInt64LE(144) === this.rootMntId;
    inode = this.inodes.add(fd, devKey, this.stx.readBigUInt64LE(32), key, this.stx.readUInt16LE(28) & S_IFMT, sameMount ? this.rootFd : -1);
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
      return this.asCaller(ctx, () => this.lookupAt(this.inodes.fdOf(p), '..')).entry;
    }
    checkName(name);
    const pfd = this.inodes.fdOf(p);
    return this.options.defaultPermissions ? this.lookupAt(pfd, name).entry : this.asCaller(ctx, () => this.lookupAt(pfd, name).entry);
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
    const attr = this.attr(this.inodes.stIno(i));
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
    this.asCaller(ctx, () => {
      if (v & FATTR_MODE) {
        ok(f ? sys.fchmod(f.fd, s.mode & 0o7777) : sys.fchmodat2(ifd, '', s.mode & 0o7777, sys.AT_EMPTY_PATH));
      }
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
      if (v & (FATTR_ATIME | FATTR_MTIME)) {
        const [as, an] = v & FATTR_ATIME ? (v & FATTR_ATIME_NOW ? [0n, sys.UTIME_NOW] : [s.atime, s.atimensec]) : [0n, sys.UTIME_OMIT];
        const [ms, mn] = v & FATTR_MTIME ? (v & FATTR_MTIME_NOW ? [0n, sys.UTIME_NOW] : [s.mtime, s.mtimensec]) : [0n, sys.UTIME_OMIT];
        ok(f ? sys.futimens(f.fd, as, an, ms, mn) : sys.utimensat(ifd, '', as, an, ms, mn, EMPTY));
      }
      if (v & FATTR_KILL_SUIDGID && !(v & FATTR_MODE)) this.killSuidSgid(f ? f.fd : ifd, !!f);
    });
    return this.getattr(ctx, ino, f ? s.fh : undefined);
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
    return this.lookupAt(pfd, name).entry;
  }

  mknod(ctx: RequestContext, parent: bigint, a: MknodIn): Entry {
    checkName(a.name);
    const pfd = this.fdOf(parent);
    const [maj, min] = sys.newDecodeDev(a.rdev);
    return this.asCaller(ctx, () => {
      ok(sys.mknodat(pfd, a.name, a.mode, sys.makedev(maj, min)));
      return this.created(pfd, a.name);
    });
  }

  mkdir(ctx: RequestContext, parent: bigint, a: MkdirIn): Entry {
    checkName(a.name);
    const pfd = this.fdOf(parent);
    return this.asCaller(ctx, () => {
      ok(sys.mkdirat(pfd, a.name, a.mode));
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

  private openFlags(flags: number): number {
    let f = flags & ~(sys.O_CREAT | sys.O_EXCL | sys.O_NOCTTY);
    if (this.options.writeback) {
      // The kernel reads pages of write-only files and owns the append position.
      if ((f & sys.O_ACCMODE) === sys.O_WRONLY) f = (f & ~sys.O_ACCMODE) | sys.O_RDWR;
      f &= ~sys.O_APPEND;
    }
    if (!this.options.allowDirectIo) f &= ~sys.O_DIRECT;
    return f | sys.O_CLOEXEC;
  }

  private fileReply(fd: number, isReg: boolean): OpenReply {
    const o = this.options;
    let openFlags = o.cache === 'never' || o.cache === 'metadata' ? FOPEN_DIRECT_IO : o.cache === 'always' ? FOPEN_KEEP_CACHE : 0;
    let backingId = 0;
    if (isReg && this.conn?.has('PASSTHROUGH') && !this.passthroughBroken && !(openFlags & FOPEN_DIRECT_IO)) {
      const map = Buffer.alloc(16);
      map.writeInt32LE(fd, 0);
      const id = sys.ioctl(this.conn.devFd, FUSE_DEV_IOC_BACKING_OPEN, map);
      if (id > 0) {
        backingId = id;
        openFlags |= FOPEN_PASSTHROUGH;
        openFlags &= ~FOPEN_KEEP_CACHE;
      } else {
        this.passthroughBroken = true;
        process.emitWarning(`kernel passthrough unavailable (${sys.errnoName(-id)}): serving file data through the daemon`);
      }
    }
    const fh = BigInt(fd);
    this.files.set(fh, { fd, backingId });
    return { fh, openFlags, backingId };
  }

  private closeFile(f: FileState): void {
    if (f.backingId > 0 && this.conn) {
      const id = Buffer.alloc(4);
      id.writeUInt32LE(f.backingId, 0);
      sys.ioctl(this.conn.devFd, FUSE_DEV_IOC_BACKING_CLOSE, id);
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
    const fd = this.asCaller(ctx, () => ok(sys.open(`/proc/self/fd/${ifd}`, flags)));
    return this.fileReply(fd, i.type === S_IFREG);
  }

  create(ctx: RequestContext, parent: bigint, a: CreateIn): CreateReply {
    checkName(a.name);
    const pfd = this.fdOf(parent);
    return this.asCaller(ctx, () => {
      const fd = ok(sys.openat(pfd, a.name, this.openFlags(a.flags) | sys.O_CREAT | sys.O_NOFOLLOW, a.mode & 0o7777));
      let entry: Entry;
      try {
        entry = this.created(pfd, a.name);
      } catch (e) {
        sys.close(fd);
        throw e;
      }
      return { entry, open: this.fileReply(fd, true) };
    });
  }

  tmpfile(ctx: RequestContext, parent: bigint, a: CreateIn): CreateReply {
    const pfd = this.fdOf(parent);
    return this.asCaller(ctx, () => {
      const flags = (this.openFlags(a.flags) & ~sys.O_DIRECTORY) | sys.O_TMPFILE;
      const fd = ok(sys.openat(pfd, '.', flags, a.mode & 0o7777));
      const pathFd = sys.open(`/proc/self/fd/${fd}`, sys.O_PATH | sys.O_CLOEXEC);
      if (pathFd < 0) {
        sys.close(fd);
        fail(pathFd);
      }
      ok(sys.statx(pathFd, '', EMPTY, STATX_MASK, this.stx));
      const sameMount = this.stx.readBigUInt64LE(144) === this.rootMntId;
      const devKey = this.devKey();
      const inode = this.inodes.add(pathFd, devKey, this.stx.readBigUInt64LE(32), this.fileKey(devKey), S_IFREG, sameMount ? this.rootFd : -1);
      return { entry: this.entryFrom(inode), open: this.fileReply(fd, true) };
    });
  }

  read(_ctx: RequestContext, ino: bigint, a: ReadIn, out: Buffer): number {
    return this.withFile(ino, a.fh, sys.O_RDONLY, (fd) => ok(sys.pread(fd, out, a.size, a.offset)));
  }

  write(_ctx: RequestContext, ino: bigint, a: WriteIn): number {
    return this.withFile(ino, a.fh, sys.O_WRONLY, (fd) => {
      if (this.options.sealSize) this.sealCheckGrow(fd, a.offset + BigInt(a.data.length));
      if (a.writeFlags & FUSE_WRITE_KILL_SUIDGID) this.killSuidSgid(fd, true);
      return ok(sys.pwrite(fd, a.data, a.data.length, a.offset));
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
    return this.withFile(ino, a.fh, sys.O_RDONLY, (fd) => {
      const r = sys.lseek(fd, a.offset, a.whence);
      if (r < 0n) throw new FuseError(Number(-r));
      return r;
    });
  }

  copyFileRange(_ctx: RequestContext, _ino: bigint, a: CopyFileRangeIn): number {
    const fin = this.file(a.fhIn);
    const fout = this.file(a.fhOut);
    if (this.options.sealSize) this.sealCheckGrow(fout.fd, a.offOut + a.len);
    const len = a.len > 0x7fff_f000n ? 0x7fff_f000 : Number(a.len);
    return ok(sys.copy_file_range(fin.fd, a.offIn, fout.fd, a.offOut, len, Number(a.flags)));
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
      ino: this.inodes.stIno(i),
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
        const known = this.inodes.findByHostIno(parent.devKey, hostIno);
        return out.add(known ? this.inodes.stIno(known) : hostIno, name, type, next);
      });
    });
  }

  readdirplus(ctx: RequestContext, ino: bigint, a: ReadIn, out: DirBuffer): void {
    if (this.options.noReaddir) return;
    const parent = this.inodes.get(ino);
    const pfd = this.inodes.fdOf(parent);
    this.withDir(ino, a.fh, (d) => {
      d.list(a.offset, (name, hostIno, type, next) => {
        if (!out.fits(name.length)) return false;
        if (isDotOrDotDot(name)) return out.addPlus(null, name, type, next, name.length === 1 ? this.inodes.stIno(parent) : hostIno);
        let found: { entry: Entry; inode: Inode };
        try {
          found = this.asCallerIf(ctx, () => this.lookupAt(pfd, name));
        } catch {
          // Gone since getdents, or unreadable: list it without attributes.
          return out.addPlus(null, name, type, next, hostIno);
        }
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

  setxattr(ctx: RequestContext, ino: bigint, a: SetxattrIn): void {
    this.xattrOn();
    const fd = this.fdOf(ino);
    this.asCaller(ctx, () => ok(sys.setxattrat(fd, '', EMPTY, a.name, a.value, a.flags)));
  }

  getxattr(ctx: RequestContext, ino: bigint, name: Buffer, size: number): Buffer | number {
    this.xattrOn();
    const fd = this.fdOf(ino);
    return this.asCaller(ctx, () => {
      if (size === 0) return ok(sys.getxattrat(fd, '', EMPTY, name, null, 0));
      const buf = Buffer.allocUnsafe(size);
      return buf.subarray(0, ok(sys.getxattrat(fd, '', EMPTY, name, buf, size)));
    });
  }

  listxattr(ctx: RequestContext, ino: bigint, size: number): Buffer | number {
    this.xattrOn();
    const fd = this.fdOf(ino);
    return this.asCaller(ctx, () => {
      if (size === 0) return ok(sys.listxattrat(fd, '', EMPTY, null, 0));
      const buf = Buffer.allocUnsafe(size);
      return buf.subarray(0, ok(sys.listxattrat(fd, '', EMPTY, buf, size)));
    });
  }

  removexattr(ctx: RequestContext, ino: bigint, name: Buffer): void {
    this.xattrOn();
    const fd = this.fdOf(ino);
    this.asCaller(ctx, () => ok(sys.removexattrat(fd, '', EMPTY, name)));
  }
}
