// INIT negotiation: what the kernel offers, what the filesystem wants, what
// is agreed. The session fills the offer, the filesystem's init() edits the
// wishes, and the session grants only the intersection.

import { FILESYSTEM_MAX_STACK_DEPTH, FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION, InitFlag } from '../protocol/kernel.js';
import type { InitFlagName } from '../protocol/kernel.js';
import type { InitIn, } from '../protocol/requests.js';
import type { InitOut } from '../protocol/replies.js';

export const PAGE_SIZE = 4096;
export const DEFAULT_MAX_WRITE = 1 << 20;
/** Room for the headers of a WRITE request on top of max_write. */
export const REQUEST_HEADROOM = 4096;

export interface SessionLimits {
  /** Largest WRITE payload and READ reply, bytes (default 1 MiB, at least 4 KiB). */
  maxWrite?: number;
  maxReadahead?: number;
  maxBackground?: number;
  congestionThreshold?: number;
}

/** Flags the session asks for on behalf of every filesystem when offered. */
const BASE_WANTS: InitFlagName[] = [
  'ASYNC_READ', 'BIG_WRITES', 'MAX_PAGES', 'PARALLEL_DIROPS', 'ASYNC_DIO', 'HAS_IOCTL_DIR',
  'AUTO_INVAL_DATA', 'INIT_EXT', 'HAS_EXPIRE_ONLY',
];

export class ConnectionInfo {
  readonly kernelMajor: number;
  readonly kernelMinor: number;
  /** Flags the kernel offered (flags | flags2 << 32). */
  readonly offered: bigint;
  /** Flags the filesystem wants; only offered ones are granted. */
  want: bigint;
  /** Set after INIT: what both sides agreed. */
  agreed = 0n;
  /** The protocol minor both speak: min(kernel's, ours). */
  readonly minor: number;
  maxWrite: number;
  maxReadahead: number;
  maxBackground: number;
  congestionThreshold: number;
  /** Timestamp granularity in ns the filesystem keeps (1 = full nanoseconds). */
  timeGran = 1;
  /** For kernel passthrough: how deep the backing files may be stacked. */
  maxStackDepth = 0;
  /** The /dev/fuse fd of the session (for FUSE_DEV_IOC_BACKING_OPEN); -1 in tests without one. */
  devFd = -1;
  /**
   * Whether users other than the one who mounted may use the mount
   * (allow_other). Without it the kernel lets only the mount's owner in.
   * True when the session was not told (the safe assumption).
   */
  othersMayAccess = true;
  /**
   * Whether the session splices large READ replies given as FileData (the
   * spliceRead option). Informational: a FileData is always accepted (read
   * through the session's io_uring, or with pread into the reply buffer).
   */
  spliceRead = false;

  constructor(init: InitIn, limits: SessionLimits = {}) {
    this.kernelMajor = init.major;
    this.kernelMinor = init.minor;
    this.minor = Math.min(init.minor, FUSE_KERNEL_MINOR_VERSION);
    this.offered = init.flags;
    this.maxReadahead = limits.maxReadahead ?? init.maxReadahead;
    this.maxWrite = Math.max(PAGE_SIZE, Math.min(limits.maxWrite ?? DEFAULT_MAX_WRITE, 256 * PAGE_SIZE));
    this.maxBackground = limits.maxBackground ?? 64;
    this.congestionThreshold = limits.congestionThreshold ?? 48;
    let want = 0n;
    for (const f of BASE_WANTS) want |= InitFlag[f];
    this.want = want;
  }

  offers(flag: InitFlagName): boolean {
    return (this.offered & InitFlag[flag]) !== 0n;
  }

  /** Ask for (or, with on = false, refuse) a capability. */
  request(flag: InitFlagName, on = true): void {
    if (on) this.want |= InitFlag[flag];
    else this.want &= ~InitFlag[flag];
  }

  wants(flag: InitFlagName): boolean {
    return (this.want & InitFlag[flag]) !== 0n;
  }

  /** After INIT: was this capability agreed by both sides? */
  has(flag: InitFlagName): boolean {
    return (this.agreed & InitFlag[flag]) !== 0n;
  }

  /** Computes the reply; records what was agreed. */
  finish(): InitOut {
    let agreed = this.want & this.offered;
    // flags2 can only be sent when the kernel understands INIT_EXT.
    if (!(this.offered & InitFlag.INIT_EXT)) agreed &= 0xffffffffn;
    // The kernel refuses passthrough together with the writeback cache.
    if (agreed & InitFlag.PASSTHROUGH && agreed & InitFlag.WRITEBACK_CACHE) agreed &= ~InitFlag.PASSTHROUGH;
    if (agreed & InitFlag.PASSTHROUGH && !(this.maxStackDepth >= 1 && this.maxStackDepth <= FILESYSTEM_MAX_STACK_DEPTH)) {
      this.maxStackDepth = 1;
    }
    if (!(agreed & InitFlag.PASSTHROUGH)) this.maxStackDepth = 0;
    this.agreed = agreed;
    const maxPages = Math.ceil(this.maxWrite / PAGE_SIZE);
    return {
      major: FUSE_KERNEL_VERSION,
      minor: FUSE_KERNEL_MINOR_VERSION,
      maxReadahead: this.maxReadahead,
      flags: agreed,
      maxBackground: this.maxBackground,
      congestionThreshold: this.congestionThreshold,
      // Without BIG_WRITES old kernels send at most one page per WRITE anyway.
      maxWrite: this.maxWrite,
      timeGran: this.timeGran,
      maxPages: agreed & InitFlag.MAX_PAGES ? maxPages : 0,
      mapAlignment: 0,
      maxStackDepth: this.maxStackDepth,
      requestTimeout: 0,
    };
  }

  /** The agreed flags by name, for logs and tests. */
  agreedNames(): InitFlagName[] {
    return (Object.keys(InitFlag) as InitFlagName[]).filter((k) => (this.agreed & InitFlag[k]) !== 0n);
  }
}
