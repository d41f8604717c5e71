// The open files of the passthrough: host fds opened for the kernel's OPEN
// and CREATE, the data requests served on them (read, write, fsync,
// fallocate, lseek, copy_file_range), and, when FUSE_PASSTHROUGH is agreed,
// the backing files that let the kernel do the I/O on the host itself.

import * as sys from '../../sys/index.js';
import { FuseError, Errno } from '../../session/errors.js';
import { FileAllocate, FileClose, FileData, FileSync, FileTruncate, FileWrite } from '../../session/filesystem.js';
import type { OpenReply, RequestContext } from '../../session/filesystem.js';
import type { ConnectionInfo } from '../../session/connection.js';
import type { Notifier } from '../../session/notify.js';
import type {
  CopyFileRangeIn, FallocateIn, FlushIn, FsyncIn, LseekIn, OpenIn, ReadIn, ReleaseIn, WriteIn,
} from '../../protocol/requests.js';
import {
  FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_NOFLUSH, FOPEN_PARALLEL_DIRECT_WRITES, FOPEN_PASSTHROUGH, FUSE_DEV_IOC_BACKING_CLOSE, FUSE_DEV_IOC_BACKING_OPEN,
  FUSE_FSYNC_FDATASYNC, FUSE_WRITE_CACHE, FUSE_WRITE_KILL_SUIDGID,
} from '../../protocol/kernel.js';
import type { ResolvedOptions } from './options.js';
import type { InodeTable } from './inode-table.js';
import type { Credentials } from './creds.js';
import { EMPTY, OFF_THREAD_BYTES, S_IFMT, S_IFREG, freesMuch, ok } from './host.js';
import type { ProcFdDir } from './procfd.js';
import { OpenByIno } from './open-by-ino.js';

/**
 * The most a COPY_FILE_RANGE copies at once (its caller gets a short count
 * and asks for the rest, as copy_file_range(2) allows): the copy runs on the
 * session thread, and a 1 GiB one in one go held up every other client of
 * the mount for 0.36-0.64 s (ad hoc); in 16 MiB steps the longest wait is
 * about 10 ms, the copy as fast (the bench's stall group, docs/benchmarks.md).
 */
const COPY_CHUNK = 16n << 20n;

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_COLLAPSE_RANGE = 0x08;
const FALLOC_FL_INSERT_RANGE = 0x20;

export interface FileState {
  fd: number;
  /** The node id the file was opened on. */
  ino: bigint;
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

/** The open files of a PassthroughFs, which owns the table and credentials it is given. */
export class FileIo {
  private readonly files = new Map<bigint, FileState>();
  private readonly io = new Map<bigint, IoState>();
  /** The open files of each inode (the first one answers openFdOf). */
  private readonly byIno = new OpenByIno<FileState>();
  private conn: ConnectionInfo | undefined;
  private notifier: Notifier | undefined;
  private passthroughBroken = false;
  private readonly stx = Buffer.alloc(256);
  /** The argument of the backing ioctls: struct fuse_backing_map for BACKING_OPEN, the id for BACKING_CLOSE. */
  private readonly backingArg = Buffer.alloc(16);
  private scratch: Buffer | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly inodes: InodeTable,
    private readonly creds: Credentials,
    private readonly proc: ProcFdDir,
  ) {}

  /** The connection (from INIT): what was agreed, and the device fd backing files are registered on. */
  init(conn: ConnectionInfo, notifier: Notifier | undefined): void {
    this.conn = conn;
    this.notifier = notifier;
  }

  /** The open file `fh`, if there is one (fh 0 with no_open: there is not). */
  handle(fh: bigint): FileState | undefined {
    return this.files.get(fh);
  }

  closeAll(): void {
    for (const f of this.files.values()) this.closeFile(f);
    this.files.clear();
    this.byIno.clear();
  }

  /** An fd (not O_PATH) of a file open on inode `ino`, if the kernel has one open. */
  openFdOf(ino: bigint): number | undefined {
    return this.byIno.fdOf(ino);
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
    const fd = this.openForCall(ino, flags);
    try {
      return f(fd);
    } finally {
      sys.close(fd);
    }
  }

  /** A file opened on inode `ino` for one call (no_open: the kernel sends none); the caller closes it. */
  private openForCall(ino: bigint, flags: number): number {
    if (!this.options.noOpen) throw new FuseError(Errno.EBADF);
    const ifd = this.inodes.fdOfId(ino);
    return ok(this.inodes.retryFd(() => this.proc.reopen(ifd, flags | sys.O_CLOEXEC)));
  }

  private sealCheckGrow(fd: number, end: bigint): void {
    ok(sys.statx(fd, '', EMPTY, sys.STATX_SIZE, this.stx));
    if (end > this.stx.readBigUInt64LE(40)) throw new FuseError(Errno.EPERM);
  }

  // ---- opening ----

  /** Host open flags for a client's: `widened` applies what the writeback cache needs (see widen). */
  openFlags(flags: number, widened = false): number {
    // The kernel resolved the path: O_NOFOLLOW would refuse the /proc/self/fd magic link we reopen through.
    // O_PATH and O_TMPFILE never come from the kernel (neither reaches a FUSE
    // open); from a forged request they would turn a create into something else.
    let f = flags & ~(sys.O_CREAT | sys.O_EXCL | sys.O_NOCTTY | sys.O_NOFOLLOW | sys.O_PATH | (sys.O_TMPFILE & ~sys.O_DIRECTORY));
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
    const wide = this.proc.reopen(fd, this.openFlags(requestFlags, true) & ~sys.O_TRUNC);
    if (wide < 0) return fd;
    sys.close(fd);
    return wide;
  }

  /**
   * The reply to open/create for host fd `fd` of inode `ino`. Must run with
   * the daemon's own credentials: the kernel keeps those of BACKING_OPEN for
   * all passthrough I/O on the inode.
   */
  private fileReply(fd: number, ino: bigint, isReg: boolean, requestFlags: number, ctx?: RequestContext, mode?: number): OpenReply {
    const o = this.options;
    let openFlags = o.cache === 'never' || o.cache === 'metadata' ? FOPEN_DIRECT_IO : o.cache === 'always' ? FOPEN_KEEP_CACHE : 0;
    // Our FLUSH does nothing (locks are the kernel's own; a host close() of a
    // local file reports nothing either): NOFLUSH spares close() that round
    // trip. The kernel ignores it with writeback caching, where it must flush.
    openFlags |= FOPEN_NOFLUSH;
    let backingId = 0;
    let ioIno: bigint | undefined;
    // `mode`: the creator just stat'ed the file; an open has to ask.
    const setId = isReg && (mode !== undefined ? (mode & 0o6000) !== 0 : this.hasSetIdBits(fd));
    // O_DIRECT opens served through our fd instead of a passthrough backing
    // file (unless the inode is bound to passthrough: the kernel then refuses
    // any other mode). With allow_direct_io off: the kernel would open the
    // backing file with the client's O_DIRECT. A writable one: the client may
    // turn O_DIRECT off with fcntl(F_SETFL), as dd oflag=direct does for a
    // partial last block, which a backing file never learns (its unaligned
    // write would fail EINVAL); our fd follows each request's flags
    // (followDirect). Parallel writes there are also faster. Read-only ones
    // keep passthrough: its reads are faster than ours.
    if (
      isReg && requestFlags & sys.O_DIRECT && (!o.allowDirectIo || (requestFlags & sys.O_ACCMODE) !== sys.O_RDONLY) &&
      this.conn?.has('PASSTHROUGH') && !this.io.get(ino)?.passthrough
    ) {
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
          const map = this.backingArg.fill(0);
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
    // The host fd was opened with openFlags(requestFlags): it has O_DIRECT if they do.
    const direct = (this.openFlags(requestFlags) & sys.O_DIRECT) !== 0;
    if (direct && !(openFlags & FOPEN_PASSTHROUGH)) openFlags |= FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES;
    const st: FileState = { fd, ino, backingId, ioIno, setId, direct, opener: ctx ? { uid: ctx.uid, gid: ctx.gid, pid: ctx.pid } : undefined };
    this.files.set(fh, st);
    this.inodes.holdFd();
    this.byIno.add(ino, st);
    return { fh, openFlags, backingId };
  }

  /**
   * The open half of CREATE/TMPFILE. With no_open the kernel never sends a
   * RELEASE for it (nor OPENs afterwards): keep no fd, answer fh 0, and I/O
   * takes the per-request path as for every other file.
   */
  createdReply(fd: number, ino: bigint, requestFlags: number, ctx: RequestContext, mode: number): OpenReply {
    if (this.options.noOpen) {
      sys.close(fd);
      return { fh: 0n, openFlags: FOPEN_KEEP_CACHE | FOPEN_NOFLUSH, backingId: 0 };
    }
    return this.fileReply(this.widen(fd, requestFlags), ino, true, requestFlags, ctx, mode);
  }

  /** Whether the file has suid or sgid; `onError` when it cannot be told. */
  private hasSetIdBits(fd: number, onError = false): boolean {
    if (sys.statx(fd, '', EMPTY, sys.STATX_MODE, this.stx) < 0) return onError;
    return (this.stx.readUInt16LE(28) & 0o6000) !== 0;
  }

  /** Lets go of open file `f`: its fd closed, or (`handedOver`) left for the caller to close. */
  private closeFile(f: FileState, handedOver = false): void {
    this.byIno.delete(f.ino, f);
    const st = f.ioIno !== undefined ? this.io.get(f.ioIno) : undefined;
    if (st !== undefined && --st.opens <= 0) {
      this.io.delete(f.ioIno!);
      if (st.passthrough && this.conn) {
        const id = this.backingArg;
        id.writeUInt32LE(st.backingId, 0);
        sys.ioctl(this.conn.devFd, FUSE_DEV_IOC_BACKING_CLOSE, id);
      }
    }
    if (!handedOver) sys.close(f.fd);
    this.inodes.releaseFd();
  }

  open(ctx: RequestContext, ino: bigint, a: OpenIn): OpenReply | FileTruncate<OpenReply> {
    if (this.options.noOpen) throw new FuseError(Errno.ENOSYS);
    const i = this.inodes.get(ino);
    const ifd = this.inodes.fdOf(i);
    let flags = this.openFlags(a.flags);
    if (this.options.sealSize && flags & sys.O_TRUNC) {
      ok(sys.statx(ifd, '', EMPTY, sys.STATX_SIZE, this.stx));
      if (this.stx.readBigUInt64LE(40) !== 0n) throw new FuseError(Errno.EPERM);
    }
    const later = this.truncateLater(ifd, flags);
    if (later) flags &= ~sys.O_TRUNC;
    const fd = this.widen(this.creds.asCaller(ctx, () => ok(this.inodes.retryFd(() => this.proc.reopen(ifd, flags)))), a.flags);
    const reply = this.fileReply(fd, ino, i.type === S_IFREG, a.flags, ctx);
    if (!later) return reply;
    const { setId } = later;
    if ((flags & sys.O_ACCMODE) !== sys.O_RDONLY) {
      return new FileTruncate(fd, 0n, () => (setId && this.dropSetIdAsCaller(ctx, fd, 0n), reply), () => this.closeHandle(reply.fh));
    }
    // O_RDONLY|O_TRUNC truncates on Linux, but not through a read-only fd:
    // one writable fd for the truncate alone, opened as the caller too.
    let wfd: number;
    try {
      wfd = this.creds.asCaller(ctx, () => ok(this.inodes.retryFd(() => this.proc.reopen(ifd, sys.O_WRONLY | sys.O_CLOEXEC))));
    } catch (e) {
      this.closeHandle(reply.fh);
      throw e;
    }
    let open = true;
    const closeW = (): void => {
      if (open) sys.close(wfd);
      open = false;
    };
    return new FileTruncate(wfd, 0n, () => (setId && this.dropSetIdAsCaller(ctx, wfd, 0n), closeW(), reply), () => {
      closeW();
      this.closeHandle(reply.fh);
    });
  }

  /**
   * Whether an open with these host flags should leave its O_TRUNC to the
   * session (FileTruncate): an open of a regular file that drops at least
   * OFF_THREAD_BYTES. The file is then opened without O_TRUNC, as
   * the caller, and truncated through a writable fd of the caller's (the
   * permission check is the same: O_TRUNC asks for write access, which a
   * writable open asks for, and so does the extra fd of an O_RDONLY one).
   * A file with set-id bits too: the session truncates with the daemon's
   * credentials, which keep them, so dropSetIdAsCaller() follows.
   * O_RDONLY|O_TRUNC (which truncates on Linux) too: through a writable fd of
   * its own (open()).
   */
  private truncateLater(ifd: number, flags: number): { setId: boolean } | undefined {
    // seal_size: only an empty file got this far, nothing to drop (and its statx was made).
    if (!(flags & sys.O_TRUNC) || this.options.sealSize) return undefined;
    if (sys.statx(ifd, '', EMPTY, sys.STATX_TYPE | sys.STATX_MODE | sys.STATX_SIZE, this.stx) < 0) return undefined;
    const mode = this.stx.readUInt16LE(28);
    if ((mode & S_IFMT) !== S_IFREG || this.stx.readBigUInt64LE(40) < OFF_THREAD_BYTES) return undefined;
    return { setId: (mode & 0o6000) !== 0 };
  }

  /**
   * After the session truncated a set-id file with the daemon's credentials
   * (which hold CAP_FSETID, so the host kept the bits): the same truncate
   * again, to the size it now has, as the caller. It drops no data, and the
   * host clears the bits by its own rules for the caller (suid always, sgid
   * when group-executable or the caller is outside the file's group; not for
   * root), exactly as a truncate made as the caller would have.
   */
  dropSetIdAsCaller(ctx: RequestContext, fd: number, size: bigint): void {
    this.creds.asCaller(ctx, () => ok(sys.ftruncate(fd, size)));
  }

  // ---- data ----

  /**
   * The client turns O_DIRECT on or off with fcntl(F_SETFL) without telling
   * us, but each READ and WRITE carries its file's flags of the moment: our
   * fd follows, so that alignment is required exactly when it would be natively.
   */
  private followDirect(st: FileState, flags: number): void {
    const want = (flags & sys.O_DIRECT) !== 0;
    if (want === st.direct || !this.options.allowDirectIo) return;
    const fl = sys.fcntl(st.fd, sys.F_GETFL);
    if (fl >= 0 && sys.fcntl(st.fd, sys.F_SETFL, want ? fl | sys.O_DIRECT : fl & ~sys.O_DIRECT) >= 0) st.direct = want;
  }

  read(_ctx: RequestContext, ino: bigint, a: ReadIn, out: Buffer): number | FileData {
    const st = this.files.get(a.fh);
    // An open file's fd outlives the reply: the session reads it (through its
    // ring while it serves other requests, or spliced, or into the reply).
    if (st !== undefined) {
      this.followDirect(st, a.flags);
      return new FileData(st.fd, a.offset, a.size, st.direct);
    }
    return this.withFile(ino, a.fh, sys.O_RDONLY, (fd) => ok(sys.pread(fd, out, a.size, a.offset)));
  }

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

  write(ctx: RequestContext, ino: bigint, a: WriteIn): number | FileWrite {
    return this.withFile(ino, a.fh, sys.O_WRONLY, (fd): number | FileWrite => {
      if (this.options.sealSize) this.sealCheckGrow(fd, a.offset + BigInt(a.data.length));
      const st = this.files.get(a.fh);
      // Pages the writeback cache sends (FUSE_WRITE_CACHE) carry no file's flags.
      if (st !== undefined && !(a.writeFlags & FUSE_WRITE_CACHE)) this.followDirect(st, a.flags);
      // Writing as the writer (without CAP_FSETID unless it is root) makes the
      // host drop suid/sgid exactly as it would natively (the kernel's FUSE
      // rule for sgid is older and narrower). KILL_SUIDGID (killpriv_v2, and
      // every direct-I/O write by a caller without CAP_FSETID) asks for the
      // same; a file without set-id bits has none to drop (one statx: the
      // write then needs no credential switch, and may go on the ring; a
      // chmod u+s racing it could keep a bit a native write would drop).
      const asCaller = (st !== undefined && st.setId) || ((a.writeFlags & FUSE_WRITE_KILL_SUIDGID) !== 0 && this.hasSetIdBits(fd, true));
      // An O_DIRECT write the daemon may do as itself: the session does it,
      // on its ring when several overlap (their opens allow parallel writes).
      if (st?.direct && !asCaller && !this.options.writeback) return new FileWrite(fd, a.offset, a.data, true);
      let n: number;
      if (asCaller) {
        // Pages the writeback cache sends later come without a caller (pid 0): they are the opener's.
        const who = ctx.pid === 0 && st?.opener ? ({ ...st.opener } as unknown as RequestContext) : ctx;
        n = this.creds.asCaller(who, () => this.pwrite(st, fd, a));
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

  release(_ctx: RequestContext, _ino: bigint, a: ReleaseIn): void | FileClose {
    const f = this.files.get(a.fh);
    if (f === undefined) return;
    this.files.delete(a.fh);
    // Mostly the inode's own fd keeps the file; when the fd budget closed that
    // one, this close may be the last of a removed file: the session makes it.
    const last = !this.inodes.holdsFd(f.ino) && freesMuch(f.fd);
    this.closeFile(f, last);
    return last ? new FileClose([f.fd]) : undefined;
  }

  private closeHandle(fh: bigint): void {
    const f = this.files.get(fh);
    if (f === undefined) return;
    this.files.delete(fh);
    this.closeFile(f);
  }

  fsync(_ctx: RequestContext, ino: bigint, a: FsyncIn): FileSync {
    const dataOnly = (a.fsyncFlags & FUSE_FSYNC_FDATASYNC) !== 0;
    // The session syncs off this thread: an open file's fd outlives the
    // request; without one (no_open), one opened for it is the session's to close.
    const st = this.files.get(a.fh);
    return st !== undefined ? new FileSync(st.fd, dataOnly) : new FileSync(this.openForCall(ino, sys.O_RDONLY), dataOnly, true);
  }

  fallocate(_ctx: RequestContext, ino: bigint, a: FallocateIn): void | FileAllocate {
    const check = (fd: number): void => {
      if (!this.options.sealSize) return;
      if (a.mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE)) throw new FuseError(Errno.EPERM);
      if (!(a.mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))) this.sealCheckGrow(fd, a.offset + a.length);
    };
    // A long one through an open file (its fd outlives the request) is the session's to make, off its thread.
    const f = this.files.get(a.fh);
    if (f !== undefined && a.length >= OFF_THREAD_BYTES) {
      check(f.fd);
      return new FileAllocate(f.fd, a.mode, a.offset, a.length);
    }
    this.withFile(ino, a.fh, sys.O_WRONLY, (fd) => {
      check(fd);
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
      const len = a.len > COPY_CHUNK ? Number(COPY_CHUNK) : Number(a.len);
      return ok(sys.copy_file_range(fin, a.offIn, fout, a.offOut, len, Number(a.flags)));
    }));
  }
}
