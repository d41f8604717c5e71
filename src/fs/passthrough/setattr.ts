// SETATTR of the passthrough: chmod, chown, truncate and utimes on the host
// file, as the caller, with the kernel's own requests told apart from the
// caller's: the set-id bits it clears after a write by another user, and,
// with the writeback cache, the timestamps it keeps and flushes itself.

import * as sys from '../../sys/index.js';
import { FuseError, Errno } from '../../session/errors.js';
import type { RequestContext } from '../../session/filesystem.js';
import type { SetattrIn } from '../../protocol/requests.js';
import {
  FATTR_ATIME, FATTR_ATIME_NOW, FATTR_CTIME, FATTR_FH, FATTR_GID, FATTR_KILL_SUIDGID, FATTR_MODE, FATTR_MTIME, FATTR_MTIME_NOW,
  FATTR_SIZE, FATTR_UID,
} from '../../protocol/kernel.js';
import type { ResolvedOptions } from './options.js';
import type { InodeTable } from './inode-table.js';
import type { Credentials } from './creds.js';
import type { FileIo } from './file-io.js';
import type { ProcFdDir } from './procfd.js';
import { EMPTY, OFF_THREAD_BYTES, ok } from './host.js';

/** The SETATTR of a PassthroughFs, which owns the table, credentials and open files it is given. */
export class AttrSetter {
  private readonly stx = Buffer.alloc(256);

  constructor(
    private readonly options: ResolvedOptions,
    private readonly inodes: InodeTable,
    private readonly creds: Credentials,
    private readonly files: FileIo,
    private readonly proc: ProcFdDir,
  ) {}

  /**
   * The host fd of an open file whose SETATTR is a truncate that drops at
   * least OFF_THREAD_BYTES and nothing else, for the session to make
   * (FileTruncate); undefined when it is to be applied here. The session
   * makes it with the daemon's credentials, not the caller's: that differs
   * only where the truncate clears set-id bits, so for a file with any
   * (`setId`) FileIo.dropSetIdAsCaller() follows. Sealed sizes are left out
   * (their check is apply's).
   */
  truncateLater(ino: bigint, s: SetattrIn): { fd: number; setId: boolean } | undefined {
    const v = s.valid;
    if (!(v & FATTR_SIZE) || !(v & FATTR_FH) || v & (FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_KILL_SUIDGID) || this.options.sealSize) return undefined;
    const f = this.files.handle(s.fh);
    if (f === undefined || f.ino !== ino) return undefined;
    if (sys.statx(f.fd, '', EMPTY, sys.STATX_MODE | sys.STATX_SIZE, this.stx) < 0) return undefined;
    if (this.stx.readBigUInt64LE(40) - s.size < OFF_THREAD_BYTES) return undefined;
    return { fd: f.fd, setId: (this.stx.readUInt16LE(28) & 0o6000) !== 0 };
  }

  /**
   * Applies a SETATTR to the host file. Returns the handle of the open file
   * it went through (the new attributes are read from it), if any.
   */
  apply(ctx: RequestContext, ino: bigint, s: SetattrIn): bigint | undefined {
    const i = this.inodes.get(ino);
    const ifd = this.inodes.fdOf(i);
    const f = s.valid & FATTR_FH ? this.files.handle(s.fh) : undefined;
    const v = s.valid;
    if (v & FATTR_SIZE && this.options.sealSize) {
      ok(sys.statx(ifd, '', EMPTY, sys.STATX_SIZE, this.stx));
      if (this.stx.readBigUInt64LE(40) !== s.size) throw new FuseError(Errno.EPERM);
    }
    if (v & FATTR_MODE) {
      const chmod = (): number => (f ? sys.fchmod(f.fd, s.mode & 0o7777) : sys.fchmodat2(ifd, '', s.mode & 0o7777, sys.AT_EMPTY_PATH));
      const r = this.creds.asCaller(ctx, () => {
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
      this.creds.asCaller(ctx, () => sys.faccessat2(ifd, '', sys.W_OK, sys.AT_EMPTY_PATH | sys.AT_EACCESS) === 0));
    if (kernelTimes) setTimes();
    this.creds.asCaller(ctx, () => {
      if (v & (FATTR_UID | FATTR_GID)) {
        const uid = v & FATTR_UID ? this.options.uidMap.toHost(s.uid) : -1;
        const gid = v & FATTR_GID ? this.options.gidMap.toHost(s.gid) : -1;
        ok(sys.fchownat(ifd, '', uid, gid, EMPTY));
      }
      if (v & FATTR_SIZE) {
        if (f) {
          ok(sys.ftruncate(f.fd, s.size));
        } else {
          const wfd = ok(this.inodes.retryFd(() => this.proc.reopen(ifd, sys.O_WRONLY | sys.O_CLOEXEC)));
          const r = sys.ftruncate(wfd, s.size);
          sys.close(wfd);
          ok(r);
        }
      }
      // With a size change the host's truncate sets mtime and ctime itself.
      if (v & (FATTR_ATIME | FATTR_MTIME) && !(v & FATTR_SIZE) && !kernelTimes) setTimes();
      if (v & FATTR_KILL_SUIDGID && !(v & FATTR_MODE)) this.killSuidSgid(f ? f.fd : ifd, !!f);
    });
    return f ? s.fh : undefined;
  }

  /** Whether `sec` is within a minute of the file's host mtime (and not in the future). */
  private recentWriteTime(fd: number, sec: bigint): boolean {
    if (sys.statx(fd, '', EMPTY, sys.STATX_MTIME, this.stx) < 0) return false;
    const hostMtime = this.stx.readBigInt64LE(112);
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
}
