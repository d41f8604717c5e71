// Extended attributes: by fd (f*), by path without following a final
// symlink (l*), by path following it (plain), and the *xattrat syscalls of
// Linux 6.13+ (dirfd + path + AT_* flags), which are what a passthrough needs
// to reach the xattrs of an inode it only holds an O_PATH fd for.
//
// Sizes: get/list with buf = null (or size 0) is the size probe and returns
// the current length; a buffer too small gives -ERANGE; a missing attribute
// -ENODATA. Names are `string | Buffer` like paths.

import { SYS, checkRange, cstr, declare, koffi, negErrno } from './libc.js';
import type { CPath } from './libc.js';

const _fgetxattr = declare('long fgetxattr(int fd, const char *name, void *value, size_t size)');
const _fsetxattr = declare('int fsetxattr(int fd, const char *name, const void *value, size_t size, int flags)');
const _flistxattr = declare('long flistxattr(int fd, void *list, size_t size)');
const _fremovexattr = declare('int fremovexattr(int fd, const char *name)');
const _lgetxattr = declare('long lgetxattr(const char *path, const char *name, void *value, size_t size)');
const _lsetxattr = declare('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const _llistxattr = declare('long llistxattr(const char *path, void *list, size_t size)');
const _lremovexattr = declare('int lremovexattr(const char *path, const char *name)');
const _getxattr = declare('long getxattr(const char *path, const char *name, void *value, size_t size)');
const _setxattr = declare('int setxattr(const char *path, const char *name, const void *value, size_t size, int flags)');
const _listxattr = declare('long listxattr(const char *path, void *list, size_t size)');
const _removexattr = declare('int removexattr(const char *path, const char *name)');
// The *xattrat syscalls (no glibc wrappers):
//   setxattrat(int dfd, const char *path, unsigned at_flags, const char *name, const struct xattr_args *args, size_t usize)
//   getxattrat(int dfd, const char *path, unsigned at_flags, const char *name, struct xattr_args *args, size_t usize)
//   listxattrat(int dfd, const char *path, unsigned at_flags, char *list, size_t size)
//   removexattrat(int dfd, const char *path, unsigned at_flags, const char *name)
const _xattrat6 = declare('long syscall(long nr, long dfd, const char *path, long at_flags, const char *name, void *args, size_t usize)');
const _listxattrat = declare('long syscall(long nr, long dfd, const char *path, long at_flags, void *list, size_t size)');
const _removexattrat = declare('long syscall(long nr, long dfd, const char *path, long at_flags, const char *name)');

/** buf/size for a get or list: null or 0 means "probe the size". */
function sized(buf: Buffer | null, size: number): number {
  if (buf === null) return 0;
  checkRange(buf, 0, size);
  return size;
}

// ---- by fd (not O_PATH: -EBADF) ----------------------------------------------

/** fgetxattr(2) into buf[0, size). Returns the value length | -errno. */
export function fgetxattr(fd: number, name: CPath, buf: Buffer | null, size: number = buf ? buf.length : 0): number {
  const n = cstr(name, 0);
  if (typeof n === 'number') return n;
  const s = sized(buf, size);
  const r = _fgetxattr(fd, n, s === 0 ? null : buf, s) as number;
  return r < 0 ? negErrno() : r;
}

/** fsetxattr(2) with XATTR_CREATE / XATTR_REPLACE flags. 0 | -errno. */
export function fsetxattr(fd: number, name: CPath, value: Buffer, flags = 0): number {
  const n = cstr(name, 0);
  if (typeof n === 'number') return n;
  const r = _fsetxattr(fd, n, value, value.length, flags) as number;
  return r < 0 ? negErrno() : r;
}

/** flistxattr(2): NUL-separated names into buf[0, size). Returns the list length | -errno. */
export function flistxattr(fd: number, buf: Buffer | null, size: number = buf ? buf.length : 0): number {
  const s = sized(buf, size);
  const r = _flistxattr(fd, s === 0 ? null : buf, s) as number;
  return r < 0 ? negErrno() : r;
}

/** fremovexattr(2). 0 | -errno. */
export function fremovexattr(fd: number, name: CPath): number {
  const n = cstr(name, 0);
  if (typeof n === 'number') return n;
  const r = _fremovexattr(fd, n) as number;
  return r < 0 ? negErrno() : r;
}

// ---- by path, final symlink not followed -----------------------------------------

/** lgetxattr(2). Returns the value length | -errno. */
export function lgetxattr(path: CPath, name: CPath, buf: Buffer | null, size: number = buf ? buf.length : 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  const s = sized(buf, size);
  const r = _lgetxattr(p, n, s === 0 ? null : buf, s) as number;
  return r < 0 ? negErrno() : r;
}

/** lsetxattr(2). 0 | -errno. */
export function lsetxattr(path: CPath, name: CPath, value: Buffer, flags = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  const r = _lsetxattr(p, n, value, value.length, flags) as number;
  return r < 0 ? negErrno() : r;
}

/** llistxattr(2). Returns the list length | -errno. */
export function llistxattr(path: CPath, buf: Buffer | null, size: number = buf ? buf.length : 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const s = sized(buf, size);
  const r = _llistxattr(p, s === 0 ? null : buf, s) as number;
  return r < 0 ? negErrno() : r;
}

/** lremovexattr(2). 0 | -errno. */
export function lremovexattr(path: CPath, name: CPath): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  const r = _lremovexattr(p, n) as number;
  return r < 0 ? negErrno() : r;
}

// ---- by path, following symlinks (e.g. /proc/self/fd/N) -------------------------------

/** getxattr(2). Returns the value length | -errno. */
export function getxattr(path: CPath, name: CPath, buf: Buffer | null, size: number = buf ? buf.length : 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  const s = sized(buf, size);
  const r = _getxattr(p, n, s === 0 ? null : buf, s) as number;
  return r < 0 ? negErrno() : r;
}

/** setxattr(2). 0 | -errno. */
export function setxattr(path: CPath, name: CPath, value: Buffer, flags = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  const r = _setxattr(p, n, value, value.length, flags) as number;
  return r < 0 ? negErrno() : r;
}

/** listxattr(2). Returns the list length | -errno. */
export function listxattr(path: CPath, buf: Buffer | null, size: number = buf ? buf.length : 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const s = sized(buf, size);
  const r = _listxattr(p, s === 0 ? null : buf, s) as number;
  return r < 0 ? negErrno() : r;
}

/** removexattr(2). 0 | -errno. */
export function removexattr(path: CPath, name: CPath): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  const r = _removexattr(p, n) as number;
  return r < 0 ? negErrno() : r;
}

// ---- *xattrat (Linux 6.13+, -ENOSYS before) ------------------------------------------
// Not for O_PATH fds with an empty path: see getxattrat().

// struct xattr_args { __aligned_u64 value; __u32 size; __u32 flags; } (XATTR_ARGS_SIZE_VER0 = 16)
const xattrArgs = Buffer.alloc(16);

/**
 * getxattrat(2): atFlags AT_SYMLINK_NOFOLLOW / AT_EMPTY_PATH. Returns length | -errno.
 *
 * Measured on Linux 6.18: every *xattrat call given an O_PATH fd with path ''
 * and AT_EMPTY_PATH fails with -EBADF (the empty-path case takes the fd with
 * fdget(), which refuses O_PATH files), whatever the file type. They do work
 * with (parent dir fd, name, AT_SYMLINK_NOFOLLOW), with a non-O_PATH fd and
 * '', and with (AT_FDCWD, '/proc/self/fd/N', 0). To reach the xattrs of the
 * inode behind an O_PATH fd N, use the FOLLOWING calls on '/proc/self/fd/N'
 * (getxattr/setxattr/listxattr/removexattr, or getxattrat with flags 0): the
 * magic link resolves to the inode itself, for a symlink too (its own xattrs,
 * not its target's). The l* calls on that path hit procfs (-EOPNOTSUPP).
 */
export function getxattrat(dirfd: number, path: CPath, atFlags: number, name: CPath, buf: Buffer | null, size: number = buf ? buf.length : 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  const s = sized(buf, size);
  xattrArgs.writeBigUInt64LE(s === 0 ? 0n : koffi.address(buf!), 0);
  xattrArgs.writeUInt32LE(s, 8);
  xattrArgs.writeUInt32LE(0, 12);
  const r = _xattrat6(SYS.getxattrat, dirfd, p, atFlags, n, xattrArgs, 16) as number;
  return r < 0 ? negErrno() : r;
}

/** setxattrat(2) with XATTR_CREATE / XATTR_REPLACE flags. 0 | -errno. */
export function setxattrat(dirfd: number, path: CPath, atFlags: number, name: CPath, value: Buffer, flags = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  xattrArgs.writeBigUInt64LE(value.length === 0 ? 0n : koffi.address(value), 0);
  xattrArgs.writeUInt32LE(value.length, 8);
  xattrArgs.writeUInt32LE(flags >>> 0, 12);
  const r = _xattrat6(SYS.setxattrat, dirfd, p, atFlags, n, xattrArgs, 16) as number;
  return r < 0 ? negErrno() : r;
}

/** listxattrat(2). Returns the list length | -errno. */
export function listxattrat(dirfd: number, path: CPath, atFlags: number, buf: Buffer | null, size: number = buf ? buf.length : 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const s = sized(buf, size);
  const r = _listxattrat(SYS.listxattrat, dirfd, p, atFlags, s === 0 ? null : buf, s) as number;
  return r < 0 ? negErrno() : r;
}

/** removexattrat(2). 0 | -errno. */
export function removexattrat(dirfd: number, path: CPath, atFlags: number, name: CPath): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const n = cstr(name, 1);
  if (typeof n === 'number') return n;
  const r = _removexattrat(SYS.removexattrat, dirfd, p, atFlags, n) as number;
  return r < 0 ? negErrno() : r;
}

/** Splits a list filled by *listxattr into names (views into buf, no copy). */
export function splitXattrList(buf: Buffer, len: number): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < len; i++) {
    if (buf[i] === 0) {
      if (i > start) out.push(buf.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < len) out.push(buf.subarray(start, len));
  return out;
}
