// `tsfuse unmount [-z] <mountpoint>`: takes a FUSE mount off, live or dead
// (a daemon that was killed leaves a mount that answers ENOTCONN).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { findMount, MountError, unmountKernel } from '../session/mount.js';
import { Failure } from './errors.js';

/** The mount point as /proc/mounts spells it; a dead mount cannot be resolved itself, only its parent. */
function resolveTarget(mountpoint: string): string {
  const abs = path.resolve(mountpoint);
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

export function runUnmount(mountpoint: string, lazy: boolean): number {
  const target = resolveTarget(mountpoint);
  const entry = findMount(target);
  if (!entry) {
    if (!fs.existsSync(target)) throw new Failure(`${target} does not exist`);
    throw new Failure(`${target} is not a mount point`);
  }
  if (!entry.type.startsWith('fuse')) {
    throw new Failure(`${target} is not a FUSE mount (it is ${entry.type}); use umount(8)`);
  }
  try {
    unmountKernel(target, { lazy });
  } catch (e) {
    if (e instanceof MountError) throw new Failure(e.message);
    throw e;
  }
  return 0;
}
