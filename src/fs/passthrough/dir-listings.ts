// Under cache=auto, whether the kernel may keep the listing it cached of a
// directory when the directory is opened again (FOPEN_CACHE_DIR with
// FOPEN_KEEP_CACHE), or must read it from the host anew (FOPEN_CACHE_DIR
// alone: the kernel drops what it had and caches the new listing; or no
// flag, when the last listing could not have been kept: caching it costs the
// kernel a copy of every entry, some 3 ms for 10,000 names).
//
// Kept only when both hold:
// - the host directory is unchanged since the kernel last read its listing
//   from us: the same mtime, ctime and size as at the OPENDIR before that
//   read, and (unless the host has multigrain timestamps, below) its ctime
//   was older than the host's timestamp granularity when the read began,
//   so a change made after it got another ctime;
// - that read gave every entry with its attributes (READDIRPLUS), or one
//   the kernel held fresh, and was less than the entry and attribute
//   timeouts ago: the names it gave are still fresh in the kernel, so a
//   program that stats them after a kept listing costs no LOOKUP that a new
//   READDIRPLUS would have spared.
// Changes made through the mount the kernel sees itself (it drops its
// listing when it changes the directory).

import type { MountInfo } from '../../session/mount.js';

/** A directory's state as statx gave it: mtime, ctime (seconds and nanoseconds) and size. */
export interface DirStamp {
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
  size: number;
}

/** What is known of one directory's listing (one object per directory, updated in place). */
class Listing implements DirStamp {
  mtimeSec = 0;
  mtimeNsec = 0;
  ctimeSec = 0;
  ctimeNsec = 0;
  size = 0;
  /** When the kernel began its last read of the listing from us (Date.now() ms); 0: none since the stamp. */
  readAt = 0;
  /**
   * Whether the last read (since the directory changed or not) gave an
   * entry without attributes that the kernel did not hold fresh. A read
   * since the stamp (readAt > 0) without one may be kept.
   */
  bare = false;
  /** The host's timestamp granularity, ms. */
  granularityMs = 0;

  constructor(
    /** The node id it is of (its slot may be taken by another inode later). */
    public nodeid: bigint,
  ) {}

  setStamp(s: DirStamp): void {
    this.mtimeSec = s.mtimeSec;
    this.mtimeNsec = s.mtimeNsec;
    this.ctimeSec = s.ctimeSec;
    this.ctimeNsec = s.ctimeNsec;
    this.size = s.size;
  }
}

/**
 * Directories remembered; past that the oldest is dropped (its next open is
 * read anew): about 150 bytes each (measured: 2.4 MiB for 16,384).
 */
const MAX_DIRS = 16_384;

export class DirListings {
  /** By the inode table's slot: number keys (a Map keyed by BigInt node ids cost several µs an OPENDIR). */
  private readonly dirs = new Map<number, Listing>();

  /** `windowMs`: the shortest of the entry and attribute timeouts (0: never keep). */
  constructor(private readonly windowMs: number) {}

  /**
   * At OPENDIR of `nodeid` (in table slot `slot`), with its state now:
   * whether the kernel may keep its cached listing ('keep'), should cache
   * the one it reads ('fill'), or need not cache it ('off': the last read
   * could not have been kept, so this one likely cannot either). Records the
   * state for the next open.
   */
  opened(slot: number, nodeid: bigint, s: DirStamp, granularityMs: number, now: number): 'keep' | 'fill' | 'off' {
    let l = this.dirs.get(slot);
    if (l !== undefined && l.nodeid === nodeid && same(l, s)) {
      const settled = l.granularityMs === 0 || ctimeMs(l) < l.readAt - l.granularityMs;
      if (l.readAt > 0 && !l.bare && now - l.readAt < this.windowMs && settled) return 'keep';
      return l.bare ? 'off' : 'fill';
    }
    if (l === undefined) {
      if (this.dirs.size >= MAX_DIRS) this.dirs.delete(this.dirs.keys().next().value!);
      l = new Listing(nodeid);
      this.dirs.set(slot, l);
    } else if (l.nodeid !== nodeid) {
      l.nodeid = nodeid;
      l.bare = false;
    }
    l.setStamp(s);
    l.readAt = 0;
    l.granularityMs = granularityMs;
    return l.bare ? 'off' : 'fill';
  }

  /**
   * A READDIR or READDIRPLUS of `nodeid` (in table slot `slot`) at `offset`;
   * `bare`: it gave some entry without attributes that the kernel did not
   * hold fresh.
   */
  listed(slot: number, nodeid: bigint, offset: bigint, bare: boolean, now: number): void {
    const l = this.dirs.get(slot);
    if (l === undefined || l.nodeid !== nodeid) return;
    if (offset === 0n) {
      l.readAt = now;
      l.bare = false;
    }
    if (bare) l.bare = true;
  }
}

function same(a: DirStamp, b: DirStamp): boolean {
  return a.mtimeSec === b.mtimeSec && a.mtimeNsec === b.mtimeNsec && a.ctimeSec === b.ctimeSec && a.ctimeNsec === b.ctimeNsec && a.size === b.size;
}

function ctimeMs(s: DirStamp): number {
  return s.ctimeSec * 1000 + s.ctimeNsec / 1e6;
}

// The host's timestamp granularity decides how old a directory's last change
// must be before a listing read after it can be kept: a change made in the
// same tick would leave mtime and ctime as they were. Since Linux 6.13,
// ext4, xfs, btrfs and tmpfs have multigrain timestamps: once a ctime was
// read (the statx at OPENDIR asks for it), the next change gets a finer one,
// so any change after that statx shows (measured here: 2,000 of 2,000 changes
// right after a statx got a new ctime, on ext4 and on tmpfs).
const MULTIGRAIN = new Set(['ext4', 'xfs', 'btrfs', 'tmpfs']);
// Timestamps finer than a scheduler tick (10 ms at most); any other
// filesystem is taken to be as coarse as FAT's 2 s.
const FINE = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'tmpfs', 'f2fs', 'bcachefs', 'zfs']);

/** The timestamp granularity (ms) assumed for a filesystem of type `fsType` (as mountinfo names it) on kernel `release`. */
export function granularityOf(fsType: string, release: string): number {
  const [major = 0, minor = 0] = release.split('.').map((n) => parseInt(n, 10));
  if (MULTIGRAIN.has(fsType) && (major > 6 || (major === 6 && minor >= 13))) return 0;
  return FINE.has(fsType) ? 50 : 2000;
}

/** The filesystem type of mount `mntId` (statx's stx_mnt_id) among `mounts` (mountinfo's); '' if not found. */
export function fsTypeOfMount(mntId: bigint, mounts: readonly MountInfo[]): string {
  return mounts.find((m) => m.id === mntId)?.fsType ?? '';
}
