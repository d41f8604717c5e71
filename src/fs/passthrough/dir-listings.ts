// Under cache=auto, whether the kernel may keep the listing it cached of a
// directory when the directory is opened again (FOPEN_CACHE_DIR with
// FOPEN_KEEP_CACHE), or must read it from the host anew (FOPEN_CACHE_DIR
// alone: the kernel drops what it had and caches the new listing).
//
// Kept only when both hold:
// - the host directory is unchanged since the kernel last read its listing
//   from us: the same mtime, ctime and size as at the OPENDIR before that
//   read, and its ctime was older than the host's timestamp granularity
//   when the read began (so a change made after it got another ctime);
// - that read gave attributes with every entry (READDIRPLUS only) and was
//   less than the entry and attribute timeouts ago: the names it gave are
//   still fresh in the kernel, so a program that stats them after a kept
//   listing costs no LOOKUP that a new READDIRPLUS would have spared.
// Changes made through the mount the kernel sees itself (it drops its
// listing when it changes the directory).

/** A directory's state as statx gave it: mtime, ctime (seconds and nanoseconds) and size. */
export interface DirStamp {
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
  size: number;
}

interface Listing extends DirStamp {
  /** When the kernel began its last read of the listing from us (Date.now() ms); 0: none since the stamp. */
  readAt: number;
  /** Whether every entry of that read came with attributes (READDIRPLUS only). */
  plus: boolean;
  /** The host's timestamp granularity, ms. */
  granularityMs: number;
}

/**
 * Directories remembered; past that the oldest is dropped (its next open is
 * read anew): about 150 bytes each.
 */
const MAX_DIRS = 32_768;

export class DirListings {
  private readonly dirs = new Map<bigint, Listing>();

  /** `windowMs`: the shortest of the entry and attribute timeouts (0: never keep). */
  constructor(private readonly windowMs: number) {}

  /**
   * At OPENDIR of `nodeid`, with its state now: whether the kernel may keep
   * its cached listing. Records the state for the next open.
   */
  opened(nodeid: bigint, s: DirStamp, granularityMs: number, now: number): boolean {
    const l = this.dirs.get(nodeid);
    if (l !== undefined && same(l, s)) {
      return l.readAt > 0 && l.plus && now - l.readAt < this.windowMs && ctimeMs(l) < l.readAt - l.granularityMs;
    }
    if (l !== undefined) this.dirs.delete(nodeid);
    else if (this.dirs.size >= MAX_DIRS) this.dirs.delete(this.dirs.keys().next().value!);
    this.dirs.set(nodeid, { ...s, readAt: 0, plus: false, granularityMs });
    return false;
  }

  /**
   * A READDIR or READDIRPLUS of `nodeid` at `offset`; `bare`: it gave some
   * entry without attributes (a plain READDIR with entries).
   */
  listed(nodeid: bigint, offset: bigint, bare: boolean, now: number): void {
    const l = this.dirs.get(nodeid);
    if (l === undefined) return;
    if (offset === 0n) {
      l.readAt = now;
      l.plus = true;
    }
    if (bare) l.plus = false;
  }

  /** How many directories are remembered (tests). */
  get size(): number {
    return this.dirs.size;
  }
}

function same(a: DirStamp, b: DirStamp): boolean {
  return a.mtimeSec === b.mtimeSec && a.mtimeNsec === b.mtimeNsec && a.ctimeSec === b.ctimeSec && a.ctimeNsec === b.ctimeNsec && a.size === b.size;
}

function ctimeMs(s: DirStamp): number {
  return s.ctimeSec * 1000 + s.ctimeNsec / 1e6;
}

// Filesystems whose timestamps are finer than a scheduler tick (10 ms at
// most), by statfs f_type; any other is assumed as coarse as FAT's 2 s.
const FINE = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
  0x2fc12fc1, // zfs
]);

/** The timestamp granularity assumed for a filesystem of statfs type `fType`, ms. */
export function granularityOf(fType: number): number {
  return FINE.has(fType >>> 0) ? 50 : 2000;
}
