// The passthrough filesystem: serves a host directory through FUSE with the
// host's own syscalls. Every operation works on fds (*at calls on directory
// fds, O_PATH fds, AT_EMPTY_PATH), never on paths from the root, and never
// follows a symlink on the host side, so nothing outside the source can be
// reached. Host errnos pass through unchanged. This file keeps names,
// inodes, attributes and directory listings, and hands the rest to parts it
// owns: open files and their data (file-io.ts), open directories
// (dir-io.ts), SETATTR (setattr.ts), extended attributes and POSIX ACLs
// (xattr.ts), and reading a host file's attributes (stat-buffer.ts).

import * as sys from '../../sys/index.js';
import { FuseError, Errno } from '../../session/errors.js';
import type {
  AttrReply, CreateReply, Entry, Filesystem, OpenReply, RequestContext, StatfsReply, StatxReply,
} from '../../session/filesystem.js';
import type { ConnectionInfo } from '../../session/connection.js';
import type { DirBuffer } from '../../session/dirbuf.js';
import type { Notifier } from '../../session/notify.js';
import type {
  AccessIn, CopyFileRangeIn, CreateIn, FallocateIn, FlushIn, FsyncIn, LseekIn, MkdirIn, MknodIn, OpenIn, ReadIn,
  ReleaseIn, RenameIn, SetattrIn, SetxattrIn, StatxIn, WriteIn,
} from '../../protocol/requests.js';
import { resolvePassthroughOptions } from './options.js';
import type { PassthroughOptions, ResolvedOptions } from './options.js';
import { InodeTable } from './inode-table.js';
import { OPS } from '../../protocol/opcodes.js';
import type { Inode } from './inode.js';
import { Credentials } from './creds.js';
import { DirIo } from './dir-io.js';
import { FileIo } from './file-io.js';
import { Xattrs } from './xattr.js';
import { AttrSetter } from './setattr.js';
import { EMPTY, S_IFDIR, S_IFMT, S_IFREG, STATX_MASK, fail, failure, identityOf, isBelow, ok } from './host.js';
import { isMainThread } from 'node:worker_threads';
import { collectGarbage } from '../../session/memory.js';
import { ProcFdDir } from './procfd.js';
import { StatBuffer } from './stat-buffer.js';
import type { FileData, FileWrite, NegativeEntry } from '../../session/filesystem.js';
import { FileClose, FileTruncate } from '../../session/filesystem.js';
import type { FileAllocate, FileSync } from '../../session/filesystem.js';

/** How long idle() keeps the event loop running after a collection (V8 releases pages from its tasks). */
const SETTLE_MS = 3000;
/** The Filesystem methods the kernel's requests call. */
const OP_METHODS = [...new Set(OPS.flatMap((o) => (o?.method ? [o.method] : [])))];

/** A name looked up in a directory: its entry (one more lookup counted) and inode. */
interface Found {
  entry: Entry;
  inode: Inode;
}

const LOOKUP_FLAGS = sys.AT_SYMLINK_NOFOLLOW | sys.AT_NO_AUTOMOUNT;

/** Rejects names the kernel should never send: '/' inside, empty, "." or "..", too long. */
function checkName(name: Buffer): void {
  // "." and ".." never name an entry to create, remove or rename (the kernel
  // never sends them; a forged request with ".." would reach above the source).
  if (name.length === 0 || name.includes(0x2f) || isDotOrDotDot(name)) throw new FuseError(Errno.EINVAL);
  if (name.length > 255) throw new FuseError(Errno.ENAMETOOLONG);
}

function isDotOrDotDot(name: Buffer): boolean {
  return isDotOrDotDotAt(name, 0, name.length);
}

/** Whether the `len` bytes at buf[at] are "." or "..". */
function isDotOrDotDotAt(buf: Uint8Array, at: number, len: number): boolean {
  return buf[at] === 0x2e && (len === 1 || (len === 2 && buf[at + 1] === 0x2e));
}

export class PassthroughFs implements Filesystem {
  readonly options: ResolvedOptions;
  readonly inodes: InodeTable;
  private readonly creds: Credentials;
  /** The statx buffer every lookup and getattr reads into. */
  private readonly st: StatBuffer;
  /** Open files and their I/O. */
  private readonly fileIo: FileIo;
  /** Extended attributes and POSIX ACLs. */
  private readonly xattrs: Xattrs;
  private readonly proc = new ProcFdDir();
  /** chmod, chown, truncate and utimes. */
  private readonly attrSetter: AttrSetter;
  /** Open directories. */
  private readonly dirIo: DirIo;
  private readonly rootFd: number;
  /** A plain (not O_PATH) fd on the source: open_by_handle_at refuses O_PATH mount fds. */
  private readonly mountFd: number;
  private readonly rootMntId: bigint;
  private conn: ConnectionInfo | undefined;
  /** This thread has its own umask (unshare CLONE_FS): creations apply the caller's umask, default ACLs win. */
  private readonly threadUmask: boolean;
  /** idle(): until when the event loop runs after a collection (0: none pending). */
  private settleUntil = 0;
  /** The session thread's umask now (with threadUmask). */
  private umaskNow = 0;
  private readonly linkBuf = Buffer.allocUnsafe(4096);
  /** Filled by the inode table's forget (see there), taken by takeLateCloses. */
  private lateCloses: number[] = [];
  private readonly pstx = Buffer.alloc(256);
  /**
   * Without default_permissions nobody but us checks search permission, and
   * the kernel asks us nothing about a name it has cached: a name under a
   * directory that not everyone may search is therefore never cached, so
   * each use comes back to us as the caller. Only needed when a caller can
   * be someone other than the daemon's root: users other than the mount's
   * owner (root) come in only with allow_other, and root itself is served
   * as root unless the id mapping makes it someone else. Known at INIT;
   * until then assumed needed.
   */
  private guardSearch: boolean;

  constructor(options: PassthroughOptions) {
    this.options = resolvePassthroughOptions(options);
    const src = this.options.source;
    const fd = sys.open(src, sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
    if (fd < 0) {
      const why = -fd === Errno.ENOENT ? 'does not exist' : -fd === Errno.ENOTDIR ? 'is not a directory' : sys.errnoName(-fd);
      throw new FuseError(-fd, `source ${src} ${why}`);
    }
    this.rootFd = fd;
    this.mountFd = sys.open(src, sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
    const st = (this.st = new StatBuffer(this.options.uidMap, this.options.gidMap));
    ok(st.read(fd, '', EMPTY));
    this.rootMntId = st.mntId();
    // Live inodes must not be bounded by the fd limit: take the hard limit
    // and reopen inodes from file handles beyond a budget a little under it,
    // which the fds of open files share (they push inode fds out). The rest
    // is left to the runtime and the session (pipes, /proc reads). Without
    // handles (non-root) inodes are reopened by name instead, and the budget
    // is where new fds are refused (EMFILE to the client), so the rest stays free.
    const lim = sys.raiseNofileLimit();
    const soft = typeof lim === 'number' ? 1024 : Number(lim.soft);
    const useHandles = this.options.fileHandles && this.handlesWork();
    const reserve = Math.min(1024, Math.max(64, Math.floor(soft / 8)));
    const maxFds = Math.min(this.options.fdBudget, Math.max(64, soft - reserve));
    const devKey = st.devKey();
    // Without handles, an inode reopened by name must still be the same file;
    // one the kernel has open is reopened through that open file instead.
    const reopenOpen = (ino: bigint): number => {
      const open = this.openFdOf(ino);
      return open === undefined ? -Errno.ENOENT : this.proc.reopen(open, sys.O_PATH | sys.O_CLOEXEC);
    };
    this.inodes = new InodeTable(fd, { devKey, ino: st.hostIno(), btimeSec: st.btimeSec(), btimeNsec: st.btimeNsec(), type: S_IFDIR }, this.options.useHostIno, maxFds, useHandles, this.mountFd, identityOf, reopenOpen);
    this.creds = new Credentials(this.options.uidMap, this.options.gidMap);
    this.fileIo = new FileIo(this.options, this.inodes, this.creds, this.proc);
    this.dirIo = new DirIo(this.options, this.inodes, this.creds, this.st);
    this.xattrs = new Xattrs(this.options, this.inodes, this.creds, this.proc, (ino) => this.openFdOf(ino));
    this.attrSetter = new AttrSetter(this.options, this.inodes, this.creds, this.fileIo, this.proc);
    const o = this.options;
    this.inodes.setCacheWindow(Math.min(o.entryTimeout, o.attrTimeout, o.dirEntryTimeout, o.dirAttrTimeout));
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
      // Fixed parameters, not ...rest with apply: no array per request.
      const g = f as (...x: unknown[]) => unknown;
      if (g.length > 7) throw new Error(`PassthroughFs.${name} takes more than 7 parameters`);
      self[name] = function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, h: unknown, i: unknown): unknown {
        table.beginOp();
        return g.call(this, a, b, c, d, e, h, i);
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

  /** An fd (not O_PATH) the kernel has open on inode `ino`: one of its open files' or directories', if any. */
  private openFdOf(ino: bigint): number | undefined {
    return this.fileIo.openFdOf(ino) ?? this.dirIo.openFdOf(ino);
  }

  /** The known inode for the file in the statx buffer, if any. */
  private known(devKey: string): Inode | undefined {
    const st = this.st;
    return this.inodes.find(devKey, st.hostIno(), st.btimeSec(), st.btimeNsec());
  }

  /**
   * The known inode `name` in directory `pfd` reaches now, where inodes are
   * reopened by name (else undefined, without a system call): a removal or
   * rename must then keep or move what the table reopens it by.
   */
  private reachedBy(pfd: number, name: Buffer): Inode | undefined {
    if (!this.inodes.namesTracked) return undefined;
    if (this.st.read(pfd, name, LOOKUP_FLAGS) < 0) return undefined;
    return this.known(this.st.devKey());
  }

  /**
   * Adds the file in the statx buffer (fd: its O_PATH fd) to the table, with
   * the parent and name it was found by where it is to be reopened by name.
   */
  private addInode(fd: number, devKey: string, type: number, parent?: Inode, name?: Buffer): Inode {
    const st = this.st;
    const sameMount = st.mntId() === this.rootMntId;
    const byName = this.inodes.wantsName(sameMount);
    return this.inodes.add(fd, devKey, st.hostIno(), st.btimeSec(), st.btimeNsec(), type, sameMount, byName ? parent : undefined, byName ? name : undefined);
  }

  // ---- lifecycle ----

  init(conn: ConnectionInfo, notifier?: Notifier): void {
    this.conn = conn;
    this.fileIo.init(conn, notifier);
    this.xattrs.init(notifier);
    const o = this.options;
    this.guardSearch &&= conn.othersMayAccess || o.uidMap.toHost(0) !== 0 || o.gidMap.toHost(0) !== 0;
    // Not with no_open: the kernel then sends no OPEN, and with ATOMIC_O_TRUNC
    // it would leave O_TRUNC to that OPEN, so the file would never be truncated.
    conn.request('ATOMIC_O_TRUNC', !o.noOpen);
    conn.request('WRITEBACK_CACHE', o.writeback);
    conn.request('AUTO_INVAL_DATA', o.autoInvalData);
    conn.request('HANDLE_KILLPRIV_V2', o.killprivV2);
    conn.request('CACHE_SYMLINKS', o.cache === 'always');
    conn.request('DO_READDIRPLUS', o.readdirplus !== 'never');
    conn.request('READDIRPLUS_AUTO', o.readdirplus === 'auto');
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
    conn.request('DIRECT_IO_ALLOW_MMAP', true);
    conn.request('PASSTHROUGH', passthrough);
    if (passthrough) conn.maxStackDepth = 1;
  }

  destroy(): void {
    this.fileIo.closeAll();
    this.dirIo.closeAll();
    this.inodes.clear();
    sys.close(this.rootFd);
    if (this.mountFd >= 0) sys.close(this.mountFd);
    this.proc.close();
  }

  /**
   * Memory back after the kernel forgot many inodes, or the table grew: its dropped buffers are
   * freed by a full collection; V8 then returns its emptied pages from tasks
   * on this thread's event loop, so the session keeps that loop running for
   * SETTLE_MS (idle() true); finally malloc_trim returns the freed heap.
   */
  idle(): boolean {
    const now = performance.now();
    if (this.inodes.buffersDropped > 0) {
      this.inodes.buffersDropped = 0;
      if (collectGarbage()) this.settleUntil = now + SETTLE_MS;
    }
    if (now < this.settleUntil) return true;
    if (this.settleUntil > 0) {
      this.settleUntil = 0;
      sys.mallocTrim();
    }
    return false;
  }

  // ---- helpers ----

  private asCaller<T>(ctx: RequestContext, f: () => T): T {
    return this.creds.asCaller(ctx, f);
  }

  private isDirMode(mode: number): boolean {
    return (mode & S_IFMT) === S_IFDIR;
  }

  private attrTimeoutFor(mode: number): number {
    return this.isDirMode(mode) ? this.options.dirAttrTimeout : this.options.attrTimeout;
  }

  private entryFrom(i: Inode): Entry {
    const attr = this.st.attr(i.stIno);
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
   * more lookup counted, or the host's -errno (returned, not thrown: a
   * missing name is routine). The statx by name is all a known file costs;
   * with `mayBeKnown` false (a name just created, a directory entry whose
   * inode number the table lacks) that probe is skipped.
   */
  private lookupAt(parent: Inode | null, pfd: number, name: Buffer | string, mayBeKnown = true): Found | number {
    let inode: Inode | undefined;
    // Inodes no file handle can reopen are reopened by the name they were last found by.
    const named = parent !== null && typeof name !== 'string';
    if (mayBeKnown) {
      const r = this.st.read(pfd, name, LOOKUP_FLAGS);
      if (r < 0) return r;
      inode = this.known(this.st.devKey());
      if (inode !== undefined) {
        if (named) this.inodes.nameSeen(inode, parent, name);
        inode.refs++;
        return { entry: this.entryFrom(inode), inode };
      }
    }
    const fd = this.inodes.retryFd(() => sys.openat(pfd, name, sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC));
    if (fd < 0) return fd;
    // Stat the fd we hold: the name may have been replaced since the statx.
    const r = this.st.read(fd, '', EMPTY);
    if (r < 0) {
      sys.close(fd);
      return r;
    }
    const devKey = this.st.devKey();
    inode = this.known(devKey);
    if (inode !== undefined) {
      this.inodes.offerFd(inode, fd);
      if (named) this.inodes.nameSeen(inode, parent, name);
      inode.refs++;
      return { entry: this.entryFrom(inode), inode };
    }
    inode = this.addInode(fd, devKey, this.st.type, named ? parent : undefined, named ? name : undefined);
    return { entry: this.entryFrom(inode), inode };
  }

  /** lookupAt's entry, its failure thrown. */
  private lookupOk(parent: Inode | null, pfd: number, name: Buffer | string, mayBeKnown = true): Found {
    const r = this.lookupAt(parent, pfd, name, mayBeKnown);
    if (typeof r === 'number') fail(r);
    return r;
  }

  private statInode(i: Inode): void {
    ok(this.st.read(this.inodes.fdOf(i), '', EMPTY));
  }

  // ---- names ----

  lookup(ctx: RequestContext, parent: bigint, name: Buffer): Entry | NegativeEntry | FuseError {
    const p = this.inodes.get(parent);
    if (isDotOrDotDot(name)) {
      // Only sent with export support: '.' is the directory, '..' its parent, and never above the root.
      if (name.length === 1 || p === this.inodes.root) return this.refEntry(p);
      const up = this.asCaller(ctx, () => this.lookupOk(null, this.inodes.fdOf(p), '..'));
      if (!this.insideSource(up.inode)) {
        // The host moved the directory out of the source: its parent is not ours to show.
        this.inodes.forget(up.inode.nodeid, 1n);
        throw new FuseError(Errno.ENOENT);
      }
      return up.entry;
    }
    checkName(name);
    const pfd = this.inodes.fdOf(p);
    const r = this.asCallerIf(ctx, () => this.lookupAt(p, pfd, name));
    if (typeof r === 'number') {
      // negative_timeout: the kernel may remember the name's absence, unless
      // the search guard must see every walk through this directory.
      const neg = this.options.negativeTimeout;
      if (neg > 0 && r === -Errno.ENOENT && (!this.guardSearch || this.searchableByAll(pfd))) {
        return { negative: true, entryTimeout: neg };
      }
      return failure(r);
    }
    const e = this.guarded(r.entry, pfd);
    if (e.entryTimeout > 0) this.sentEntry(r.inode);
    return e;
  }

  /**
   * The kernel is given `i`'s entry, to keep for the timeouts: a listing
   * may then leave its attributes out (inodes.listed). Not while it is
   * open: writes and reads make the kernel drop what it has.
   */
  private sentEntry(i: Inode): void {
    if (this.inodes.marksFresh && this.fileIo.openFdOf(i.nodeid) === undefined) this.inodes.markFresh(i);
  }

  /** Whether the directory `i` is the source or below it, walking '..' on the host. */
  private insideSource(i: Inode): boolean {
    const root = this.inodes.root;
    return i === root || isBelow(this.inodes.fdOf(i), `${root.devKey}:${root.hostIno}`);
  }

  private refEntry(i: Inode): Entry {
    this.statInode(i);
    i.refs++;
    return this.entryFrom(i);
  }

  forget(_ctx: RequestContext, ino: bigint, nlookup: bigint): void | FileClose {
    this.inodes.forget(ino, nlookup, this.lateCloses);
    return this.takeLateCloses();
  }

  batchForget(_ctx: RequestContext, items: { nodeid: bigint; nlookup: bigint }[]): void | FileClose {
    for (const f of items) this.inodes.forget(f.nodeid, f.nlookup, this.lateCloses);
    return this.takeLateCloses();
  }

  /** The fds of removed big files the table let go of, for the session to close off its thread. */
  private takeLateCloses(): FileClose | undefined {
    if (this.lateCloses.length === 0) return undefined;
    const c = new FileClose(this.lateCloses);
    this.lateCloses = [];
    return c;
  }

  // ---- attributes ----

  getattr(_ctx: RequestContext, ino: bigint, fh: bigint | undefined): AttrReply {
    const i = this.inodes.get(ino);
    const f = fh !== undefined ? this.fileIo.handle(fh) : undefined;
    ok(this.st.read(f ? f.fd : this.inodes.fdOf(i), '', EMPTY));
    const attr = this.st.attr(i.stIno);
    return { attr, attrTimeout: this.attrTimeoutFor(attr.mode) };
  }

  setattr(ctx: RequestContext, ino: bigint, s: SetattrIn): AttrReply | FileTruncate<AttrReply> {
    const later = this.attrSetter.truncateLater(ino, s);
    if (later !== undefined) {
      return new FileTruncate(later.fd, s.size, () => {
        if (later.setId) this.fileIo.dropSetIdAsCaller(ctx, later.fd, s.size);
        return this.getattr(ctx, ino, s.fh);
      });
    }
    return this.getattr(ctx, ino, this.attrSetter.apply(ctx, ino, s));
  }

  readlink(_ctx: RequestContext, ino: bigint): Buffer {
    const n = ok(sys.readlinkat(this.inodes.fdOfId(ino), '', this.linkBuf));
    return Buffer.from(this.linkBuf.subarray(0, n));
  }

  // ---- creating and removing names ----

  /** The entry of a name this request has just made: usually a new inode, so no statx probe first. */
  private created(parent: Inode, pfd: number, name: Buffer): Entry {
    return this.guarded(this.lookupOk(parent, pfd, name, false).entry, pfd);
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
    const p = this.inodes.get(parent);
    const pfd = this.inodes.fdOf(p);
    const [maj, min] = sys.newDecodeDev(a.rdev);
    return this.asCaller(ctx, () => {
      this.withUmask(a.umask, () => ok(sys.mknodat(pfd, a.name, a.mode, sys.makedev(maj, min))));
      return this.created(p, pfd, a.name);
    });
  }

  mkdir(ctx: RequestContext, parent: bigint, a: MkdirIn): Entry {
    checkName(a.name);
    const p = this.inodes.get(parent);
    const pfd = this.inodes.fdOf(p);
    return this.asCaller(ctx, () => {
      this.withUmask(a.umask, () => ok(sys.mkdirat(pfd, a.name, a.mode)));
      return this.created(p, pfd, a.name);
    });
  }

  symlink(ctx: RequestContext, parent: bigint, name: Buffer, target: Buffer): Entry {
    checkName(name);
    const p = this.inodes.get(parent);
    const pfd = this.inodes.fdOf(p);
    return this.asCaller(ctx, () => {
      ok(sys.symlinkat(target, pfd, name));
      return this.created(p, pfd, name);
    });
  }

  unlink(ctx: RequestContext, parent: bigint, name: Buffer): void {
    this.removeName(ctx, parent, name, 0);
  }

  rmdir(ctx: RequestContext, parent: bigint, name: Buffer): void {
    this.removeName(ctx, parent, name, sys.AT_REMOVEDIR);
  }

  private removeName(ctx: RequestContext, parent: bigint, name: Buffer, flags: number): void {
    checkName(name);
    const p = this.inodes.get(parent);
    const pfd = this.inodes.fdOf(p);
    // Without file handles: the inode it names may live on (open, or a hard
    // link) and can then not be reopened by this name; its fd stays open.
    const gone = this.reachedBy(pfd, name);
    if (gone !== undefined) this.inodes.keepOpen(gone);
    this.asCaller(ctx, () => ok(sys.unlinkat(pfd, name, flags)));
    if (gone !== undefined) this.inodes.unname(gone, p, name);
  }

  rename(ctx: RequestContext, parent: bigint, a: RenameIn): void {
    checkName(a.oldname);
    checkName(a.newname);
    const fromDir = this.inodes.get(parent);
    const toDir = this.inodes.get(a.newdir);
    const from = this.inodes.fdOf(fromDir);
    const to = this.inodes.fdOf(toDir);
    // Without file handles, the names the table reopens inodes by follow the rename.
    const moved = this.reachedBy(from, a.oldname);
    const exchange = (a.flags & sys.RENAME_EXCHANGE) !== 0;
    const target = this.reachedBy(to, a.newname);
    if (target !== undefined && !exchange) this.inodes.keepOpen(target);
    this.asCaller(ctx, () => ok(sys.renameat2(from, a.oldname, to, a.newname, a.flags)));
    if (target !== undefined && target.nodeid !== moved?.nodeid) {
      if (exchange) this.inodes.renamed(target, fromDir, a.oldname);
      else this.inodes.unname(target, toDir, a.newname);
    }
    if (moved !== undefined) this.inodes.renamed(moved, toDir, a.newname);
  }

  link(ctx: RequestContext, ino: bigint, newparent: bigint, newname: Buffer): Entry {
    checkName(newname);
    const fd = this.inodes.fdOfId(ino);
    const p = this.inodes.get(newparent);
    const pfd = this.inodes.fdOf(p);
    return this.asCaller(ctx, () => {
      // Through /proc: linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH, which the caller may lack.
      ok(sys.linkat(sys.AT_FDCWD, `/proc/self/fd/${fd}`, pfd, newname, sys.AT_SYMLINK_FOLLOW));
      // The new name is a known inode's: the statx probe finds it.
      return this.guarded(this.lookupOk(p, pfd, newname).entry, pfd);
    });
  }

  // ---- files ----

  open(ctx: RequestContext, ino: bigint, a: OpenIn): OpenReply | FileTruncate<OpenReply> {
    this.inodes.markStale(ino);
    return this.fileIo.open(ctx, ino, a);
  }

  create(ctx: RequestContext, parent: bigint, a: CreateIn): CreateReply {
    checkName(a.name);
    const p = this.inodes.get(parent);
    const pfd = this.inodes.fdOf(p);
    const { fd, entry } = this.asCaller(ctx, () => {
      // EMFILE is checked before the name is looked at: a retry creates nothing twice.
      const flags = this.fileIo.openFlags(a.flags) | sys.O_CREAT | sys.O_NOFOLLOW;
      const fd = this.withUmask(a.umask, () => ok(this.inodes.retryFd(() => sys.openat(pfd, a.name, flags, a.mode & 0o7777))));
      try {
        return { fd, entry: this.created(p, pfd, a.name) };
      } catch (e) {
        sys.close(fd);
        throw e;
      }
    });
    // An existing file (O_CREAT without O_EXCL) is now open: what the kernel has of it may go stale.
    this.inodes.markStale(entry.nodeid);
    return { entry, open: this.fileIo.createdReply(fd, entry.nodeid, a.flags, ctx, entry.attr.mode) };
  }

  tmpfile(ctx: RequestContext, parent: bigint, a: CreateIn): CreateReply {
    const pfd = this.inodes.fdOfId(parent);
    const { fd, entry } = this.asCaller(ctx, () => {
      const flags = (this.fileIo.openFlags(a.flags) & ~sys.O_DIRECTORY) | sys.O_TMPFILE;
      const fd = this.withUmask(a.umask, () => ok(this.inodes.retryFd(() => sys.openat(pfd, '.', flags, a.mode & 0o7777))));
      const pathFd = this.inodes.retryFd(() => this.proc.reopen(fd, sys.O_PATH | sys.O_CLOEXEC));
      if (pathFd < 0) {
        sys.close(fd);
        fail(pathFd);
      }
      ok(this.st.read(pathFd, '', EMPTY));
      const inode = this.addInode(pathFd, this.st.devKey(), S_IFREG);
      return { fd, entry: this.entryFrom(inode) };
    });
    return { entry, open: this.fileIo.createdReply(fd, entry.nodeid, a.flags, ctx, entry.attr.mode) };
  }

  read(ctx: RequestContext, ino: bigint, a: ReadIn, out: Buffer): number | FileData {
    return this.fileIo.read(ctx, ino, a, out);
  }

  write(ctx: RequestContext, ino: bigint, a: WriteIn): number | FileWrite {
    return this.fileIo.write(ctx, ino, a);
  }

  flush(ctx: RequestContext, ino: bigint, a: FlushIn): void {
    this.fileIo.flush(ctx, ino, a);
  }

  release(ctx: RequestContext, ino: bigint, a: ReleaseIn): void | FileClose {
    return this.fileIo.release(ctx, ino, a);
  }

  fsync(ctx: RequestContext, ino: bigint, a: FsyncIn): FileSync {
    return this.fileIo.fsync(ctx, ino, a);
  }

  fallocate(ctx: RequestContext, ino: bigint, a: FallocateIn): void | FileAllocate {
    return this.fileIo.fallocate(ctx, ino, a);
  }

  lseek(ctx: RequestContext, ino: bigint, a: LseekIn): bigint {
    return this.fileIo.lseek(ctx, ino, a);
  }

  copyFileRange(ctx: RequestContext, ino: bigint, a: CopyFileRangeIn): number {
    return this.fileIo.copyFileRange(ctx, ino, a);
  }

  statx(_ctx: RequestContext, ino: bigint, a: StatxIn): StatxReply {
    const i = this.inodes.get(ino);
    const f = a.getattrFlags & 1 ? this.fileIo.handle(a.fh) : undefined;
    ok(this.st.read(f ? f.fd : this.inodes.fdOf(i), '', EMPTY | (a.sxFlags & 0x6000), a.sxMask | STATX_MASK));
    return this.st.statxReply(i.stIno, this.attrTimeoutFor(this.st.mode));
  }

  // ---- directories ----

  opendir(ctx: RequestContext, ino: bigint, _a: OpenIn): OpenReply {
    // Listing it makes the kernel drop the atime it has.
    this.inodes.markStale(ino);
    return this.dirIo.open(ctx, ino);
  }

  readdir(_ctx: RequestContext, ino: bigint, a: ReadIn, out: DirBuffer): void {
    if (this.options.noReaddir) return;
    const dir = this.inodes.get(ino);
    const devKey = dir.devKey;
    this.inodes.ageFresh();
    // Whether some name listed is not one the kernel holds fresh (dir-listings.ts): checked until one is found.
    let bare = false;
    this.dirIo.withDir(ino, a.fh, (d) => {
      d.list(a.offset, (d, p) => {
        const nameLen = d.nameLengthAt(p);
        const hostIno = d.inoAt(p);
        let stIno: bigint | undefined;
        if (!bare && !isDotOrDotDotAt(d.buf, p + sys.DIRENT_NAME, nameLen)) {
          const k = this.inodes.listed(devKey, hostIno, true);
          if (typeof k === 'bigint') stIno = k;
          else bare = true;
        }
        return out.addCopy(stIno ?? this.inodes.peekIno(devKey, hostIno), d.typeAt(p), d.buf, p + sys.DIRENT_OFF, p + sys.DIRENT_NAME, nameLen);
      });
    });
    this.dirIo.listed(dir, ino, a.offset, bare);
  }

  readdirplus(ctx: RequestContext, ino: bigint, a: ReadIn, out: DirBuffer): void {
    if (this.options.noReaddir) return;
    const parent = this.inodes.get(ino);
    const pfd = this.inodes.fdOf(parent);
    const uncached = this.guardSearch && !this.searchableByAll(pfd);
    const devKey = parent.devKey;
    this.inodes.ageFresh();
    this.dirIo.withDir(ino, a.fh, (d) => {
      d.list(a.offset, (d, p) => {
        const nameLen = d.nameLengthAt(p);
        if (!out.fits(nameLen)) return false;
        const hostIno = d.inoAt(p);
        const type = d.typeAt(p);
        // Without attributes: "." and "..", and (a zero node id leaves them
        // be, and saves the statx) names whose entry and attributes the
        // kernel was given within the timeouts.
        const dot = isDotOrDotDotAt(d.buf, p + sys.DIRENT_NAME, nameLen);
        const mayBeKnown = dot ? (nameLen === 1 ? parent.stIno : this.inodes.peekIno(devKey, hostIno)) : this.inodes.listed(devKey, hostIno, !uncached);
        if (typeof mayBeKnown === 'bigint') return out.addPlusCopy(mayBeKnown, type, d.buf, p + sys.DIRENT_OFF, p + sys.DIRENT_NAME, nameLen);
        const name = d.nameAt(p, nameLen);
        const next = d.nextOffsetAt(p);
        let found: Found | number;
        try {
          found = this.asCallerIf(ctx, () => this.lookupAt(parent, pfd, name, mayBeKnown));
        } catch {
          found = -Errno.EIO;
        }
        // Gone since getdents, or unreadable: list it without attributes.
        if (typeof found === 'number') return out.addPlus(null, name, type, next, this.inodes.peekIno(devKey, hostIno));
        if (uncached) found.entry = { ...found.entry, entryTimeout: 0 };
        if (!out.addPlus(found.entry, name, type, next)) {
          this.inodes.forget(found.inode.nodeid, 1n);
          return false;
        }
        if (!uncached) this.sentEntry(found.inode);
        return true;
      });
    });
    this.dirIo.listed(parent, ino, a.offset, false);
  }

  private asCallerIf<T>(ctx: RequestContext, f: () => T): T {
    return this.options.defaultPermissions ? f() : this.asCaller(ctx, f);
  }

  releasedir(_ctx: RequestContext, _ino: bigint, a: ReleaseIn): void {
    this.dirIo.release(a);
  }

  fsyncdir(_ctx: RequestContext, ino: bigint, a: FsyncIn): FileSync {
    return this.dirIo.fsync(ino, a);
  }

  // ---- filesystem-wide ----

  statfs(_ctx: RequestContext, ino: bigint): StatfsReply {
    const b = Buffer.alloc(120);
    ok(sys.fstatfs(this.inodes.fdOfId(ino), b));
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
    const fd = this.inodes.fdOfId(ino);
    this.asCaller(ctx, () => ok(sys.faccessat2(fd, '', a.mask, sys.AT_EMPTY_PATH | sys.AT_EACCESS)));
  }

  // ---- extended attributes ----

  setxattr(ctx: RequestContext, ino: bigint, a: SetxattrIn): void {
    // The kernel drops the ctime it has (and ACLs change the mode).
    this.inodes.markStale(ino);
    this.xattrs.setxattr(ctx, ino, a);
  }

  getxattr(ctx: RequestContext, ino: bigint, name: Buffer, size: number): Buffer | number | FuseError {
    return this.xattrs.getxattr(ctx, ino, name, size);
  }

  listxattr(ctx: RequestContext, ino: bigint, size: number): Buffer | number {
    return this.xattrs.listxattr(ctx, ino, size);
  }

  removexattr(ctx: RequestContext, ino: bigint, name: Buffer): void {
    this.inodes.markStale(ino);
    this.xattrs.removexattr(ctx, ino, name);
  }
}
