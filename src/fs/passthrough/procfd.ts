// /proc/self/fd held open. The passthrough reaches the inode behind an O_PATH
// fd through its magic link (to reopen it with real access modes, to read
// its xattrs); a lookup of "N" relative to this directory walks one path
// step, where "/proc/self/fd/N" walks four: ~1 µs less per OPEN (measured,
// 2.95 against 3.89 µs for open+close on Linux 6.18).

import * as sys from '../../sys/index.js';
import { Errno } from '../../session/errors.js';

export class ProcFdDir {
  /** The open directory, or -1 when /proc could not be opened (then absolute paths). */
  private dir: number;
  /** getxattrat is missing (before Linux 6.13): use the path form. */
  private noXattrAt = false;

  constructor() {
    this.dir = sys.open('/proc/self/fd', sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
  }

  /** open(2) of the file behind `fd` with `flags`: an fd | -errno. */
  reopen(fd: number, flags: number): number {
    return this.dir >= 0 ? sys.openat(this.dir, String(fd), flags) : sys.open(`/proc/self/fd/${fd}`, flags);
  }

  /**
   * getxattr of the inode behind `fd` (following the magic link, so a
   * symlink's own xattrs): getxattrat from the directory, or before Linux
   * 6.13 (ENOSYS) the path form. Length | -errno.
   */
  getxattr(fd: number, name: Buffer, buf: Buffer | null, size: number): number {
    if (this.xattrAt()) {
      const r = sys.getxattrat(this.dir, String(fd), 0, name, buf, size);
      if (r !== -Errno.ENOSYS) return r;
      this.noXattrAt = true;
    }
    return sys.getxattr(`/proc/self/fd/${fd}`, name, buf, size);
  }

  /** setxattr of the inode behind `fd` (flags XATTR_CREATE/REPLACE). 0 | -errno. */
  setxattr(fd: number, name: Buffer, value: Buffer, flags: number): number {
    if (this.xattrAt()) {
      const r = sys.setxattrat(this.dir, String(fd), 0, name, value, flags);
      if (r !== -Errno.ENOSYS) return r;
      this.noXattrAt = true;
    }
    return sys.setxattr(`/proc/self/fd/${fd}`, name, value, flags);
  }

  /** listxattr of the inode behind `fd`: NUL-separated names into buf[0, size). Length | -errno. */
  listxattr(fd: number, buf: Buffer | null, size: number): number {
    if (this.xattrAt()) {
      const r = sys.listxattrat(this.dir, String(fd), 0, buf, size);
      if (r !== -Errno.ENOSYS) return r;
      this.noXattrAt = true;
    }
    return sys.listxattr(`/proc/self/fd/${fd}`, buf, size);
  }

  /** removexattr of the inode behind `fd`. 0 | -errno. */
  removexattr(fd: number, name: Buffer): number {
    if (this.xattrAt()) {
      const r = sys.removexattrat(this.dir, String(fd), 0, name);
      if (r !== -Errno.ENOSYS) return r;
      this.noXattrAt = true;
    }
    return sys.removexattr(`/proc/self/fd/${fd}`, name);
  }

  private xattrAt(): boolean {
    return this.dir >= 0 && !this.noXattrAt;
  }

  close(): void {
    if (this.dir >= 0) sys.close(this.dir);
    this.dir = -1;
  }
}
