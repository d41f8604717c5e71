// What every part of the passthrough needs to call the host: failed system
// calls turned into FuseErrors carrying the host's errno, and the statx flags
// and file-type bits shared by the parts.

import * as sys from '../../sys/index.js';
import { FuseError } from '../../session/errors.js';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
/** The fields every lookup and getattr asks statx for. */
export const STATX_MASK = sys.STATX_BASIC_STATS | sys.STATX_BTIME | sys.STATX_MNT_ID;
/** statx/utimensat/fchownat of the fd itself, never of a symlink's target. */
export const EMPTY = sys.AT_EMPTY_PATH | sys.AT_SYMLINK_NOFOLLOW;

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
