// Shared pieces of the reliability and security tests (test/reliability-*.test.ts,
// test/security-*.test.ts): child daemons that can be killed, child processes
// with deadlines, the daemon's fd and memory counters, snapshots of trees that
// must not change, small tmpfs mounts.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { tmpdir } from './helpers.js';
import { unmountKernel } from '../src/session/mount.js';

export const LONG = process.env.TSFUSE_LONG === '1';
export const repoRoot = new URL('..', import.meta.url).pathname;
export const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/**
 * Prelude of the Python client scripts: E(name, f, *args) calls f and records
 * in `out[name]` 'ok' (or its value) or the errno's name.
 */
export const PY_E = String.raw`
import os, sys, errno, json, stat
out = {}
def E(name, f, *a, **k):
    try:
        v = f(*a, **k)
        out[name] = 'ok' if v is None else v
    except OSError as e:
        out[name] = errno.errorcode.get(e.errno, str(e.errno))
`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function isMounted(dir: string): boolean {
  return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
}

export async function waitFor(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

// ---- the daemon's own counters (the test process is the daemon) ----------------------------

export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function statusKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Resident set size of this process, MiB. */
export const rssMiB = (): number => statusKb('VmRSS') / 1024;
/** Peak resident set size of this process, MiB. */
export const peakRssMiB = (): number => statusKb('VmHWM') / 1024;

/**
 * Makes the kernel drop unused dentries and inodes (it then sends FORGETs for
 * the FUSE ones), and waits until the fd count stops falling.
 */
export async function dropCaches(): Promise<void> {
  fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
  let last = fdCount();
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const n = fdCount();
    if (n === last && i >= 3) return;
    last = n;
  }
}

// ---- child processes -------------------------------------------------------------------------

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export interface Started {
  proc: ChildProcess;
  /** Everything written to stdout so far. */
  out(): string;
  /** Resolves when stdout contains `marker` (rejects after `ms`). */
  waitFor(marker: string, ms?: number): Promise<void>;
  done: Promise<Run>;
}

/**
 * Starts a command asynchronously (the main thread stays free) with a
 * deadline: past it the child is killed with SIGKILL and timedOut is set.
 * stdin stays open unless `input` is given (write to proc.stdin).
 */
export function start(cmd: string, args: string[], opts: { timeout?: number; uid?: number; gid?: number; cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Started {
  const t0 = Date.now();
  const p = spawn(cmd, args, { cwd: opts.cwd, uid: opts.uid, gid: opts.gid, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  p.stdout!.on('data', (d: Buffer) => (stdout += d));
  p.stderr!.on('data', (d: Buffer) => (stderr += d));
  p.stdin!.on('error', () => {});
  if (opts.input !== undefined) p.stdin!.end(opts.input);
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill('SIGKILL');
  }, opts.timeout ?? 60_000);
  let closed = false;
  const done = new Promise<Run>((resolve) => {
    p.on('close', (status, signal) => {
      closed = true;
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - t0, timedOut });
    });
  });
  return {
    proc: p,
    out: () => stdout,
    done,
    async waitFor(marker: string, ms = 20_000) {
      const end = Date.now() + ms;
      while (!stdout.includes(marker)) {
        if (closed) throw new Error(`exited before printing ${JSON.stringify(marker)}: ${stdout}\n${stderr}`);
        if (Date.now() > end) throw new Error(`no ${JSON.stringify(marker)} after ${ms} ms: ${stdout}\n${stderr}`);
        await sleep(20);
      }
    },
  };
}

/** start() with stdin closed at once, resolving when the command ends. */
export function run(cmd: string, args: string[], opts: Parameters<typeof start>[2] = {}): Promise<Run> {
  return start(cmd, args, { input: '', ...opts }).done;
}

/** python3 -c <code> [args], asynchronously, with a deadline. */
export function py(code: string, args: string[] = [], opts: Parameters<typeof start>[2] = {}): Promise<Run> {
  return run('python3', ['-c', code, ...args], opts);
}

/** python3 -c <code> [args], started (stdin open unless input is given). */
export function pyStart(code: string, args: string[] = [], opts: Parameters<typeof start>[2] = {}): Started {
  return start('python3', ['-c', code, ...args], opts);
}

/** Synchronous python3 (for quick probes that cannot hang: the mount must be served by another thread). */
export function pySync(code: string, args: string[] = [], opts: { uid?: number; gid?: number; cwd?: string; timeout?: number } = {}) {
  const r = spawnSync('python3', ['-c', code, ...args], { encoding: 'utf8', timeout: opts.timeout ?? 30_000, uid: opts.uid, gid: opts.gid, cwd: opts.cwd });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

// ---- daemons in child processes ----------------------------------------------------------------

export interface ChildDaemon {
  proc: ChildProcess;
  dir: string;
  pid: number;
  /** 'passthrough' when kernel passthrough was agreed. */
  mode: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills it (SIGKILL) if still alive, and unmounts what it left. */
  cleanup(): Promise<void>;
}

const children = new Set<ChildDaemon>();

/**
 * Starts test/fixtures/reliability-child.ts serving `config` on a fresh
 * mkdtemp mount point (or `dir`), as another user if uid/gid are given.
 */
export async function startChildDaemon(
  config: { fs: 'passthrough' | 'memfs'; options?: Record<string, unknown>; mount?: Record<string, unknown> },
  opts: { dir?: string; uid?: number; gid?: number; prefix?: string[] } = {},
): Promise<ChildDaemon> {
  const dir = opts.dir ?? tmpdir('tsfuse-mnt-');
  // fusermount3 wants the user to own (write) the mount point.
  if (opts.uid !== undefined && opts.dir === undefined) fs.chownSync(dir, opts.uid, opts.gid ?? opts.uid);
  const prefix = opts.prefix ?? [];
  const argv = [...prefix, process.execPath, '--import', 'tsx', fixture('reliability-child.ts'), dir, JSON.stringify(config)];
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: repoRoot, uid: opts.uid, gid: opts.gid, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: opts.uid !== undefined ? dir : process.env.HOME },
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d));
  proc.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const d: ChildDaemon = {
    proc, dir, pid: proc.pid!, mode: '', exited, output: () => out,
    async cleanup() {
      children.delete(d);
      if (!gone) {
        proc.kill('SIGKILL');
        await exited;
      }
      if (isMounted(dir)) {
        try {
          unmountKernel(dir, { lazy: true });
        } catch {
          /* already gone */
        }
      }
    },
  };
  children.add(d);
  const end = Date.now() + 30_000;
  while (!/^mounted \d+/m.test(out)) {
    if (gone || Date.now() > end) {
      await d.cleanup();
      throw new Error(`child daemon did not mount: ${out}`);
    }
    await sleep(20);
  }
  d.mode = /^mounted \d+ (\S+)/m.exec(out)![1]!;
  return d;
}

after(async () => {
  for (const c of [...children]) await c.cleanup();
});

// ---- trees that must not change ------------------------------------------------------------------

/**
 * Everything observable about a tree without following symlinks: names,
 * types, modes, owners, sizes, link counts, mtimes/ctimes, content hashes,
 * symlink targets, xattrs. Two equal snapshots mean nothing changed.
 */
export function snapshot(root: string): string {
  const lines: string[] = [];
  const walk = (p: string, rel: string): void => {
    const st = fs.lstatSync(p, { bigint: true });
    let extra = '';
    if (st.isFile()) extra = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16);
    else if (st.isSymbolicLink()) extra = fs.readlinkSync(p);
    const x = spawnSync('getfattr', ['-h', '-d', '-m', '-', '--absolute-names', p], { encoding: 'utf8' }).stdout ?? '';
    lines.push(`${rel} mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} size=${st.size} nlink=${st.nlink} mtime=${st.mtimeNs} ctime=${st.ctimeNs} ${extra} ${x.split('\n').slice(1).join(';')}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p).sort()) walk(path.join(p, n), `${rel}/${n}`);
  };
  walk(root, '.');
  return lines.join('\n');
}

// ---- a small tmpfs of our own ------------------------------------------------------------------------

/** Mounts a tmpfs of `size` on a fresh mkdtemp directory; returns it and a function that unmounts it. */
export function smallTmpfs(size = '8m'): { dir: string; unmount: () => void } {
  const dir = tmpdir('tsfuse-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount tmpfs: ${r.stderr}`);
  let done = false;
  const unmount = (): void => {
    if (done) return;
    done = true;
    if (isMounted(dir)) {
      const u = spawnSync('umount', [dir], { encoding: 'utf8' });
      if (u.status !== 0) spawnSync('umount', ['-l', dir]);
    }
  };
  tmpfsMounts.add(unmount);
  return { dir, unmount };
}

const tmpfsMounts = new Set<() => void>();
after(() => {
  for (const u of tmpfsMounts) u();
});

/** Temporarily gives /dev/fuse Debian's mode 0666 (fusermount3 opens it as the calling user), then restores it. */
export async function withUserFuseDevice<T>(f: () => Promise<T> | T): Promise<T> {
  const old = fs.statSync('/dev/fuse').mode & 0o777;
  fs.chmodSync('/dev/fuse', 0o666);
  try {
    return await f();
  } finally {
    fs.chmodSync('/dev/fuse', old);
  }
}
