// What every part of the passthrough needs to call the host: failed system
// calls turned into FuseErrors carrying the host's errno, the statx flags and
// file-type bits shared by the parts, and a host file's identity.

import * as sys from '../../sys/index.js';
import { FuseError } from '../../session/errors.js';
import type { Identity } from './inode.js';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
/** The fields every lookup and getattr asks statx for. */
export const STATX_MASK = sys.STATX_BASIC_STATS | sys.STATX_BTIME | sys.STATX_MNT_ID;
/** statx/utimensat/fchownat of the fd itself, never of a symlink's target. */
export const EMPTY = sys.AT_EMPTY_PATH | sys.AT_SYMLINK_NOFOLLOW;

/**
 * A truncate (SETATTR, or an OPEN with O_TRUNC) that drops at least this much
 * of a file, or an fallocate of at least this length, is left to the session
 * (FileTruncate, FileAllocate), which makes it without holding up other
 * requests: dropping 1 GiB of dirty pages took 46-54 ms here, and inline
 * that held up every other client of the mount (docs/benchmarks.md, the
 * stall group). Smaller ones are quick, and inline they cost no hand-off to
 * a kernel worker.
 */
export const OFF_THREAD_BYTES = 1n << 20n;

const lastBuf = Buffer.alloc(256);
/** OFF_THREAD_BYTES in statx's 512-byte blocks (a constant: BigInt arithmetic allocates). */
const OFF_THREAD_BLOCKS = OFF_THREAD_BYTES / 512n;

/**
 * Whether closing `fd` frees a removed file of OFF_THREAD_BYTES or more of
 * blocks, if it is the file's last reference: no links left, and that many
 * blocks. That close drops the file's cached pages and frees its blocks
 * (40 ms to 0.7 s for 1 GiB on ext4 here, ad hoc), so it is left to the
 * session (FileClose), which makes it off its thread.
 */
export function freesMuch(fd: number): boolean {
  if (sys.statx(fd, '', sys.AT_EMPTY_PATH, sys.STATX_NLINK | sys.STATX_BLOCKS, lastBuf) < 0) return false;
  return lastBuf.readUInt32LE(16) === 0 && lastBuf.readBigUInt64LE(48) >= OFF_THREAD_BLOCKS;
}

/** (device, mount) of a host file as the inode table's key. */
export function devKeyOf(major: number, minor: number, mnt: bigint): string {
  return `${major}:${minor}:${mnt}`;
}

const idBuf = Buffer.alloc(256);
const idView = new DataView(idBuf.buffer, idBuf.byteOffset, 256);

/** What the file `fd` is: (device and mount, inode, birth time), to check an inode reopened by name; or -errno. */
export function identityOf(fd: number): Identity | number {
  const r = sys.statx(fd, '', EMPTY, STATX_MASK, idBuf);
  if (r < 0) return r;
  return {
    devKey: devKeyOf(idBuf.readUInt32LE(136), idBuf.readUInt32LE(140), idView.getBigUint64(144, true)),
    ino: idView.getBigUint64(32, true),
    btimeSec: Number(idView.getBigInt64(80, true)),
    btimeNsec: idBuf.readUInt32LE(88),
  };
}

// One error object per errno, thrown again and again: a failed system call
// (ENOENT on a negative lookup, ENODATA on a getxattr) is routine here.
const ERRORS: FuseError[] = [];

/** The FuseError for a failed call's negative return value, to return (cheaper than throwing it). */
export function failure(ret: number): FuseError {
  return (ERRORS[-ret] ??= new FuseError(-ret));
}

/** Throws the FuseError for a failed call's negative return value. */
export function fail(ret: number): never {
  throw failure(ret);
}

/** A call's return value, or its errno thrown when it failed. */
export function ok(ret: number): number {
  if (ret < 0) fail(ret);
  return ret;
}

/**
 * Whether the directory `dirFd` is the directory whose "devKey:inode" is
 * `rootKey`, or below it: walks '..' on the host up to the host's root.
 */
export function isBelow(dirFd: number, rootKey: string): boolean {
  const keyOf = (fd: number): string | null => {
    const id = identityOf(fd);
    return typeof id === 'number' ? null : `${id.devKey}:${id.ino}`;
  };
  let cur = sys.openat(dirFd, '.', sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
  if (cur < 0) return false;
  try {
    for (let depth = 0; depth < 4096; depth++) {
      const key = keyOf(cur);
      if (key === null) return false;
      if (key === rootKey) return true;
      const up = sys.openat(cur, '..', sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
      if (up < 0) return false;
      const upKey = keyOf(up);
      if (upKey === null || upKey === key) {
        sys.close(up);
        return false; // the host's root: the source was not on the way
      }
      sys.close(cur);
      cur = up;
    }
    return false;
  } finally {
    sys.close(cur);
  }
}
