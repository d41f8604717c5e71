// Putting a FUSE connection on a directory, and taking it off: mount(2)
// directly as root, fusermount3 (the setuid helper, fd passed back over a
// socket) otherwise or when auto_unmount is asked for.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as sys from '../sys/index.js';
import { errnoName } from './errors.js';

export interface KernelMountOptions {
  /** Let other users through the mount (root, or user_allow_other in /etc/fuse.conf). */
  allowOther?: boolean;
  /** Let root through the mount as well as the mounting user. */
  allowRoot?: boolean;
  /** Let the kernel check permissions from the file modes. */
  defaultPermissions?: boolean;
  readOnly?: boolean;
  /** Source name shown in /proc/mounts (default "tsfuse"). */
  fsname?: string;
  /** Filesystem type shown as fuse.<subtype> (default "tsfuse"). */
  subtype?: string;
  /** Unmount when the daemon dies (through fusermount3, which watches it). */
  autoUnmount?: boolean;
  /** Defaults true, as for every FUSE mount: no setuid programs, no device files. */
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  noatime?: boolean;
  /** Largest READ the kernel sends (bytes); normally limited by max_write/max_pages. */
  maxRead?: number;
  /** Use fusermount3 even as root. */
  forceFusermount?: boolean;
}

export class MountError extends Error {
  constructor(message: string, readonly errno?: number) {
    super(message);
    this.name = 'MountError';
  }
}

export interface KernelMount {
  fd: number;
  mountpoint: string;
  method: 'mount' | 'fusermount3';
  /** allow_root through fusermount3: the session must refuse users other than the owner and root. */
  denyOthers: boolean;
}

export function findFusermount(): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/bin', '/bin'])) {
    const p = path.join(dir || '.', 'fusermount3');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Checks the mount point and returns its absolute, resolved path. */
export function checkMountpoint(mountpoint: string): string {
  if (!path.isAbsolute(mountpoint)) mountpoint = path.resolve(mountpoint);
  let st: fs.Stats;
  try {
    st = fs.statSync(mountpoint);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTCONN') {
      throw new MountError(`mount point ${mountpoint} is a dead FUSE mount (transport endpoint is not connected): run 'tsfuse unmount ${mountpoint}' first`);
    }
    throw new MountError(`mount point ${mountpoint} does not exist`);
  }
  if (!st.isDirectory()) throw new MountError(`mount point ${mountpoint} is not a directory`);
  const real = fs.realpathSync(mountpoint);
  const mounted = findMount(real);
  if (mounted && mounted.fsType.startsWith('fuse')) {
    throw new MountError(`mount point ${real} is already a FUSE mount (${mounted.source}, ${mounted.fsType})`);
  }
  return real;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** What tsfuse reads of one line of /proc/self/mountinfo (proc(5)). */
export interface MountInfo {
  /** The mount's id, as statx's stx_mnt_id gives it. */
  id: bigint;
  /** The device, "major:minor". */
  dev: string;
  /** Where it is mounted. */
  target: string;
  /** The filesystem type, as "ext4" or "fuse.tsfuse". */
  fsType: string;
  /** What was mounted, as "/dev/vda" or a FUSE mount's fsname. */
  source: string;
}

/** Mountinfo text parsed; lines of another shape are left out. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    // The optional fields (from the seventh on) end at a lone "-", before the type.
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f[sep + 2] === undefined || !/^\d+$/.test(f[0]!)) continue;
    out.push({ id: BigInt(f[0]!), dev: f[2]!, target: unescapeMount(f[4]!), fsType: f[sep + 1]!, source: unescapeMount(f[sep + 2]!) });
  }
  return out;
}

/** This process's /proc/self/mountinfo, parsed (throws as the read does, without /proc). */
export function mountInfo(): MountInfo[] {
  return parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** The mount whose target is exactly `target` (the last one, the visible one). */
export function findMount(target: string): MountInfo | undefined {
  let found: MountInfo | undefined;
  for (const e of mountInfo()) if (e.target === target) found = e;
  return found;
}

function optionString(o: KernelMountOptions, extra: string[], viaFusermount: boolean): string {
  const opts = [...extra];
  if (o.allowOther) opts.push('allow_other');
  // The kernel knows no allow_root: fusermount3 turns it into allow_other and
  // the session refuses other users. Mounted by root, it means no allow_other.
  if (o.allowRoot && !o.allowOther && viaFusermount) opts.push('allow_root');
  if (o.defaultPermissions) opts.push('default_permissions');
  if (o.maxRead) opts.push(`max_read=${o.maxRead}`);
  return opts.join(',');
}

function mountFlags(o: KernelMountOptions): number {
  let flags = 0;
  if (o.nosuid ?? true) flags |= sys.MS_NOSUID;
  if (o.nodev ?? true) flags |= sys.MS_NODEV;
  if (o.noexec) flags |= sys.MS_NOEXEC;
  if (o.noatime) flags |= sys.MS_NOATIME;
  if (o.readOnly) flags |= sys.MS_RDONLY;
  return flags;
}

function checkName(what: string, v: string): void {
  if (/[,\s]/.test(v) || v.length === 0) throw new MountError(`${what} '${v}' must be non-empty, without commas or spaces`);
}

/** Mounts a new FUSE connection on `mountpoint` and returns its /dev/fuse fd. */
export function mountKernel(mountpoint: string, o: KernelMountOptions = {}): KernelMount {
  const target = checkMountpoint(mountpoint);
  const fsname = o.fsname ?? 'tsfuse';
  const subtype = o.subtype ?? 'tsfuse';
  checkName('fsname', fsname);
  checkName('subtype', subtype);
  const root = sys.geteuid() === 0;
  if (root && !o.autoUnmount && !o.forceFusermount) {
    const fd = sys.open('/dev/fuse', sys.O_RDWR | sys.O_CLOEXEC);
    if (fd < 0) {
      throw new MountError(fd === -2 ? '/dev/fuse does not exist: load the fuse module (modprobe fuse)' : `cannot open /dev/fuse: ${errnoName(-fd)}`, -fd);
    }
    const st = fs.statSync(target);
    const data = optionString(o, [`fd=${fd}`, `rootmode=${(st.mode & 0o170000).toString(8)}`, `user_id=${process.getuid!()}`, `group_id=${process.getgid!()}`], false);
    const r = sys.mount(fsname, target, `fuse.${subtype}`, mountFlags(o), data);
    if (r < 0) {
      sys.close(fd);
      throw new MountError(`mount ${target}: ${errnoName(-r)}`, -r);
    }
    return { fd, mountpoint: target, method: 'mount', denyOthers: false };
  }
  return mountWithFusermount(target, o, fsname, subtype);
}

function mountWithFusermount(target: string, o: KernelMountOptions, fsname: string, subtype: string): KernelMount {
  const helper = findFusermount();
  if (!helper) {
    throw new MountError(
      sys.geteuid() === 0
        ? 'auto_unmount needs fusermount3 (Debian package fuse3)'
        : 'not permitted to mount: run as root, or install fusermount3 (Debian package fuse3)',
    );
  }
  const extra = [`fsname=${fsname}`, `subtype=${subtype}`];
  if (o.nosuid ?? true) extra.push('nosuid');
  if (o.nodev ?? true) extra.push('nodev');
  if (o.noexec) extra.push('noexec');
  if (o.noatime) extra.push('noatime');
  extra.push(o.readOnly ? 'ro' : 'rw');
  if (o.autoUnmount) extra.push('auto_unmount');
  const opts = optionString(o, extra, true);
  const pair = sys.socketpair();
  if (typeof pair === 'number') throw new MountError(`socketpair: ${errnoName(-pair)}`, -pair);
  const [ours, theirs] = pair;
  const args = ['-o', opts, '--', target];
  const env = { ...process.env, _FUSE_COMMFD: '3' };
  let stderr = '';
  try {
    if (o.autoUnmount) {
      // fusermount3 stays to unmount when our end of the socket closes.
      const child = spawn(helper, args, { env, stdio: ['ignore', 'ignore', 'pipe', theirs], detached: true });
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      child.unref();
      (child.stderr as unknown as { unref?: () => void })?.unref?.();
    } else {
      const r = spawnSync(helper, args, { env, stdio: ['ignore', 'ignore', 'pipe', theirs] });
      stderr = r.stderr?.toString() ?? '';
      if (r.status !== 0) throw new MountError(`fusermount3: ${stderr.trim() || `exit status ${r.status}`}${fusermountHint(stderr)}`);
    }
    sys.close(theirs);
    const fd = sys.recvFd(ours);
    if (fd < 0) throw new MountError(`fusermount3 did not pass a /dev/fuse fd: ${stderr.trim() || errnoName(-fd)}`);
    sys.fcntl(fd, sys.F_SETFD, sys.FD_CLOEXEC);
    // With auto_unmount the socket must stay open for our lifetime: fusermount3 unmounts when it closes.
    if (!o.autoUnmount) sys.close(ours);
    return { fd, mountpoint: target, method: 'fusermount3', denyOthers: !!o.allowRoot && !o.allowOther };
  } catch (e) {
    sys.close(ours);
    throw e;
  }
}

function fusermountHint(stderr: string): string {
  if (/failed to open \/dev\/fuse: Permission denied/.test(stderr)) {
    return ' (/dev/fuse must be readable and writable by users: Debian\'s udev rule makes it mode 0666)';
  }
  if (/option allow_other only allowed if 'user_allow_other' is set/.test(stderr)) {
    return " (add 'user_allow_other' to /etc/fuse.conf, or mount as root)";
  }
  return '';
}

export interface UnmountOptions {
  /** Detach now, clean up when no longer busy. */
  lazy?: boolean;
  /**
   * For a daemon that hangs: abort the connection first, as umount -f does
   * to a FUSE mount. Requests waiting for the daemon fail at once
   * (ECONNABORTED), later ones with ENOTCONN, the daemon's session ends;
   * then the mount is taken off, lazily if files on it are still open.
   * Root aborts through umount2(MNT_FORCE); another user through the
   * connection's `abort` file, which needs fusectl mounted somewhere.
   */
  force?: boolean;
}

/** Unmounts a FUSE mount (live or dead). Throws MountError with the reason. */
export function unmountKernel(mountpoint: string, o: UnmountOptions = {}): void {
  const target = path.resolve(mountpoint);
  if (o.force) return forceUnmount(target);
  if (sys.geteuid() === 0) {
    const r = sys.umount2(target, o.lazy ? sys.MNT_DETACH : 0);
    if (r === 0) return;
    if (-r === 16 /* EBUSY */) throw new MountError(`${target} is busy${busyHint(target)}; use -z to detach it lazily`, 16);
    if (-r === 22 /* EINVAL */) throw new MountError(`${target} is not a mount point`, 22);
    throw new MountError(`umount ${target}: ${errnoName(-r)}`, -r);
  }
  const helper = findFusermount();
  if (!helper) throw new MountError('not permitted to unmount: run as root, or install fusermount3 (Debian package fuse3)');
  const r = spawnSync(helper, ['-u', ...(o.lazy ? ['-z'] : []), '--', target], { encoding: 'utf8' });
  // r.error: it could not be run at all (EMFILE when the process has no fd left for its pipes).
  if (r.error) throw new MountError(`fusermount3 -u: could not run ${helper}: ${r.error.message}`);
  if (r.status !== 0) throw new MountError(`fusermount3 -u: ${(r.stderr ?? '').trim()}`);
}

function forceUnmount(target: string): void {
  if (sys.geteuid() === 0) {
    // The kernel aborts a FUSE connection on MNT_FORCE before it checks
    // whether the mount is busy (fuse_umount_begin).
    const r = sys.umount2(target, sys.MNT_FORCE);
    if (r === 0) return;
    if (-r === 22 /* EINVAL */) throw new MountError(`${target} is not a mount point`, 22);
    if (-r !== 16 /* EBUSY */) throw new MountError(`umount -f ${target}: ${errnoName(-r)}`, -r);
    return unmountKernel(target, { lazy: true });
  }
  abortConnection(target);
  unmountKernel(target, { lazy: true });
}

/**
 * Writes to the `abort` file of the FUSE connection mounted on `target`,
 * found through its device number (mountinfo), not through a stat of the
 * mount, which a hung daemon would never answer.
 */
function abortConnection(target: string): void {
  let dev: string | undefined;
  for (const m of mountInfo()) if (m.target === target) dev = m.dev;
  if (dev === undefined) throw new MountError(`${target} is not a mount point`, 22);
  const [major, minor] = dev.split(':');
  const ctl = fusectlDirs();
  if (major !== '0' || ctl.length === 0) {
    throw new MountError(`cannot abort ${target}'s connection: that needs root, or fusectl mounted (mount -t fusectl none /sys/fs/fuse/connections)`, 1);
  }
  let last = 0;
  for (const dir of ctl) {
    try {
      fs.writeFileSync(path.join(dir, minor!, 'abort'), '1');
      return;
    } catch (e) {
      last = -((e as NodeJS.ErrnoException).errno ?? -5);
    }
  }
  throw new MountError(`cannot abort ${target}'s connection through ${ctl[0]}/${minor}/abort: ${errnoName(last)}`, last);
}

/** Where fusectl is mounted (usually /sys/fs/fuse/connections). */
function fusectlDirs(): string[] {
  return mountInfo().filter((e) => e.fsType === 'fusectl').map((e) => e.target);
}

/** Which processes hold files under `target` (from /proc), for a helpful EBUSY. */
function busyHint(target: string): string {
  const holders: { pid: number; name: string }[] = [];
  try {
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let hit = false;
      try {
        const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
        if (cwd === target || cwd.startsWith(target + '/')) hit = true;
        if (!hit) {
          for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
            const l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
            if (l === target || l.startsWith(target + '/')) {
              hit = true;
              break;
            }
          }
        }
      } catch {
        continue;
      }
      if (hit) {
        let comm = '?';
        try {
          comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        } catch {
          /* gone */
        }
        holders.push({ pid: Number(pid), name: pid === String(process.pid) ? 'this process' : comm });
      }
    }
  } catch {
    return '';
  }
  if (holders.length === 0) return '';
  // A stable order whatever /proc's: this process first, then by pid; five at most.
  const self = process.pid;
  holders.sort((a, b) => (a.pid === self ? -1 : b.pid === self ? 1 : a.pid - b.pid));
  const named = holders.slice(0, 5).map((h) => `${h.name} (pid ${h.pid})`);
  return ` (held by ${named.join(', ')}${holders.length > 5 ? `, and ${holders.length - 5} more` : ''})`;
}
