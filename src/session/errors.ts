import { constants } from 'node:os';

const ERRNO = constants.errno as Record<string, number>;
const NAMES: string[] = [];
for (const [name, n] of Object.entries(ERRNO)) if (NAMES[n] === undefined) NAMES[n] = name;

/** An error that a handler throws to make the request fail with this errno. */
export class FuseError extends Error {
  readonly errno: number;
  constructor(errno: number, message?: string) {
    // Thrown for every failed request (each negative lookup is an ENOENT), where
    // capturing a stack trace costs more than the request's own system calls.
    // The errno says what happened; the stack would only point into the handler.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message ?? errnoName(errno));
    Error.stackTraceLimit = limit;
    this.name = 'FuseError';
    this.errno = errno;
  }
}

export function errnoName(errno: number): string {
  return NAMES[errno] ?? `E${errno}`;
}

export function errnoOf(code: string): number | undefined {
  return ERRNO[code];
}

/**
 * The errno to reply for a thrown value, or undefined when it carries none
 * (then the session replies EIO and logs it). Accepts our FuseError, Node's
 * SystemError (`code: 'ENOENT'`, `errno: -2`) and anything with a numeric errno.
 */
export function errnoFromThrown(e: unknown): number | undefined {
  if (typeof e === 'number' && Number.isInteger(e) && e !== 0) return Math.abs(e);
  if (e === null || typeof e !== 'object') return undefined;
  const o = e as { errno?: unknown; code?: unknown; name?: unknown };
  if (o.name === 'AbortError') return ERRNO.EINTR;
  if (typeof o.errno === 'number' && Number.isInteger(o.errno) && o.errno !== 0) return Math.abs(o.errno);
  if (typeof o.code === 'string' && ERRNO[o.code] !== undefined) return ERRNO[o.code];
  return undefined;
}

export const Errno = {
  EPERM: ERRNO.EPERM,
  ENOENT: ERRNO.ENOENT,
  EINTR: ERRNO.EINTR,
  EIO: ERRNO.EIO,
  EBADF: ERRNO.EBADF,
  EAGAIN: ERRNO.EAGAIN,
  EACCES: ERRNO.EACCES,
  EEXIST: ERRNO.EEXIST,
  EXDEV: ERRNO.EXDEV,
  ENODEV: ERRNO.ENODEV,
  ENOTDIR: ERRNO.ENOTDIR,
  EISDIR: ERRNO.EISDIR,
  EINVAL: ERRNO.EINVAL,
  EFBIG: ERRNO.EFBIG,
  ENOSPC: ERRNO.ENOSPC,
  EROFS: ERRNO.EROFS,
  ERANGE: ERRNO.ERANGE,
  ENAMETOOLONG: ERRNO.ENAMETOOLONG,
  ENOSYS: ERRNO.ENOSYS,
  ENOTEMPTY: ERRNO.ENOTEMPTY,
  ELOOP: ERRNO.ELOOP,
  ENODATA: ERRNO.ENODATA,
  EOPNOTSUPP: ERRNO.EOPNOTSUPP,
  ENOTSUP: ERRNO.ENOTSUP,
  ESTALE: ERRNO.ESTALE,
  ENOTCONN: ERRNO.ENOTCONN,
} as const;
