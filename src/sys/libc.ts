// Loading libc through koffi, and the small helpers every wrapper shares:
// errno capture, C string conversion for `string | Buffer` paths, raw
// syscall numbers for the calls glibc does not wrap (or wraps wrongly for
// us, e.g. setgroups which glibc broadcasts to every thread).
//
// Every function is declared once, here or at the top of its module, at load
// time: koffi parses a prototype string once and the call itself is then a
// cheap trampoline.

import koffi from 'koffi';

export { koffi };

export const libc = koffi.load('libc.so.6');

/** A declared C function: call it directly, or `.async(...args, (err, res) => {})` on koffi's worker threads. */
export type Fn = ((...args: any[]) => any) & { async(...args: any[]): void };

/** Declares a libc function from a C prototype, once, at module load. */
export function declare(proto: string): Fn {
  return libc.func(proto) as unknown as Fn;
}

/** A path or name: a JS string (encoded as UTF-8) or raw bytes. */
export type CPath = string | Buffer;

/** What koffi accepts for a `const char *` / `void *` argument. */
export type CArg = string | Buffer | bigint | null;

/** The errno of the call that just returned, negated. Call it right after the failed call. */
export function negErrno(): number {
  return -koffi.errno();
}

// ---------------------------------------------------------------------------
// Syscall numbers. The ones from 424 up are shared by every architecture;
// the older ones differ, so they are looked up for the two we support.

interface SyscallTable {
  getdents64: number;
  setgroups: number;
  setresuid: number;
  setresgid: number;
  gettid: number;
}

const ARCH_SYSCALLS: Record<string, SyscallTable> = {
  x64: { getdents64: 217, setgroups: 116, setresuid: 117, setresgid: 119, gettid: 186 },
  arm64: { getdents64: 61, setgroups: 159, setresuid: 147, setresgid: 149, gettid: 178 },
};

const arch = ARCH_SYSCALLS[process.arch];

/** Syscall numbers; -1 when unknown on this architecture (the wrapper then returns -ENOSYS). */
export const SYS = {
  getdents64: arch?.getdents64 ?? -1,
  setgroups: arch?.setgroups ?? -1,
  setresuid: arch?.setresuid ?? -1,
  setresgid: arch?.setresgid ?? -1,
  gettid: arch?.gettid ?? -1,
  io_uring_setup: 425,
  io_uring_enter: 426,
  openat2: 437,
  faccessat2: 439,
  fchmodat2: 452,
  setxattrat: 463,
  getxattrat: 464,
  listxattrat: 465,
  removexattrat: 466,
} as const;

// ---------------------------------------------------------------------------
// C strings.
//
// Strings are handed to koffi as-is: it encodes them to UTF-8 with a trailing
// NUL on its own call heap (lone surrogates become U+FFFD, as with any UTF-8
// encoding). Buffers hold raw bytes without a terminator; the WRAPPER appends
// the NUL by copying into one of two reusable scratch buffers (two, because
// renameat2/linkat/symlinkat and the xattr calls take two strings). Callers
// never need to NUL-terminate anything. A Buffer that already ends in a
// single 0 byte is also accepted and passed as-is (no copy).
//
// A string or Buffer with a NUL inside would be silently truncated by C, so it
// is refused with -EINVAL, like Node's fs does. A Buffer of PATH_MAX (4096)
// bytes or more cannot be a valid path: -ENAMETOOLONG.
//
// The scratch buffers are only valid for the duration of one synchronous
// call; asynchronous calls never use them.

const PATH_MAX = 4096;
const EINVAL = 22;
const ENAMETOOLONG = 36;
const scratch: Buffer[] = [Buffer.alloc(PATH_MAX), Buffer.alloc(PATH_MAX)];

/**
 * Converts a path/name for a `const char *` argument, using scratch slot 0 or 1.
 * Returns the value to pass to koffi, or a negative errno (a number) when the
 * value cannot be a C string.
 */
export function cstr(p: CPath, slot: 0 | 1): string | Buffer | number {
  if (typeof p === 'string') return p.indexOf('\0') === -1 ? p : -EINVAL;
  const n = p.length;
  if (n > 0 && p[n - 1] === 0) {
    // Already terminated: check nothing hides before the terminator.
    const z = n < 128 ? jsIndexOfZero(p, n - 1) : p.indexOf(0);
    return z === -1 || z === n - 1 ? p : -EINVAL;
  }
  if (n >= PATH_MAX) return -ENAMETOOLONG;
  const s = scratch[slot]!;
  if (n < 128) {
    // A JS loop beats Buffer#copy + indexOf (two native calls) for short names.
    for (let i = 0; i < n; i++) {
      const c = p[i]!;
      if (c === 0) return -EINVAL;
      s[i] = c;
    }
  } else {
    if (p.indexOf(0) !== -1) return -EINVAL;
    p.copy(s, 0, 0, n);
  }
  s[n] = 0;
  return s;
}

function jsIndexOfZero(p: Buffer, end: number): number {
  for (let i = 0; i < end; i++) if (p[i] === 0) return i;
  return -1;
}

/** Like cstr() but never uses the scratch buffers (for rare calls that take more than two strings). */
export function cstrAlloc(p: CPath): string | Buffer | number {
  if (typeof p === 'string') return p.indexOf('\0') === -1 ? p : -EINVAL;
  if (p.indexOf(0) !== -1) return p.indexOf(0) === p.length - 1 ? p : -EINVAL;
  const b = Buffer.allocUnsafe(p.length + 1);
  p.copy(b, 0);
  b[p.length] = 0;
  return b;
}

// ---------------------------------------------------------------------------
// Buffers as pointers.
//
// koffi passes a Buffer (or any TypedArray) given for a `void *` parameter as
// a pointer to its bytes, no copy. A pointer into the middle of a Buffer is
// made from koffi.address(buf) (a bigint, already including buf.byteOffset)
// plus the offset. Addresses are stable: Node Buffers have off-heap backing
// stores that never move.

/** Throws RangeError when [off, off+len) is not inside buf: the kernel would scribble past it. */
export function checkRange(buf: Buffer | Uint8Array, off: number, len: number): void {
  if (!(off >= 0 && len >= 0 && off + len <= buf.length)) {
    throw new RangeError(`buffer range [${off}, ${off}+${len}) outside a buffer of ${buf.length} bytes`);
  }
}

/** Pointer to buf[off]: the Buffer itself when off is 0 (cheapest), else a bigint address. */
export function ptrAt(buf: Buffer | Uint8Array, off: number): Buffer | Uint8Array | bigint {
  return off === 0 ? buf : koffi.address(buf) + BigInt(off);
}

/** unsigned long arguments given as a JS int32 (e.g. built with `|`) come out negative: reinterpret as unsigned. */
export function ulong(v: number): number {
  return v < 0 ? v >>> 0 : v;
}
