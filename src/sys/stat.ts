// statx(2) and fstatfs(2) into caller-provided Buffers, their decoders, and
// the fast path: the byte offsets of struct statx, so hot code can read a
// field straight from the Buffer without building an object.
// Also dev_t packing (glibc's makedev/major/minor, and the kernel's 32-bit
// "new" encoding that FUSE's attr.rdev uses).

import { checkRange, cstr, declare, negErrno } from './libc.js';
import type { CPath } from './libc.js';

const _statx = declare('int statx(int dirfd, const char *path, int flags, uint32_t mask, void *statxbuf)');
const _fstatfs = declare('int fstatfs64(int fd, void *buf)');
const _statfs = declare('int statfs64(const char *path, void *buf)');

// ---------------------------------------------------------------------------
// statx

/** sizeof(struct statx). */
export const STATX_BUF_SIZE = 256;

// Byte offsets in struct statx (include/uapi/linux/stat.h). All little-endian.
export const STX_MASK = 0; // u32
export const STX_BLKSIZE = 4; // u32
export const STX_ATTRIBUTES = 8; // u64
export const STX_NLINK = 16; // u32
export const STX_UID = 20; // u32
export const STX_GID = 24; // u32
export const STX_MODE = 28; // u16
export const STX_INO = 32; // u64
export const STX_SIZE = 40; // u64
export const STX_BLOCKS = 48; // u64 (512-byte units)
export const STX_ATTRIBUTES_MASK = 56; // u64
// Timestamps: struct statx_timestamp { i64 tv_sec; u32 tv_nsec; i32 reserved; }
export const STX_ATIME = 64; // sec i64 @+0, nsec u32 @+8
export const STX_BTIME = 80;
export const STX_CTIME = 96;
export const STX_MTIME = 112;
export const STX_RDEV_MAJOR = 128; // u32
export const STX_RDEV_MINOR = 132; // u32
export const STX_DEV_MAJOR = 136; // u32
export const STX_DEV_MINOR = 140; // u32
export const STX_MNT_ID = 144; // u64
export const STX_DIO_MEM_ALIGN = 152; // u32
export const STX_DIO_OFFSET_ALIGN = 156; // u32
export const STX_SUBVOL = 160; // u64

/**
 * statx(2) into out (>= 256 bytes). flags: AT_* (AT_EMPTY_PATH with path '' to
 * stat an fd, including an O_PATH one; AT_SYMLINK_NOFOLLOW). mask: STATX_*.
 * Returns 0 | -errno. Read fields with decodeStatx(out) or straight from the
 * Buffer at the STX_* offsets.
 */
export function statx(dirfd: number, path: CPath, flags: number, mask: number, out: Buffer): number {
  checkRange(out, 0, STATX_BUF_SIZE);
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _statx(dirfd, p, flags, mask >>> 0, out) as number;
  return r < 0 ? negErrno() : r;
}

export interface Timespec {
  sec: bigint;
  nsec: number;
}

export interface Statx {
  /** STATX_* bits of the fields actually filled in. */
  mask: number;
  blksize: number;
  attributes: bigint;
  attributesMask: bigint;
  nlink: number;
  uid: number;
  gid: number;
  /** File type and permission bits (S_IF* | 0o7777). */
  mode: number;
  ino: bigint;
  size: bigint;
  /** In 512-byte units. */
  blocks: bigint;
  atime: Timespec;
  btime: Timespec;
  ctime: Timespec;
  mtime: Timespec;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
  mntId: bigint;
}

function ts(b: Buffer, off: number): Timespec {
  return { sec: b.readBigInt64LE(off), nsec: b.readUInt32LE(off + 8) };
}

/** Decodes a struct statx filled in by statx(). */
export function decodeStatx(b: Buffer): Statx {
  return {
    mask: b.readUInt32LE(STX_MASK),
    blksize: b.readUInt32LE(STX_BLKSIZE),
    attributes: b.readBigUInt64LE(STX_ATTRIBUTES),
    attributesMask: b.readBigUInt64LE(STX_ATTRIBUTES_MASK),
    nlink: b.readUInt32LE(STX_NLINK),
    uid: b.readUInt32LE(STX_UID),
    gid: b.readUInt32LE(STX_GID),
    mode: b.readUInt16LE(STX_MODE),
    ino: b.readBigUInt64LE(STX_INO),
    size: b.readBigUInt64LE(STX_SIZE),
    blocks: b.readBigUInt64LE(STX_BLOCKS),
    atime: ts(b, STX_ATIME),
    btime: ts(b, STX_BTIME),
    ctime: ts(b, STX_CTIME),
    mtime: ts(b, STX_MTIME),
    rdevMajor: b.readUInt32LE(STX_RDEV_MAJOR),
    rdevMinor: b.readUInt32LE(STX_RDEV_MINOR),
    devMajor: b.readUInt32LE(STX_DEV_MAJOR),
    devMinor: b.readUInt32LE(STX_DEV_MINOR),
    mntId: b.readBigUInt64LE(STX_MNT_ID),
  };
}

// ---------------------------------------------------------------------------
// statfs

/** sizeof(struct statfs) on 64-bit Linux. */
export const STATFS_BUF_SIZE = 120;

/** fstatfs(2) into out (>= 120 bytes). 0 | -errno. Works on O_PATH fds. */
export function fstatfs(fd: number, out: Buffer): number {
  checkRange(out, 0, STATFS_BUF_SIZE);
  const r = _fstatfs(fd, out) as number;
  return r < 0 ? negErrno() : r;
}

/** statfs(2) into out (>= 120 bytes). 0 | -errno. */
export function statfs(path: CPath, out: Buffer): number {
  checkRange(out, 0, STATFS_BUF_SIZE);
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _statfs(p, out) as number;
  return r < 0 ? negErrno() : r;
}

export interface Statfs {
  /** Filesystem magic (f_type). */
  type: number;
  bsize: number;
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  fsid: [number, number];
  namelen: number;
  frsize: number;
  /** ST_* mount flags (f_flags). */
  flags: number;
}

// struct statfs (64-bit): long f_type @0; long f_bsize @8; u64 f_blocks @16;
// f_bfree @24; f_bavail @32; f_files @40; f_ffree @48; int f_fsid[2] @56;
// long f_namelen @64; long f_frsize @72; long f_flags @80; long f_spare[4] @88.
/** Decodes a struct statfs filled in by fstatfs()/statfs(). */
export function decodeStatfs(b: Buffer): Statfs {
  return {
    type: Number(b.readBigInt64LE(0)),
    bsize: Number(b.readBigInt64LE(8)),
    blocks: b.readBigUInt64LE(16),
    bfree: b.readBigUInt64LE(24),
    bavail: b.readBigUInt64LE(32),
    files: b.readBigUInt64LE(40),
    ffree: b.readBigUInt64LE(48),
    fsid: [b.readInt32LE(56), b.readInt32LE(60)],
    namelen: Number(b.readBigInt64LE(64)),
    frsize: Number(b.readBigInt64LE(72)),
    flags: Number(b.readBigInt64LE(80)),
  };
}

// ---------------------------------------------------------------------------
// dev_t

/** glibc makedev(): the 64-bit dev_t for mknodat(). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** glibc major() of a 64-bit dev_t. */
export function major(dev: bigint | number): number {
  const d = BigInt(dev);
  return Number(((d >> 32n) & 0xfffff000n) | ((d >> 8n) & 0xfffn));
}

/** glibc minor() of a 64-bit dev_t. */
export function minor(dev: bigint | number): number {
  const d = BigInt(dev);
  return Number(((d >> 12n) & 0xffffff00n) | (d & 0xffn));
}

/**
 * The kernel's 32-bit dev encoding (new_encode_dev), as carried in FUSE's
 * fuse_attr.rdev and fuse_mknod_in.rdev: 12-bit major, 20-bit minor.
 */
export function newEncodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** Inverse of newEncodeDev: [major, minor]. */
export function newDecodeDev(dev: number): [number, number] {
  return [(dev & 0xfff00) >>> 8, ((dev & 0xff) | ((dev >>> 12) & 0xfff00)) >>> 0];
}
