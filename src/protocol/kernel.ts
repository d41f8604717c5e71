// Numbers and sizes of the Linux FUSE kernel protocol, as in the kernel's
// include/uapi/linux/fuse.h at protocol 7.45. Names mirror the header so a
// reader can grep for them there.

export const FUSE_KERNEL_VERSION = 7;
export const FUSE_KERNEL_MINOR_VERSION = 45;
export const FUSE_ROOT_ID = 1n;
/** The kernel refuses a read buffer smaller than this. */
export const FUSE_MIN_READ_BUFFER = 8192;

export enum Opcode {
  FUSE_LOOKUP = 1,
  FUSE_FORGET = 2,
  FUSE_GETATTR = 3,
  FUSE_SETATTR = 4,
  FUSE_READLINK = 5,
  FUSE_SYMLINK = 6,
  FUSE_MKNOD = 8,
  FUSE_MKDIR = 9,
  FUSE_UNLINK = 10,
  FUSE_RMDIR = 11,
  FUSE_RENAME = 12,
  FUSE_LINK = 13,
  FUSE_OPEN = 14,
  FUSE_READ = 15,
  FUSE_WRITE = 16,
  FUSE_STATFS = 17,
  FUSE_RELEASE = 18,
  FUSE_FSYNC = 20,
  FUSE_SETXATTR = 21,
  FUSE_GETXATTR = 22,
  FUSE_LISTXATTR = 23,
  FUSE_REMOVEXATTR = 24,
  FUSE_FLUSH = 25,
  FUSE_INIT = 26,
  FUSE_OPENDIR = 27,
  FUSE_READDIR = 28,
  FUSE_RELEASEDIR = 29,
  FUSE_FSYNCDIR = 30,
  FUSE_GETLK = 31,
  FUSE_SETLK = 32,
  FUSE_SETLKW = 33,
  FUSE_ACCESS = 34,
  FUSE_CREATE = 35,
  FUSE_INTERRUPT = 36,
  FUSE_BMAP = 37,
  FUSE_DESTROY = 38,
  FUSE_IOCTL = 39,
  FUSE_POLL = 40,
  FUSE_NOTIFY_REPLY = 41,
  FUSE_BATCH_FORGET = 42,
  FUSE_FALLOCATE = 43,
  FUSE_READDIRPLUS = 44,
  FUSE_RENAME2 = 45,
  FUSE_LSEEK = 46,
  FUSE_COPY_FILE_RANGE = 47,
  FUSE_SETUPMAPPING = 48,
  FUSE_REMOVEMAPPING = 49,
  FUSE_SYNCFS = 50,
  FUSE_TMPFILE = 51,
  FUSE_STATX = 52,
  FUSE_COPY_FILE_RANGE_64 = 53,
}

export enum NotifyCode {
  FUSE_NOTIFY_POLL = 1,
  FUSE_NOTIFY_INVAL_INODE = 2,
  FUSE_NOTIFY_INVAL_ENTRY = 3,
  FUSE_NOTIFY_STORE = 4,
  FUSE_NOTIFY_RETRIEVE = 5,
  FUSE_NOTIFY_DELETE = 6,
}

// INIT flags (fuse_init_in.flags / fuse_init_out.flags); bits 32..63 travel in flags2.
export const InitFlag = {
  ASYNC_READ: 1n << 0n,
  POSIX_LOCKS: 1n << 1n,
  FILE_OPS: 1n << 2n,
  ATOMIC_O_TRUNC: 1n << 3n,
  EXPORT_SUPPORT: 1n << 4n,
  BIG_WRITES: 1n << 5n,
  DONT_MASK: 1n << 6n,
  SPLICE_WRITE: 1n << 7n,
  SPLICE_MOVE: 1n << 8n,
  SPLICE_READ: 1n << 9n,
  FLOCK_LOCKS: 1n << 10n,
  HAS_IOCTL_DIR: 1n << 11n,
  AUTO_INVAL_DATA: 1n << 12n,
  DO_READDIRPLUS: 1n << 13n,
  READDIRPLUS_AUTO: 1n << 14n,
  ASYNC_DIO: 1n << 15n,
  WRITEBACK_CACHE: 1n << 16n,
  NO_OPEN_SUPPORT: 1n << 17n,
  PARALLEL_DIROPS: 1n << 18n,
  HANDLE_KILLPRIV: 1n << 19n,
  POSIX_ACL: 1n << 20n,
  ABORT_ERROR: 1n << 21n,
  MAX_PAGES: 1n << 22n,
  CACHE_SYMLINKS: 1n << 23n,
  NO_OPENDIR_SUPPORT: 1n << 24n,
  EXPLICIT_INVAL_DATA: 1n << 25n,
  MAP_ALIGNMENT: 1n << 26n,
  SUBMOUNTS: 1n << 27n,
  HANDLE_KILLPRIV_V2: 1n << 28n,
  SETXATTR_EXT: 1n << 29n,
  INIT_EXT: 1n << 30n,
  INIT_RESERVED: 1n << 31n,
  SECURITY_CTX: 1n << 32n,
  HAS_INODE_DAX: 1n << 33n,
  CREATE_SUPP_GROUP: 1n << 34n,
  HAS_EXPIRE_ONLY: 1n << 35n,
  DIRECT_IO_ALLOW_MMAP: 1n << 36n,
  PASSTHROUGH: 1n << 37n,
  NO_EXPORT_SUPPORT: 1n << 38n,
  HAS_RESEND: 1n << 39n,
  ALLOW_IDMAP: 1n << 40n,
  OVER_IO_URING: 1n << 41n,
  REQUEST_TIMEOUT: 1n << 42n,
} as const;
export type InitFlagName = keyof typeof InitFlag;

// fuse_open_out.open_flags
export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_NONSEEKABLE = 1 << 2;
export const FOPEN_CACHE_DIR = 1 << 3;
export const FOPEN_STREAM = 1 << 4;
export const FOPEN_NOFLUSH = 1 << 5;
export const FOPEN_PARALLEL_DIRECT_WRITES = 1 << 6;
export const FOPEN_PASSTHROUGH = 1 << 7;

// fuse_setattr_in.valid
export const FATTR_MODE = 1 << 0;
export const FATTR_UID = 1 << 1;
export const FATTR_GID = 1 << 2;
export const FATTR_SIZE = 1 << 3;
export const FATTR_ATIME = 1 << 4;
export const FATTR_MTIME = 1 << 5;
export const FATTR_FH = 1 << 6;
export const FATTR_ATIME_NOW = 1 << 7;
export const FATTR_MTIME_NOW = 1 << 8;
export const FATTR_LOCKOWNER = 1 << 9;
export const FATTR_CTIME = 1 << 10;
export const FATTR_KILL_SUIDGID = 1 << 11;

export const FUSE_GETATTR_FH = 1 << 0;
export const FUSE_RELEASE_FLUSH = 1 << 0;
export const FUSE_RELEASE_FLOCK_UNLOCK = 1 << 1;
export const FUSE_LK_FLOCK = 1 << 0;
export const FUSE_WRITE_CACHE = 1 << 0;
export const FUSE_WRITE_LOCKOWNER = 1 << 1;
export const FUSE_WRITE_KILL_SUIDGID = 1 << 2;
export const FUSE_READ_LOCKOWNER = 1 << 1;
export const FUSE_FSYNC_FDATASYNC = 1 << 0;
export const FUSE_OPEN_KILL_SUIDGID = 1 << 0;
export const FUSE_SETXATTR_ACL_KILL_SGID = 1 << 0;
export const FUSE_POLL_SCHEDULE_NOTIFY = 1 << 0;
export const FUSE_EXPIRE_ONLY = 1 << 0;
export const FUSE_IOCTL_COMPAT = 1 << 0;
export const FUSE_IOCTL_UNRESTRICTED = 1 << 1;
export const FUSE_IOCTL_RETRY = 1 << 2;
export const FUSE_IOCTL_DIR = 1 << 4;

/** Depth of stacked filesystems the kernel allows (FILESYSTEM_MAX_STACK_DEPTH). */
export const FILESYSTEM_MAX_STACK_DEPTH = 2;

// Byte sizes of the kernel's structures.
export const SIZEOF = {
  fuse_in_header: 40,
  fuse_out_header: 16,
  fuse_attr: 88,
  fuse_entry_out: 128,
  fuse_attr_out: 104,
  fuse_open_out: 16,
  fuse_write_out: 8,
  fuse_kstatfs: 80,
  fuse_getxattr_out: 8,
  fuse_lk_out: 24,
  fuse_bmap_out: 8,
  fuse_ioctl_out: 16,
  fuse_poll_out: 8,
  fuse_lseek_out: 8,
  fuse_init_in: 64,
  fuse_init_in_compat: 16, // before 7.36 (no flags2)
  fuse_init_out: 64,
  fuse_dirent: 24, // without the name
  fuse_direntplus: 152, // fuse_entry_out + fuse_dirent, without the name
  fuse_statx: 256,
  fuse_statx_out: 288,
  fuse_copy_file_range_out: 8,
  fuse_forget_one: 16,
} as const;

// ioctls on /dev/fuse: _IOR(229, 0, u32), _IOW(229, 1, fuse_backing_map), _IOW(229, 2, u32).
export const FUSE_DEV_IOC_CLONE = 0x8004e500;
export const FUSE_DEV_IOC_BACKING_OPEN = 0x4010e501;
export const FUSE_DEV_IOC_BACKING_CLOSE = 0x4004e502;
