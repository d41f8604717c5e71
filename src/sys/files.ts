// Namespace and inode operations relative to directory fds (the *at family),
// permissions, ownership and times, directory listing with getdents64, and
// file handles. All return >= 0 on success, -errno on failure.

import { SYS, checkRange, cstr, declare, negErrno } from './libc.js';
import type { CPath } from './libc.js';

const _mkdirat = declare('int mkdirat(int dirfd, const char *path, uint32_t mode)');
const _mknodat = declare('int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)');
const _symlinkat = declare('int symlinkat(const char *target, int newdirfd, const char *linkpath)');
const _readlinkat = declare('long readlinkat(int dirfd, const char *path, void *buf, size_t size)');
const _unlinkat = declare('int unlinkat(int dirfd, const char *path, int flags)');
const _renameat2 = declare('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, uint32_t flags)');
const _linkat = declare('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)');
const _fchmod = declare('int fchmod(int fd, uint32_t mode)');
const _fchmodat = declare('int fchmodat(int dirfd, const char *path, uint32_t mode, int flags)');
const _fchmodat2 = declare('long syscall(long nr, long dirfd, const char *path, long mode, long flags)');
const _faccessat2 = declare('long syscall(long nr, long dirfd, const char *path, long mode, long flags)');
const _fchownat = declare('int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)');
const _fchown = declare('int fchown(int fd, uint32_t uid, uint32_t gid)');
const _utimensat = declare('int utimensat(int dirfd, const char *path, void *times, int flags)');
const _futimens = declare('int futimens(int fd, void *times)');
const _getdents64 = declare('long syscall(long nr, long fd, void *buf, size_t count)');
const _nameToHandleAt = declare('int name_to_handle_at(int dirfd, const char *path, void *handle, void *mount_id, int flags)');
const _openByHandleAt = declare('int open_by_handle_at(int mount_fd, void *handle, int flags)');

/** mkdirat(2). 0 | -errno. */
export function mkdirat(dirfd: number, path: CPath, mode: number): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _mkdirat(dirfd, p, mode) as number;
  return r < 0 ? negErrno() : r;
}

/** mknodat(2). mode includes the S_IF* type; dev is a 64-bit dev_t (see makedev()). 0 | -errno. */
export function mknodat(dirfd: number, path: CPath, mode: number, dev: bigint | number = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _mknodat(dirfd, p, mode, dev) as number;
  return r < 0 ? negErrno() : r;
}

/** symlinkat(2): creates `path` (relative to dirfd) pointing at `target`. 0 | -errno. */
export function symlinkat(target: CPath, dirfd: number, path: CPath): number {
  const t = cstr(target, 0);
  if (typeof t === 'number') return t;
  const p = cstr(path, 1);
  if (typeof p === 'number') return p;
  const r = _symlinkat(t, dirfd, p) as number;
  return r < 0 ? negErrno() : r;
}

/**
 * readlinkat(2) into buf (no NUL appended). Returns the target length | -errno.
 * A result equal to buf.length may mean truncation. With an O_PATH|O_NOFOLLOW
 * fd of the link itself, pass path ''.
 */
export function readlinkat(dirfd: number, path: CPath, buf: Buffer): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _readlinkat(dirfd, p, buf, buf.length) as number;
  return r < 0 ? negErrno() : r;
}

/** unlinkat(2); flags AT_REMOVEDIR to remove a directory. 0 | -errno. */
export function unlinkat(dirfd: number, path: CPath, flags = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _unlinkat(dirfd, p, flags) as number;
  return r < 0 ? negErrno() : r;
}

/** renameat2(2) with RENAME_NOREPLACE / RENAME_EXCHANGE / RENAME_WHITEOUT. 0 | -errno. */
export function renameat2(olddirfd: number, oldpath: CPath, newdirfd: number, newpath: CPath, flags = 0): number {
  const o = cstr(oldpath, 0);
  if (typeof o === 'number') return o;
  const n = cstr(newpath, 1);
  if (typeof n === 'number') return n;
  const r = _renameat2(olddirfd, o, newdirfd, n, flags >>> 0) as number;
  return r < 0 ? negErrno() : r;
}

/** linkat(2); AT_EMPTY_PATH with oldpath '' links an fd (needs CAP_DAC_READ_SEARCH). 0 | -errno. */
export function linkat(olddirfd: number, oldpath: CPath, newdirfd: number, newpath: CPath, flags = 0): number {
  const o = cstr(oldpath, 0);
  if (typeof o === 'number') return o;
  const n = cstr(newpath, 1);
  if (typeof n === 'number') return n;
  const r = _linkat(olddirfd, o, newdirfd, n, flags) as number;
  return r < 0 ? negErrno() : r;
}

// ---------------------------------------------------------------------------
// permissions, owners, times

/** fchmod(2). Not on O_PATH fds (-EBADF): use fchmodat2(fd, '', mode, AT_EMPTY_PATH). 0 | -errno. */
export function fchmod(fd: number, mode: number): number {
  const r = _fchmod(fd, mode) as number;
  return r < 0 ? negErrno() : r;
}

/** glibc fchmodat(3). With AT_SYMLINK_NOFOLLOW glibc emulates it and fails on symlinks (-EOPNOTSUPP). 0 | -errno. */
export function fchmodat(dirfd: number, path: CPath, mode: number, flags = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _fchmodat(dirfd, p, mode, flags) as number;
  return r < 0 ? negErrno() : r;
}

/**
 * fchmodat2(2) (syscall 452, Linux 6.6+): honours AT_SYMLINK_NOFOLLOW and
 * AT_EMPTY_PATH in the kernel, so fchmodat2(opathFd, '', mode, AT_EMPTY_PATH)
 * chmods through an O_PATH fd. -ENOSYS on older kernels. 0 | -errno.
 */
export function fchmodat2(dirfd: number, path: CPath, mode: number, flags = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _fchmodat2(SYS.fchmodat2, dirfd, p, mode, flags) as number;
  return r < 0 ? negErrno() : r;
}

/**
 * faccessat2(2) (syscall 439, Linux 5.8+): mode F_OK or R_OK|W_OK|X_OK; flags
 * AT_EACCESS (check with the effective/fs ids, as the kernel does for a
 * FUSE caller), AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH (path '' on an O_PATH fd).
 * 0 | -errno (-EACCES when denied).
 */
export function faccessat2(dirfd: number, path: CPath, mode: number, flags = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  const r = _faccessat2(SYS.faccessat2, dirfd, p, mode, flags) as number;
  return r < 0 ? negErrno() : r;
}

/** fchownat(2). uid/gid -1 leave that id unchanged. AT_EMPTY_PATH works with O_PATH fds. 0 | -errno. */
export function fchownat(dirfd: number, path: CPath, uid: number, gid: number, flags = 0): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  // uid_t is unsigned: -1 must travel as 0xffffffff.
  const r = _fchownat(dirfd, p, uid >>> 0, gid >>> 0, flags) as number;
  return r < 0 ? negErrno() : r;
}

/** fchown(2). uid/gid -1 leave that id unchanged. 0 | -errno. */
export function fchown(fd: number, uid: number, gid: number): number {
  const r = _fchown(fd, uid >>> 0, gid >>> 0) as number;
  return r < 0 ? negErrno() : r;
}

// struct timespec times[2] = { { i64 sec, i64 nsec } atime, { ... } mtime }
const times = Buffer.alloc(32);

function setTimes(aSec: bigint | number, aNsec: number, mSec: bigint | number, mNsec: number): void {
  times.writeBigInt64LE(BigInt(aSec), 0);
  times.writeBigInt64LE(BigInt(aNsec), 8);
  times.writeBigInt64LE(BigInt(mSec), 16);
  times.writeBigInt64LE(BigInt(mNsec), 24);
}

/**
 * utimensat(2). Each nsec may be UTIME_NOW or UTIME_OMIT (the sec is then
 * ignored). path '' with AT_EMPTY_PATH sets times through an fd, including an
 * O_PATH one. 0 | -errno.
 */
export function utimensat(
  dirfd: number,
  path: CPath,
  atimeSec: bigint | number,
  atimeNsec: number,
  mtimeSec: bigint | number,
  mtimeNsec: number,
  flags = 0,
): number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  setTimes(atimeSec, atimeNsec, mtimeSec, mtimeNsec);
  const r = _utimensat(dirfd, p, times, flags) as number;
  return r < 0 ? negErrno() : r;
}

/** futimens(3). Same time conventions as utimensat. 0 | -errno. */
export function futimens(fd: number, atimeSec: bigint | number, atimeNsec: number, mtimeSec: bigint | number, mtimeNsec: number): number {
  setTimes(atimeSec, atimeNsec, mtimeSec, mtimeNsec);
  const r = _futimens(fd, times) as number;
  return r < 0 ? negErrno() : r;
}

// ---------------------------------------------------------------------------
// getdents64

// struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
export const DIRENT_INO = 0;
export const DIRENT_OFF = 8;
export const DIRENT_RECLEN = 16;
export const DIRENT_TYPE = 18;
export const DIRENT_NAME = 19;

/**
 * getdents64(2) (raw syscall: works on every glibc): fills buf[0, len) with
 * linux_dirent64 records. Returns bytes filled (0 at end of directory) | -errno.
 * The fd's position advances; lseek(fd, d_off, SEEK_SET) resumes after an entry.
 */
export function getdents64(fd: number, buf: Buffer, len: number = buf.length): number {
  checkRange(buf, 0, len);
  const r = _getdents64(SYS.getdents64, fd, buf, len) as number;
  return r < 0 ? negErrno() : r;
}

export interface Dirent64 {
  ino: bigint;
  /** Opaque position of the NEXT entry (for lseek / FUSE readdir offsets). */
  off: bigint;
  /** DT_* */
  type: number;
  /** The name's bytes: a view into the getdents64 buffer (no copy), valid until it is reused. */
  name: Buffer;
}

/** Iterates the records getdents64() left in buf[0, len). Includes '.' and '..'. */
export function* dirents(buf: Buffer, len: number): Generator<Dirent64> {
  let pos = 0;
  while (pos < len) {
    const nameStart = pos + DIRENT_NAME;
    const reclen = direntRecordLength(buf, pos);
    yield {
      ino: buf.readBigUInt64LE(pos + DIRENT_INO),
      off: buf.readBigInt64LE(pos + DIRENT_OFF),
      type: buf[pos + DIRENT_TYPE]!,
      name: buf.subarray(nameStart, nameStart + direntNameLength(buf, pos)),
    };
    pos += reclen;
  }
}

/** d_reclen of the record at pos (little-endian u16, read without a native call: it runs for every listed name). */
export function direntRecordLength(buf: Uint8Array, pos: number): number {
  return buf[pos + DIRENT_RECLEN]! | (buf[pos + DIRENT_RECLEN + 1]! << 8);
}

/**
 * Length of the name of the record at pos, without a native call: it runs
 * for every listed name. The record is the name, its NUL and at most 7
 * bytes of padding (which the kernel does not clear: a reused buffer keeps
 * old bytes there), so the NUL is among the record's last 8 bytes, and name
 * bytes are never 0.
 */
export function direntNameLength(buf: Uint8Array, pos: number): number {
  const nameStart = pos + DIRENT_NAME;
  const end = pos + direntRecordLength(buf, pos);
  let i = Math.max(nameStart, end - 8);
  while (i < end && buf[i] !== 0) i++;
  return i - nameStart;
}

// ---------------------------------------------------------------------------
// file handles

export const MAX_HANDLE_SZ = 128;

export interface FileHandle {
  handleType: number;
  /** The opaque f_handle bytes (a copy). */
  handleBytes: Buffer;
  /** Mount id (the unique 64-bit one with AT_HANDLE_MNT_ID_UNIQUE). */
  mountId: bigint;
}

// struct file_handle { u32 handle_bytes; i32 handle_type; u8 f_handle[]; }
const handleBuf = Buffer.alloc(8 + MAX_HANDLE_SZ);
const mountIdBuf = Buffer.alloc(8);

/** name_to_handle_at(2). flags: AT_EMPTY_PATH, AT_SYMLINK_FOLLOW, AT_HANDLE_FID, AT_HANDLE_MNT_ID_UNIQUE. Handle | -errno. */
export function name_to_handle_at(dirfd: number, path: CPath, flags = 0): FileHandle | number {
  const p = cstr(path, 0);
  if (typeof p === 'number') return p;
  handleBuf.writeUInt32LE(MAX_HANDLE_SZ, 0);
  mountIdBuf.fill(0);
  const r = _nameToHandleAt(dirfd, p, handleBuf, mountIdBuf, flags) as number;
  if (r < 0) return negErrno();
  const n = handleBuf.readUInt32LE(0);
  const unique = (flags & 0x001) !== 0;
  return {
    handleType: handleBuf.readInt32LE(4),
    handleBytes: Buffer.from(handleBuf.subarray(8, 8 + n)),
    mountId: unique ? mountIdBuf.readBigUInt64LE(0) : BigInt(mountIdBuf.readInt32LE(0)),
  };
}

/**
 * open_by_handle_at(2) (needs CAP_DAC_READ_SEARCH). mountfd: any fd on the
 * same mount but NOT an O_PATH one (-EBADF), or AT_FDCWD. flags may include
 * O_PATH. fd | -errno (-ESTALE for a handle that no longer resolves).
 */
export function open_by_handle_at(mountfd: number, handle: { handleType: number; handleBytes: Buffer }, flags: number): number {
  const n = handle.handleBytes.length;
  if (n > MAX_HANDLE_SZ) return -22;
  handleBuf.writeUInt32LE(n, 0);
  handleBuf.writeInt32LE(handle.handleType, 4);
  handle.handleBytes.copy(handleBuf, 8);
  const r = _openByHandleAt(mountfd, handleBuf, flags) as number;
  return r < 0 ? negErrno() : r;
}
