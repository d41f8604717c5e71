// The statx buffer the passthrough reads a host file's attributes into, and
// what it reads back out of it: the file's identity (device and mount, inode
// number, birth time) and the attributes the kernel is given, with owners
// mapped to the client's view. One buffer, reused by every request: the
// session thread serves one request at a time.

import * as sys from '../../sys/index.js';
import type { Attr, StatxReply } from '../../session/filesystem.js';
import type { IdMap } from './idmap.js';
import type { DirStamp } from './dir-listings.js';
import { S_IFMT, STATX_MASK, devKeyOf } from './host.js';

const NS = 1_000_000_000n;

export class StatBuffer {
  readonly buf = Buffer.alloc(256);
  // BigInt fields through a DataView: V8 builtins, where Buffer's BigInt accessors are JavaScript.
  private readonly v = new DataView(this.buf.buffer, this.buf.byteOffset, 256);
  private readonly lastDev = { major: -1, minor: -1, mnt: -1n, key: '' };

  constructor(
    private readonly uidMap: IdMap,
    private readonly gidMap: IdMap,
  ) {}

  /** statx(2) of `name` in `dirfd` into the buffer (STATX_MASK unless told). 0 | -errno. */
  read(dirfd: number, name: Buffer | string, flags: number, mask: number = STATX_MASK): number {
    return sys.statx(dirfd, name, flags, mask, this.buf);
  }

  /** st_mode: type and permission bits. */
  get mode(): number {
    return this.v.getUint16(28, true);
  }

  /** The S_IFMT bits of st_mode. */
  get type(): number {
    return this.mode & S_IFMT;
  }

  /** (device, mount) of the file as the inode table's key. */
  devKey(): string {
    const major = this.v.getUint32(136, true);
    const minor = this.v.getUint32(140, true);
    const mnt = this.mntId();
    // Almost every file is on the device of the one before: reuse its key string.
    const last = this.lastDev;
    if (last.major === major && last.minor === minor && last.mnt === mnt) return last.key;
    last.major = major;
    last.minor = minor;
    last.mnt = mnt;
    last.key = devKeyOf(major, minor, mnt);
    return last.key;
  }

  /** The host's inode number. */
  hostIno(): bigint {
    return this.v.getBigUint64(32, true);
  }

  /** The id of the mount the file is on. */
  mntId(): bigint {
    return this.v.getBigUint64(144, true);
  }

  /** mtime, ctime and size (a directory's state, dir-listings.ts), as numbers, written into `into`. */
  dirStamp(into: DirStamp): DirStamp {
    into.mtimeSec = Number(this.v.getBigInt64(112, true));
    into.mtimeNsec = this.v.getUint32(120, true);
    into.ctimeSec = Number(this.v.getBigInt64(96, true));
    into.ctimeNsec = this.v.getUint32(104, true);
    into.size = Number(this.v.getBigUint64(40, true));
    return into;
  }

  /** Birth time, seconds: with it, a reused inode number is a different file. */
  btimeSec(): number {
    return Number(this.v.getBigInt64(80, true));
  }

  /** Birth time, nanoseconds. */
  btimeNsec(): number {
    return this.v.getUint32(88, true);
  }

  /** The attributes for the kernel, with `stIno` as st_ino and owners in the client's view. */
  attr(stIno: bigint): Attr {
    const v = this.v;
    return {
      ino: stIno,
      size: v.getBigUint64(40, true),
      blocks: v.getBigUint64(48, true),
      atimeNs: v.getBigInt64(64, true) * NS + BigInt(v.getUint32(72, true)),
      mtimeNs: v.getBigInt64(112, true) * NS + BigInt(v.getUint32(120, true)),
      ctimeNs: v.getBigInt64(96, true) * NS + BigInt(v.getUint32(104, true)),
      mode: v.getUint16(28, true),
      nlink: v.getUint32(16, true),
      uid: this.uidMap.toClient(v.getUint32(20, true)),
      gid: this.gidMap.toClient(v.getUint32(24, true)),
      rdev: sys.newEncodeDev(v.getUint32(128, true), v.getUint32(132, true)),
      blksize: v.getUint32(4, true),
    };
  }

  /**
   * A STATX reply of the buffer, with `stIno` as st_ino and owners in the
   * client's view. The mount id is the host's, not the mount's: left out
   * of the mask, and the device is the kernel's to fill in.
   */
  statxReply(stIno: bigint, attrTimeout: number): StatxReply {
    const v = this.v;
    const t = (off: number): { sec: bigint; nsec: number } => ({ sec: v.getBigInt64(off, true), nsec: v.getUint32(off + 8, true) });
    return {
      attrTimeout,
      mask: v.getUint32(0, true) & ~sys.STATX_MNT_ID,
      blksize: v.getUint32(4, true),
      attributes: v.getBigUint64(8, true),
      nlink: v.getUint32(16, true),
      uid: this.uidMap.toClient(v.getUint32(20, true)),
      gid: this.gidMap.toClient(v.getUint32(24, true)),
      mode: v.getUint16(28, true),
      ino: stIno,
      size: v.getBigUint64(40, true),
      blocks: v.getBigUint64(48, true),
      attributesMask: v.getBigUint64(56, true),
      atime: t(64),
      btime: t(80),
      ctime: t(96),
      mtime: t(112),
      rdevMajor: v.getUint32(128, true),
      rdevMinor: v.getUint32(132, true),
      devMajor: 0,
      devMinor: 0,
    };
  }
}
