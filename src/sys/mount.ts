// mount(2) and umount2(2), for mounting /dev/fuse connections as root.
// Not on any hot path, so strings are converted without the scratch buffers.

import { cstrAlloc, declare, negErrno, ulong } from './libc.js';
import type { CPath } from './libc.js';

const _mount = declare('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)');
const _umount2 = declare('int umount2(const char *target, int flags)');

/**
 * mount(2). flags: MS_* (an unsigned long; a negative int32 built with `|`
 * including MS_NOUSER is reinterpreted as unsigned). data: the
 * filesystem-specific option string (for FUSE: "fd=N,rootmode=...,user_id=...,group_id=..."),
 * or null. 0 | -errno.
 */
export function mount(source: CPath | null, target: CPath, fstype: string | null, flags: number, data: string | Buffer | null): number {
  const s = source === null ? null : cstrAlloc(source);
  if (typeof s === 'number') return s;
  const t = cstrAlloc(target);
  if (typeof t === 'number') return t;
  const ty = fstype === null ? null : cstrAlloc(fstype);
  if (typeof ty === 'number') return ty;
  const d = data === null ? null : cstrAlloc(data);
  if (typeof d === 'number') return d;
  const r = _mount(s, t, ty, ulong(flags), d) as number;
  return r < 0 ? negErrno() : r;
}

/** umount2(2): flags MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW. 0 | -errno. */
export function umount2(target: CPath, flags = 0): number {
  const t = cstrAlloc(target);
  if (typeof t === 'number') return t;
  const r = _umount2(t, flags) as number;
  return r < 0 ? negErrno() : r;
}
