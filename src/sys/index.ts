// tsfuse sys layer: typed wrappers over the Linux syscalls Node lacks, via koffi.
//
// Conventions: every wrapper returns a number >= 0 on success (fd, byte count,
// 0) or the NEGATIVE errno on failure, read from koffi.errno() right after the
// call; nothing throws for a syscall failure (use check() for that). lseek and
// eventfdRead return bigints (negative bigint errno). Paths and names are
// `string | Buffer`; the wrappers add the NUL terminator themselves.

export { SYS, libc, cstr, declare } from './libc.js';
export type { CPath, Fn } from './libc.js';
export * from './errno.js';
export * from './constants.js';
export * from './io.js';
export * from './stat.js';
export * from './files.js';
export * from './xattr.js';
export * from './mount.js';
export * from './creds.js';
export * from './socket.js';
export * from './extra.js';
export * from './uring.js';
