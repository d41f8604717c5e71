// Credentials and limits.
//
// Linux credentials are per THREAD in the kernel; glibc makes setuid/setgid/
// setgroups/setres[ug]id process-wide by signalling every thread (the
// "setxid broadcast"). A FUSE daemon impersonating the caller of one request
// on one thread must NOT do that, so:
//   - setfsuid/setfsgid: glibc's wrappers are plain syscalls (per-thread).
//   - setgroupsThread/setresuidThread/setresgidThread: raw syscall(2), per-thread.
// The id getters are plain syscalls too and so report the calling thread's ids.

import * as fs from 'node:fs';
import { SYS, declare, negErrno } from './libc.js';

const _setfsuid = declare('int setfsuid(uint32_t fsuid)');
const _setfsgid = declare('int setfsgid(uint32_t fsgid)');
const _syscall1p = declare('long syscall(long nr, long a, void *b)');
const _syscall3 = declare('long syscall(long nr, long a, long b, long c)');
const _getgroups = declare('int getgroups(int size, void *list)');
const _geteuid = declare('uint32_t geteuid()');
const _getuid = declare('uint32_t getuid()');
const _getegid = declare('uint32_t getegid()');
const _getgid = declare('uint32_t getgid()');
const _getpid = declare('int getpid()');
const _gettid = declare('long syscall(long nr)');
const _getrlimit = declare('int getrlimit(int resource, void *rlim)');
const _setrlimit = declare('int setrlimit(int resource, const void *rlim)');

/**
 * setfsuid(2) on the calling thread only. Returns the PREVIOUS fsuid (the
 * syscall has no error return: an id it refuses leaves fsuid unchanged, so
 * compare getfsuid() afterwards when it matters).
 */
export function setfsuid(uid: number): number {
  return _setfsuid(uid >>> 0) as number;
}

/** setfsgid(2) on the calling thread only. Returns the PREVIOUS fsgid. */
export function setfsgid(gid: number): number {
  return _setfsgid(gid >>> 0) as number;
}

/** The calling thread's fsuid (setfsuid(-1) changes nothing and returns it). */
export function getfsuid(): number {
  return _setfsuid(0xffffffff) as number;
}

/** The calling thread's fsgid. */
export function getfsgid(): number {
  return _setfsgid(0xffffffff) as number;
}

// Reused gid_t array for setgroupsThread, grown on demand (NGROUPS_MAX is 65536).
let groupsBuf = new Uint32Array(64);

/** setgroups(2) as a raw syscall: changes the supplementary groups of the calling thread ONLY. 0 | -errno. */
export function setgroupsThread(gids: readonly number[]): number {
  const n = gids.length;
  if (n > groupsBuf.length) groupsBuf = new Uint32Array(Math.max(n, groupsBuf.length * 2));
  for (let i = 0; i < n; i++) groupsBuf[i] = gids[i]! >>> 0;
  const r = _syscall1p(SYS.setgroups, n, n === 0 ? null : groupsBuf) as number;
  return r < 0 ? negErrno() : r;
}

/** The calling thread's supplementary groups, or -errno. */
export function getgroups(): number[] | number {
  for (;;) {
    const n = _getgroups(0, null) as number;
    if (n < 0) return negErrno();
    const list = new Uint32Array(Math.max(n, 1));
    const r = _getgroups(n, list) as number;
    if (r < 0) {
      const e = negErrno();
      if (e === -22) continue; // EINVAL: the list grew in between, try again
      return e;
    }
    return Array.from(list.subarray(0, r));
  }
}

/** setresuid(2) as a raw syscall: the calling thread only. -1 leaves an id unchanged. 0 | -errno. */
export function setresuidThread(ruid: number, euid: number, suid: number): number {
  const r = _syscall3(SYS.setresuid, ruid, euid, suid) as number;
  return r < 0 ? negErrno() : r;
}

/** setresgid(2) as a raw syscall: the calling thread only. -1 leaves an id unchanged. 0 | -errno. */
export function setresgidThread(rgid: number, egid: number, sgid: number): number {
  const r = _syscall3(SYS.setresgid, rgid, egid, sgid) as number;
  return r < 0 ? negErrno() : r;
}

export function geteuid(): number {
  return _geteuid() as number;
}
export function getuid(): number {
  return _getuid() as number;
}
export function getegid(): number {
  return _getegid() as number;
}
export function getgid(): number {
  return _getgid() as number;
}
export function getpid(): number {
  return _getpid() as number;
}
/** The kernel thread id of the calling thread (a worker_threads Worker has its own). */
export function gettid(): number {
  return _gettid(SYS.gettid) as number;
}

// ---------------------------------------------------------------------------
// rlimits

// struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; } (u64 each)
const rlimBuf = Buffer.alloc(16);

export interface Rlimit {
  /** RLIM_INFINITY is 0xffffffffffffffffn. */
  soft: bigint;
  hard: bigint;
}

/** getrlimit(2). {soft, hard} | -errno. */
export function getrlimit(resource: number): Rlimit | number {
  const r = _getrlimit(resource, rlimBuf) as number;
  if (r < 0) return negErrno();
  return { soft: rlimBuf.readBigUInt64LE(0), hard: rlimBuf.readBigUInt64LE(8) };
}

/** setrlimit(2). 0 | -errno. */
export function setrlimit(resource: number, soft: bigint | number, hard: bigint | number): number {
  rlimBuf.writeBigUInt64LE(BigInt(soft), 0);
  rlimBuf.writeBigUInt64LE(BigInt(hard), 8);
  const r = _setrlimit(resource, rlimBuf) as number;
  return r < 0 ? negErrno() : r;
}

const RLIMIT_NOFILE = 7;

/**
 * Raises the soft RLIMIT_NOFILE to the hard limit (a passthrough keeps an fd
 * per inode). Returns the limits in force afterwards, as numbers
 * (Infinity for RLIM_INFINITY). Never throws; if raising fails the old soft
 * limit is reported.
 */
export function raiseNofileLimit(): { soft: number; hard: number } {
  const cur = getrlimit(RLIMIT_NOFILE);
  if (typeof cur === 'number') return { soft: -1, hard: -1 };
  if (cur.soft < cur.hard) setrlimit(RLIMIT_NOFILE, cur.hard, cur.hard);
  const now = getrlimit(RLIMIT_NOFILE);
  const lim = typeof now === 'number' ? cur : now;
  const num = (v: bigint): number => (v === 0xffffffffffffffffn ? Infinity : Number(v));
  return { soft: num(lim.soft), hard: num(lim.hard) };
}

// ---------------------------------------------------------------------------

/**
 * The ids the kernel shows for unmapped uids/gids (/proc/sys/kernel/overflowuid
 * and overflowgid), 65534 when unreadable.
 */
export function readOverflowIds(): { uid: number; gid: number } {
  const read = (p: string): number => {
    try {
      const v = parseInt(fs.readFileSync(p, 'utf8').trim(), 10);
      return Number.isInteger(v) && v >= 0 ? v : 65534;
    } catch {
      return 65534;
    }
  };
  return { uid: read('/proc/sys/kernel/overflowuid'), gid: read('/proc/sys/kernel/overflowgid') };
}
