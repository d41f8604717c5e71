// Flag and mode constants of the Linux ABI (values as the kernel and glibc
// define them for x86_64; the few open(2) flags that differ on arm64 are
// picked per architecture, because FUSE hands us the kernel's own bits).

const arm64 = process.arch === 'arm64';

// ---- open(2) ---------------------------------------------------------------
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_ASYNC = 0o20000;
export const O_DIRECT = arm64 ? 0o200000 : 0o40000;
/** Kernel value (glibc defines it as 0 on 64-bit, but FUSE open flags carry the kernel bit). */
export const O_LARGEFILE = arm64 ? 0o400000 : 0o100000;
export const O_DIRECTORY = arm64 ? 0o40000 : 0o200000;
export const O_NOFOLLOW = arm64 ? 0o100000 : 0o400000;
export const O_NOATIME = 0o1000000;
export const O_CLOEXEC = 0o2000000;
export const O_SYNC = 0o4010000;
export const O_PATH = 0o10000000;
/** Includes O_DIRECTORY, as in glibc. */
export const O_TMPFILE = 0o20000000 | O_DIRECTORY;

// ---- openat2(2) resolve flags -----------------------------------------------
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;
export const RESOLVE_CACHED = 0x20;

// ---- *at(2) flags -----------------------------------------------------------
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EACCESS = 0x200;
export const AT_SYMLINK_FOLLOW = 0x400;
export const AT_NO_AUTOMOUNT = 0x800;
export const AT_EMPTY_PATH = 0x1000;
export const AT_STATX_SYNC_AS_STAT = 0;
export const AT_STATX_FORCE_SYNC = 0x2000;
export const AT_STATX_DONT_SYNC = 0x4000;
export const AT_RECURSIVE = 0x8000;
/** name_to_handle_at: return a unique 64-bit mount id (Linux 6.12+). */
export const AT_HANDLE_MNT_ID_UNIQUE = 0x001;
/** name_to_handle_at: a handle only for identification, not for open_by_handle_at (Linux 6.5+). */
export const AT_HANDLE_FID = 0x200;

// ---- access(2) ----------------------------------------------------------------
export const F_OK = 0;
export const X_OK = 1;
export const W_OK = 2;
export const R_OK = 4;

// ---- renameat2(2) -------------------------------------------------------------
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const RENAME_WHITEOUT = 4;

// ---- statx(2) masks and attributes -------------------------------------------
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_NLINK = 0x4;
export const STATX_UID = 0x8;
export const STATX_GID = 0x10;
export const STATX_ATIME = 0x20;
export const STATX_MTIME = 0x40;
export const STATX_CTIME = 0x80;
export const STATX_INO = 0x100;
export const STATX_SIZE = 0x200;
export const STATX_BLOCKS = 0x400;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const STATX_MNT_ID = 0x1000;
export const STATX_DIOALIGN = 0x2000;
export const STATX_MNT_ID_UNIQUE = 0x4000;
export const STATX_SUBVOL = 0x8000;
export const STATX_ALL = 0xfff;
export const STATX_ATTR_COMPRESSED = 0x4;
export const STATX_ATTR_IMMUTABLE = 0x10;
export const STATX_ATTR_APPEND = 0x20;
export const STATX_ATTR_NODUMP = 0x40;
export const STATX_ATTR_ENCRYPTED = 0x800;
export const STATX_ATTR_AUTOMOUNT = 0x1000;
export const STATX_ATTR_MOUNT_ROOT = 0x2000;
export const STATX_ATTR_VERITY = 0x100000;
export const STATX_ATTR_DAX = 0x200000;

// ---- file types and modes ------------------------------------------------------
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o60000;
export const S_IFDIR = 0o40000;
export const S_IFCHR = 0o20000;
export const S_IFIFO = 0o10000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

// ---- getdents64 d_type ---------------------------------------------------------
export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;
export const DT_WHT = 14;

// ---- utimensat(2) ------------------------------------------------------------------
export const UTIME_NOW = (1 << 30) - 1;
export const UTIME_OMIT = (1 << 30) - 2;

// ---- fallocate(2) ----------------------------------------------------------------
export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;
export const FALLOC_FL_NO_HIDE_STALE = 0x04;
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
export const FALLOC_FL_ZERO_RANGE = 0x10;
export const FALLOC_FL_INSERT_RANGE = 0x20;
export const FALLOC_FL_UNSHARE_RANGE = 0x40;

// ---- lseek(2) ---------------------------------------------------------------------
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

// ---- mount(2) / umount2(2) -----------------------------------------------------------
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_SYNCHRONOUS = 16;
export const MS_REMOUNT = 32;
export const MS_MANDLOCK = 64;
export const MS_DIRSYNC = 128;
export const MS_NOSYMFOLLOW = 256;
export const MS_NOATIME = 1024;
export const MS_NODIRATIME = 2048;
export const MS_BIND = 4096;
export const MS_MOVE = 8192;
export const MS_REC = 16384;
export const MS_SILENT = 32768;
export const MS_POSIXACL = 1 << 16;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_KERNMOUNT = 1 << 22;
export const MS_I_VERSION = 1 << 23;
export const MS_STRICTATIME = 1 << 24;
export const MS_LAZYTIME = 1 << 25;
/** 2^31: positive here, but `x | MS_NOUSER` in JS is negative; mount() reinterprets negatives as unsigned. */
export const MS_NOUSER = 2 ** 31;
export const MNT_FORCE = 1;
export const MNT_DETACH = 2;
export const MNT_EXPIRE = 4;
export const UMOUNT_NOFOLLOW = 8;

// ---- xattr --------------------------------------------------------------------------
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
export const XATTR_NAME_MAX = 255;
export const XATTR_SIZE_MAX = 65536;
export const XATTR_LIST_MAX = 65536;

// ---- flock(2), fcntl(2) ------------------------------------------------------------
export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const F_GETLK = 5;
export const F_SETLK = 6;
export const F_SETLKW = 7;
export const F_SETOWN = 8;
export const F_GETOWN = 9;
export const F_OFD_GETLK = 36;
export const F_OFD_SETLK = 37;
export const F_OFD_SETLKW = 38;
export const F_DUPFD_CLOEXEC = 1030;
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;
export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const FD_CLOEXEC = 1;
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;

// ---- poll(2) ------------------------------------------------------------------------
export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDNORM = 0x40;
export const POLLRDBAND = 0x80;
export const POLLWRNORM = 0x100;
export const POLLWRBAND = 0x200;
export const POLLRDHUP = 0x2000;

// ---- sockets ---------------------------------------------------------------------------
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

// ---- eventfd(2) --------------------------------------------------------------------------
export const EFD_SEMAPHORE = 1;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;

// ---- getrlimit(2) -------------------------------------------------------------------------
export const RLIMIT_NOFILE = 7;
export const RLIM_INFINITY = 0xffffffffffffffffn;

// ---- /dev/fuse ioctls ------------------------------------------------------------------------
/** _IOR(229, 0, uint32_t): arg is a Buffer holding the u32 fd of the session to clone. */
export const FUSE_DEV_IOC_CLONE = 0x8004e500;
/** _IOW(229, 1, struct fuse_backing_map): arg {i32 fd; u32 flags; u64 padding}; returns the backing id. */
export const FUSE_DEV_IOC_BACKING_OPEN = 0x4010e501;
/** _IOW(229, 2, uint32_t): arg is a Buffer holding the u32 backing id. */
export const FUSE_DEV_IOC_BACKING_CLOSE = 0x4004e502;
