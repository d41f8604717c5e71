// Shared test helpers: temporary directories and mounts that are always
// unmounted, also when a test fails.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { after } from 'node:test';
import { mount } from '../src/mount.js';
import type { FilesystemSource, MountHandle, MountOptions, UnmountOptions } from '../src/mount.js';
import { unmountKernel } from '../src/session/mount.js';
import type { TestMemFsOptions } from './fixtures/test-memfs.js';

const toClean: string[] = [];
const mounted = new Set<MountHandle>();

export function tmpdir(prefix = 'tsfuse-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(d, 0o755);
  toClean.push(d);
  return d;
}

export async function mountFs(source: FilesystemSource, options: MountOptions = {}): Promise<MountHandle & { dir: string }> {
  const dir = tmpdir('tsfuse-mnt-');
  const h = await mount(dir, source, options);
  mounted.add(h);
  return Object.assign(h, { dir });
}

/** Unmounts; a mount still there after a failure (busy) stays on the list that after() forces off. */
export async function unmountFs(h: MountHandle, o: UnmountOptions = {}): Promise<void> {
  try {
    await h.unmount(o);
  } finally {
    if (!fs.readFileSync('/proc/self/mounts', 'utf8').includes(` ${h.mountpoint} `)) mounted.delete(h);
  }
}

export const memfsModule = new URL('../src/fs/memfs.ts', import.meta.url);
export const passthroughModule = new URL('../src/fs/passthrough/index.ts', import.meta.url);
/** MemFs with the tests' faults (slow, gated or failing answers); MemFs itself without options. */
export const testMemfsModule = new URL('./fixtures/test-memfs.ts', import.meta.url);

export async function mountMemFs(options: TestMemFsOptions = {}, mountOptions: MountOptions = {}) {
  return mountFs({ module: testMemfsModule, exportName: 'TestMemFs', args: [options] }, mountOptions);
}

export async function mountPassthrough(source: string, options: Record<string, unknown> = {}, mountOptions: MountOptions = {}) {
  return mountFs({ module: passthroughModule, exportName: 'PassthroughFs', args: [{ source, ...options }] }, mountOptions);
}

/** Mounts a passthrough of `src`, runs `f`, always unmounts. */
export async function withMount<T>(
  src: string,
  opts: Record<string, unknown>,
  mopts: MountOptions,
  f: (m: Awaited<ReturnType<typeof mountPassthrough>>) => T | Promise<T>,
): Promise<T> {
  const m = await mountPassthrough(src, opts, mopts);
  try {
    return await f(m);
  } finally {
    await unmountFs(m);
  }
}

/** Polls `cond` every 50 ms for up to `ms`; its last answer. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/**
 * Mounts `host` with the built `tsfuse` command and `-d` (plus `args`), runs
 * `f` with the mountpoint and a reader of the daemon's log, and always ends
 * the daemon (which unmounts). The log goes to a file: a pipe would fill
 * while a test's thread waits for a client (spawnSync), and stall the daemon.
 */
export async function withLoggedDaemon<T>(host: string, args: string[], f: (mnt: string, log: () => string) => T | Promise<T>): Promise<T> {
  const mnt = tmpdir('tsfuse-mnt-');
  const main = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'dist', 'cli', 'main.js');
  const logFile = path.join(tmpdir(), 'daemon.log');
  const logFd = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [main, host, mnt, '-d', ...args], { stdio: ['ignore', 'ignore', logFd] });
  fs.closeSync(logFd);
  const log = (): string => fs.readFileSync(logFile, 'utf8');
  const exited = new Promise((r) => child.on('exit', r));
  try {
    if (!(await waitFor(() => log().includes('serving') && fs.readFileSync('/proc/self/mounts', 'utf8').includes(` ${mnt} `), 30_000))) {
      throw new Error(`the daemon did not mount ${mnt}: ${log()}`);
    }
    return await f(mnt, log);
  } finally {
    child.kill('SIGINT');
    await exited;
  }
}

/** Runs a shell command as a child process; returns status, stdout, stderr. */
export function sh(cmd: string, opts: { uid?: number; gid?: number; cwd?: string; timeout?: number } = {}) {
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', timeout: opts.timeout ?? 30000, uid: opts.uid, gid: opts.gid, cwd: opts.cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

after(async () => {
  // Mounts a failed test left. Forced: a lazy detach would wait here for
  // ever if something still holds the mount (an fd a daemon leaked on a
  // source, a client stuck in a handler that never answers); aborting the
  // connection ends the session whatever holds it.
  for (const h of mounted) {
    try {
      await h.unmount({ force: true });
    } catch {
      /* already gone */
    }
  }
  for (const d of toClean.reverse()) {
    try {
      // A mount left by a failed test must not make rm walk into it.
      if (fs.readFileSync('/proc/self/mounts', 'utf8').includes(` ${d} `)) unmountKernel(d, { force: true });
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
});

/** Whether process `pid` waits for a FUSE reply (its system call is queued in a mount's kernel side). */
export function waitsOnFuse(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/wchan`, 'utf8') === 'request_wait_answer';
  } catch {
    return false;
  }
}

/** Whether `fd` is an open fd of this process. */
export function isFdOpen(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** Open flags of this process's fds on `target` (a path, or /dev/fuse), read from /proc/self/fdinfo. */
export function openFdFlags(target: string): number[] {
  const out: number[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let t: string;
    try {
      t = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (t !== target) continue;
    const m = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (m) out.push(Number.parseInt(m[1]!, 8));
  }
  return out;
}
