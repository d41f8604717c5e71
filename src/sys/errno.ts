// Errno values (Linux generic numbering, shared by x86_64 and arm64), their
// names, messages, and the throwing helper for code that prefers exceptions.
// The wrappers themselves never throw for a syscall failure: they return
// -errno.

import { libc } from './libc.js';

/** Linux errno constants. Aliases: EWOULDBLOCK = EAGAIN, ENOTSUP = EOPNOTSUPP, EDEADLOCK = EDEADLK. */
export const E = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  EWOULDBLOCK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  EDEADLOCK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENOMSG: 42,
  EIDRM: 43,
  ENOSTR: 60,
  ENODATA: 61,
  ETIME: 62,
  ENOSR: 63,
  EREMOTE: 66,
  ENOLINK: 67,
  ECOMM: 70,
  EPROTO: 71,
  EMULTIHOP: 72,
  EBADMSG: 74,
  EOVERFLOW: 75,
  ENOTUNIQ: 76,
  EBADFD: 77,
  EILSEQ: 84,
  ERESTART: 85,
  EUSERS: 87,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  ENOTSUP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETOOMANYREFS: 109,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  ESTALE: 116,
  EUCLEAN: 117,
  EREMOTEIO: 121,
  EDQUOT: 122,
  ENOMEDIUM: 123,
  EMEDIUMTYPE: 124,
  ECANCELED: 125,
  ENOKEY: 126,
  EKEYEXPIRED: 127,
  EKEYREVOKED: 128,
  EKEYREJECTED: 129,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,
  ERFKILL: 132,
  EHWPOISON: 133,
} as const);

export type ErrnoName = keyof typeof E;

// Reverse map; the first name listed for a number wins, so aliases placed
// after their canonical name (EWOULDBLOCK after EAGAIN...) are not chosen.
const NAMES: string[] = [];
for (const [name, num] of Object.entries(E)) if (NAMES[num] === undefined) NAMES[num] = name;

/** 'ENOENT' for 2. Accepts a negative errno too (as returned by the wrappers); 'OK' for 0, 'ERRNO_<n>' if unknown. */
export function errnoName(errno: number): string {
  const n = errno < 0 ? -errno : errno;
  return NAMES[n] ?? (n === 0 ? 'OK' : `ERRNO_${n}`);
}

// strerrordesc_np (glibc >= 2.32) returns the untranslated English message and
// is thread-safe; fall back to strerror on older glibc.
let strerrorFn: ((n: number) => string | null) | null = null;
function loadStrerror(): (n: number) => string | null {
  try {
    return libc.func('const char *strerrordesc_np(int errnum)') as (n: number) => string | null;
  } catch {
    return libc.func('const char *strerror(int errnum)') as (n: number) => string | null;
  }
}

/** 'No such file or directory' for 2 (or -2). */
export function strerror(errno: number): string {
  const n = errno < 0 ? -errno : errno;
  strerrorFn ??= loadStrerror();
  return strerrorFn(n) ?? `Unknown error ${n}`;
}

/** A failed syscall, for callers that prefer exceptions (see check()). */
export class SysError extends Error {
  /** Positive errno. */
  readonly errno: number;
  /** 'ENOENT' etc. */
  readonly code: string;
  /** What failed, as given to check(). */
  readonly syscall: string;

  constructor(errno: number, what: string) {
    const n = errno < 0 ? -errno : errno;
    const code = errnoName(n);
    super(`${what}: ${code} (${strerror(n)})`);
    this.name = 'SysError';
    this.errno = n;
    this.code = code;
    this.syscall = what;
  }
}

/**
 * Returns ret when it is >= 0, throws SysError(-ret) otherwise.
 * `what` names the call, e.g. check(openat(AT_FDCWD, p, O_RDONLY), `openat(${p})`).
 */
export function check(ret: number, what: string): number;
export function check(ret: bigint, what: string): bigint;
export function check(ret: number | bigint, what: string): number | bigint {
  if (ret < 0) throw new SysError(-Number(ret), what);
  return ret;
}
