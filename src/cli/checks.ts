// Checks before mounting, so that a failure is one clear line instead of a
// half-made mount: the source, the mount point, the permission to mount.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkMountpoint, findFusermount, MountError } from '../session/mount.js';
import { Failure, UsageError } from './errors.js';
import { COMMANDS } from './args.js';
import { closest } from './values.js';

const EPERM = 1;
const EACCES = 13;

/** The source as an absolute path; Failure if it is missing or not a directory. */
export function checkSource(source: string, implicit: boolean): string {
  const abs = path.resolve(source);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // `tsfuse unmout /mnt`: a mistyped command read as a source path.
      const near = implicit && !source.includes('/') ? closest(source, COMMANDS) : undefined;
      if (near) throw new UsageError(`unknown command '${source}'; did you mean '${near}'?`);
      throw new Failure(`source ${abs} does not exist`);
    }
    if (code === 'EACCES') throw new Failure(`source ${abs}: permission denied`);
    if (code === 'ENOTCONN') throw new Failure(`source ${abs} is a dead FUSE mount (transport endpoint is not connected)`);
    throw new Failure(`source ${abs}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new Failure(`source ${abs} is not a directory`);
  return abs;
}

/** The mount point, absolute and resolved; Failure if missing, not a directory, or already a FUSE mount. */
export function checkTarget(mountpoint: string): string {
  try {
    return checkMountpoint(mountpoint);
  } catch (e) {
    if (e instanceof MountError) throw new Failure(e.message);
    throw e;
  }
}

function userAllowOther(): boolean {
  try {
    return /^\s*user_allow_other\s*$/m.test(fs.readFileSync('/etc/fuse.conf', 'utf8'));
  } catch {
    return false;
  }
}

/** Whether this user may mount with these options; Failure naming what would permit it. */
export function checkPermission(opts: { allowOther?: boolean; allowRoot?: boolean; autoUnmount?: boolean }): void {
  const root = process.geteuid?.() === 0;
  if (root && !opts.autoUnmount) return;
  if (!findFusermount()) {
    throw new Failure(
      root
        ? 'auto_unmount needs fusermount3 (Debian package fuse3)'
        : 'not permitted to mount: run as root, or install fusermount3 (Debian package fuse3) to mount as a user',
    );
  }
  if (!root && (opts.allowOther || opts.allowRoot) && !userAllowOther()) {
    const opt = opts.allowOther ? 'allow_other' : 'allow_root';
    throw new Failure(`not permitted to use '${opt}' as a user: add a line 'user_allow_other' to /etc/fuse.conf, or mount as root`);
  }
}

/** A mount failure as one line, with what would permit it where that is the problem. */
export function explainMountError(e: unknown): string {
  const msg = e instanceof Error ? e.message.split('\n')[0]!.replace(/^filesystem session failed: (?:\w*Error: )?/, '') : String(e);
  const errno = e instanceof MountError ? e.errno : undefined;
  // mount(2) refused (root without CAP_SYS_ADMIN, e.g. in a container).
  if (errno === EPERM || errno === EACCES) {
    return `${msg}: not permitted: mounting needs CAP_SYS_ADMIN (root in the initial namespace), or fusermount3 as a user`;
  }
  // fusermount3 refused, and the library did not already explain why in parentheses.
  if (/not permitted|permission denied/i.test(msg) && !/\)$/.test(msg)) {
    return `${msg}; to mount as a user, own the mount point (or have write access to it) and have /dev/fuse mode 0666, or mount as root`;
  }
  return msg;
}
