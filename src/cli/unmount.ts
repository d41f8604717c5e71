// `tsfuse unmount [-z] [-f] <mountpoint>`: takes a FUSE mount off, live, dead
// (a daemon that was killed leaves a mount that answers ENOTCONN) or hung (-f).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { findMount, MountError, unmountKernel } from '../session/mount.js';
import type { MountInfo, UnmountOptions } from '../session/mount.js';
import { Failure } from './errors.js';

/**
 * The mount of `mountpoint` as the mount table spells it, or its resolved path
 * if it is none. The mount itself is touched only as a last resort: a stat
 * of a hung daemon's mount point never returns, and a dead one's fails. So:
 * the path as given, then through its parent's real path, and only then its
 * own.
 */
function resolveTarget(mountpoint: string): { target: string; entry?: MountInfo } {
  const abs = path.resolve(mountpoint);
  const asGiven = findMount(abs);
  if (asGiven) return { target: abs, entry: asGiven };
  let viaParent: string;
  try {
    viaParent = path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return { target: abs };
  }
  const entry = findMount(viaParent);
  if (entry) return { target: viaParent, entry };
  let real: string;
  try {
    real = fs.realpathSync(viaParent);
  } catch {
    return { target: viaParent };
  }
  return { target: real, entry: findMount(real) };
}

export function runUnmount(mountpoint: string, how: UnmountOptions): number {
  const { target, entry } = resolveTarget(mountpoint);
  if (!entry) {
    if (!fs.existsSync(target)) throw new Failure(`${target} does not exist`);
    throw new Failure(`${target} is not a mount point`);
  }
  if (!entry.fsType.startsWith('fuse')) {
    throw new Failure(`${target} is not a FUSE mount (it is ${entry.fsType}); use umount(8)`);
  }
  try {
    unmountKernel(target, how);
  } catch (e) {
    if (e instanceof MountError) throw new Failure(e.message);
    throw e;
  }
  return 0;
}
