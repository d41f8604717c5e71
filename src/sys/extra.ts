// Wrappers added for the passthrough filesystem and the session thread: the
// per-thread file-system context (umask), giving freed memory back, and
// yielding the CPU while spinning, naming threads.

import { declare, negErrno } from './libc.js';

const _umask = declare('uint32_t umask(uint32_t mask)');
const _mallocTrim = declare('int malloc_trim(size_t pad)');
const _unshare = declare('int unshare(int flags)');
const _schedYield = declare('int sched_yield(void)');
const _pthreadSelf = declare('uintptr_t pthread_self(void)');
const _pthreadSetname = declare('int pthread_setname_np(uintptr_t thread, const char *name)');

export const CLONE_FS = 0x200;

/** umask(2): sets the calling thread's umask (its fs_struct's, see unshare) and returns the previous one. */
export function umask(mask: number): number {
  return _umask(mask & 0o777) as number;
}

/** malloc_trim(3): gives free heap memory back to the system. True if some was. */
export function mallocTrim(): boolean {
  return (_mallocTrim(0) as number) === 1;
}

/** unshare(2): 0 | -errno. unshare(CLONE_FS) gives the calling thread its own cwd, root and umask. */
export function unshare(flags: number): number {
  const r = _unshare(flags) as number;
  return r < 0 ? negErrno() : r;
}

/** sched_yield(2): 0 | -errno. Lets another runnable thread on this CPU run first; returns at once if none is. */
export function schedYield(): number {
  const r = _schedYield() as number;
  return r < 0 ? negErrno() : r;
}

/**
 * pthread_setname_np(3) on the calling thread: the name `top -H`, `ps -L`,
 * `perf` and /proc/<pid>/task/<tid>/comm show. At most 15 bytes (else -ERANGE).
 * 0 | -errno.
 */
export function setThreadName(name: string): number {
  const r = _pthreadSetname(_pthreadSelf(), name) as number;
  return r === 0 ? 0 : -r;
}

import { koffi } from './libc.js';

/**
 * A Buffer of `size` bytes whose address is a multiple of `align` (a power of
 * two), e.g. for O_DIRECT I/O, which needs memory aligned to the block size.
 */
export function alignedBuffer(size: number, align = 4096): Buffer {
  const raw = Buffer.allocUnsafeSlow(size + align);
  const mis = Number(koffi.address(raw) & BigInt(align - 1));
  const off = mis === 0 ? 0 : align - mis;
  return raw.subarray(off, off + size);
}
