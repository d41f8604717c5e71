// The open directories of the passthrough: host directory fds opened for the
// kernel's OPENDIR, by handle and by inode, their FSYNCDIR and RELEASEDIR,
// and the temporary one a listing uses with no_opendir; under cache=auto,
// whether the kernel may keep a directory's listing (dir-listings.ts).
// Listing itself stays with the names (passthrough.ts): READDIRPLUS looks
// entries up (those the kernel has fresh go without).

import * as os from 'node:os';
import * as sys from '../../sys/index.js';
import { FuseError, Errno } from '../../session/errors.js';
import { FileSync } from '../../session/filesystem.js';
import { mountInfo } from '../../session/mount.js';
import type { OpenReply, RequestContext } from '../../session/filesystem.js';
import type { FsyncIn, ReleaseIn } from '../../protocol/requests.js';
import { FOPEN_CACHE_DIR, FOPEN_KEEP_CACHE, FUSE_FSYNC_FDATASYNC } from '../../protocol/kernel.js';
import type { ResolvedOptions } from './options.js';
import type { InodeTable } from './inode-table.js';
import type { Inode } from './inode.js';
import type { StatBuffer } from './stat-buffer.js';
import type { Credentials } from './creds.js';
import { DirHandle } from './dirhandle.js';
import { DirListings, fsTypeOfMount, granularityOf } from './dir-listings.js';
import type { DirStamp } from './dir-listings.js';
import { OpenByIno } from './open-by-ino.js';
import { ok } from './host.js';

/** The open directories of a PassthroughFs, which owns the table and credentials it is given. */
export class DirIo {
  private readonly dirs = new Map<bigint, DirHandle>();
  /** The same open directories by node id (an inode's fd can be reopened through one). */
  private readonly byIno = new OpenByIno<DirHandle>();
  private nextFh = 1n;
  /** cache=auto: whether the kernel may keep a directory's cached listing at its next open (dir-listings.ts). */
  private readonly listings: DirListings | null;
  /** The stamp of the directory being opened (copied by the listings, so one object serves every OPENDIR). */
  private readonly stamp: DirStamp = { mtimeSec: 0, mtimeNsec: 0, ctimeSec: 0, ctimeNsec: 0, size: 0 };
  /** Timestamp granularity (ms) of each host filesystem, by device key. */
  private readonly granularity = new Map<string, number>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly inodes: InodeTable,
    private readonly creds: Credentials,
    /** The passthrough's statx buffer (one request at a time). */
    private readonly st: StatBuffer,
  ) {
    const windowMs = Math.min(options.entryTimeout, options.attrTimeout) * 1000;
    this.listings = options.cache === 'auto' && options.keepListings && windowMs > 0 ? new DirListings(windowMs) : null;
  }

  /** An fd of a directory open on inode `ino`, if the kernel has one open. */
  openFdOf(ino: bigint): number | undefined {
    return this.byIno.fdOf(ino);
  }

  closeAll(): void {
    for (const d of this.dirs.values()) d.close();
    this.dirs.clear();
    this.byIno.clear();
  }

  /** A directory fd from an inode's O_PATH fd `ifd` (got before, as the daemon: reopening an inode may need its privileges). */
  private openDir(ifd: number): number {
    return ok(this.inodes.retryFd(() => sys.openat(ifd, '.', sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC)));
  }

  open(ctx: RequestContext, ino: bigint): OpenReply {
    if (this.options.noOpendir) throw new FuseError(Errno.ENOSYS);
    const i = this.inodes.get(ino);
    const ifd = this.inodes.fdOf(i);
    const fd = this.creds.asCaller(ctx, () => this.openDir(ifd));
    const fh = this.nextFh++;
    const d = new DirHandle(fd, ino);
    this.dirs.set(fh, d);
    this.byIno.add(ino, d);
    this.inodes.holdFd();
    const c = this.options.cache;
    const openFlags = c === 'metadata' || c === 'always' ? FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE : this.listings !== null ? this.autoFlags(i, ino, ifd) : 0;
    return { fh, openFlags };
  }

  /**
   * cache=auto: the kernel caches the listing (FOPEN_CACHE_DIR), and keeps
   * what it has (FOPEN_KEEP_CACHE) when the host directory is unchanged
   * since the kernel read it (dir-listings.ts); no flag when the last
   * listing could not have been kept.
   */
  private autoFlags(i: Inode, ino: bigint, ifd: number): number {
    if (this.st.read(ifd, '', sys.AT_EMPTY_PATH, sys.STATX_MTIME | sys.STATX_CTIME | sys.STATX_SIZE | sys.STATX_MNT_ID) < 0) return 0;
    const use = this.listings!.opened(i.slot, ino, this.st.dirStamp(this.stamp), this.granularityOf(i.devKey, this.st.mntId()), Date.now());
    return use === 'keep' ? FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE : use === 'fill' ? FOPEN_CACHE_DIR : 0;
  }

  /** The timestamp granularity of the host filesystem `devKey`, on mount `mntId`. */
  private granularityOf(devKey: string, mntId: bigint): number {
    let g = this.granularity.get(devKey);
    if (g === undefined) {
      let type = '';
      try {
        type = fsTypeOfMount(mntId, mountInfo());
      } catch {
        // No /proc: the coarsest granularity.
      }
      g = granularityOf(type, os.release());
      this.granularity.set(devKey, g);
    }
    return g;
  }

  /** A READDIR or READDIRPLUS of `ino` (`i`) at `offset` was answered; `bare`: with an entry that had no attributes and was not fresh in the kernel. */
  listed(i: Inode, ino: bigint, offset: bigint, bare: boolean): void {
    this.listings?.listed(i.slot, ino, offset, bare, Date.now());
  }

  /** The handle of an open directory, or (no_opendir) a temporary one for this call. */
  withDir<T>(ino: bigint, fh: bigint, f: (d: DirHandle) => T): T {
    const d = this.dirs.get(fh);
    if (d !== undefined) return f(d);
    const tmp = new DirHandle(this.openForCall(ino));
    try {
      return f(tmp);
    } finally {
      tmp.close();
    }
  }

  release(a: ReleaseIn): void {
    const d = this.dirs.get(a.fh);
    if (d === undefined) return;
    this.dirs.delete(a.fh);
    this.byIno.delete(d.ino, d);
    d.close();
    this.inodes.releaseFd();
  }

  fsync(ino: bigint, a: FsyncIn): FileSync {
    const dataOnly = (a.fsyncFlags & FUSE_FSYNC_FDATASYNC) !== 0;
    // The session syncs off this thread: an open directory's fd outlives the
    // request; without one (no_opendir), one opened for it is the session's to close.
    const d = this.dirs.get(a.fh);
    return d !== undefined ? new FileSync(d.fd, dataOnly) : new FileSync(this.openForCall(ino), dataOnly, true);
  }

  /** A directory fd of inode `ino` for one call (no_opendir: the kernel opens none); the caller closes it. */
  private openForCall(ino: bigint): number {
    if (!this.options.noOpendir) throw new FuseError(Errno.EBADF);
    return this.openDir(this.inodes.fdOfId(ino));
  }
}
