// The four peers every workload runs on: the source directory itself, bindfs,
// tsfuse with kernel passthrough (its default), tsfuse without; optionally
// libfuse's passthrough_hp and tsfuse variants. The FUSE daemons are separate
// processes (tsfuse through bench/serve.mjs), started per workload group and
// stopped after it, also on failure.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killPid, onCleanup, runOk, sleep } from './proc.ts';
import { forceUnmount, mountedType } from './system.ts';

/** The four peers of every comparison, plus optional tsfuse variants (VARIANTS). */
export type PeerName = string;
export const PEERS: PeerName[] = ['native', 'bindfs', 'tsfuse', 'tsfuse-nopt'];

/**
 * tsfuse variants for experiments (`--peers bindfs,tsfuse,tsfuse-kp2,...`):
 * what a non-default option or node flag changes. Not part of the default run.
 */
export interface Variant {
  fs: Record<string, unknown>;
  mount?: Record<string, unknown>;
  nodeFlags: string[];
  about: string;
  /** Load the --baseline build instead of the run's dist/ snapshot. */
  baseline?: boolean;
  /** The default peer it varies, which the report compares it with (tsfuse unless said). */
  ref?: PeerName;
  /** Serve the passthrough with asynchronous handlers (bench/async-fs.mjs): what each awaits first. */
  async?: 'immediate' | 'pool';
}
export const VARIANTS: Record<string, Variant> = {
  tsfuse: { fs: {}, nodeFlags: [], about: 'defaults (kernel passthrough on, spinUs 50)' },
  'tsfuse-nopt': { fs: { passthrough: false }, nodeFlags: [], about: 'kernel passthrough off' },
  'tsfuse-nospin': { fs: {}, mount: { spinUs: 0 }, nodeFlags: [], about: 'spinUs 0: the session thread sleeps in poll(2) as soon as no request is queued' },
  'tsfuse-nopt-nospin': { fs: { passthrough: false }, mount: { spinUs: 0 }, nodeFlags: [], ref: 'tsfuse-nopt', about: 'passthrough off, spinUs 0' },
  'tsfuse-noring': { fs: {}, mount: { ring: false }, nodeFlags: [], about: 'ring off: fsyncs and big truncates (and READs, O_DIRECT writes without passthrough) made inline on the session thread' },
  'tsfuse-kp2': { fs: { killprivV2: true }, nodeFlags: [], about: 'killprivV2: the kernel stops asking GETXATTR security.capability before writes' },
  'tsfuse-nopt-kp2': { fs: { passthrough: false, killprivV2: true }, nodeFlags: [], ref: 'tsfuse-nopt', about: 'passthrough off, killprivV2 on' },
  'tsfuse-nopt-noinval': { fs: { passthrough: false, autoInvalData: false }, nodeFlags: [], ref: 'tsfuse-nopt', about: 'passthrough off, autoInvalData off: a file\'s own writes no longer empty its page cache' },
  'tsfuse-rdp-auto': { fs: { readdirplus: 'auto' }, nodeFlags: [], about: 'readdirplus auto: the kernel asks for attributes with the first read of a listing, later reads only after lookups' },
  'tsfuse-rdp-always': { fs: { readdirplus: 'always' }, nodeFlags: [], about: 'readdirplus always: every read of a listing carries the attributes' },
  'tsfuse-rdp-never': { fs: { readdirplus: 'never' }, nodeFlags: [], about: 'readdirplus never: listings carry names only, each name looked up when used' },
  'tsfuse-byname': { fs: { fileHandles: false }, nodeFlags: [], about: 'fileHandles off: inode fds past the budget reopened by parent and name, as in a non-root daemon' },
  'tsfuse-async': { fs: {}, nodeFlags: [], async: 'immediate', about: 'every handler asynchronous: it awaits a setImmediate turn first (bench/async-fs.mjs)' },
  'tsfuse-async-pool': { fs: {}, nodeFlags: [], async: 'pool', about: 'every handler asynchronous: it awaits a libuv thread-pool round trip (fs.promises.access) first' },
  'tsfuse-async-pool-base': { fs: {}, nodeFlags: [], async: 'pool', baseline: true, ref: 'tsfuse-async-pool', about: 'tsfuse-async-pool built from the --baseline revision' },
  'tsfuse-base': { fs: {}, nodeFlags: [], baseline: true, about: 'defaults, built from the --baseline revision: a change against its base in one alternating run' },
  'tsfuse-nopt-base': { fs: { passthrough: false }, nodeFlags: [], baseline: true, ref: 'tsfuse-nopt', about: 'kernel passthrough off, built from the --baseline revision' },
};

/**
 * libfuse's own high-performance example daemon (example/passthrough_hp.cc:
 * C++, multi-threaded, kernel passthrough), a peer the issue names. It is not
 * packaged; `--passthrough-hp PATH` runs a binary the user built from
 * libfuse's source with libfuse's own build. Not part of the default run.
 */
export const PASSTHROUGH_HP = 'passthrough_hp';

/** The peer a further peer is compared with in the report: its ref, or tsfuse. */
export function referenceOf(peer: PeerName): PeerName {
  return VARIANTS[peer]?.ref ?? 'tsfuse';
}

export const ALL_PEERS: PeerName[] = ['native', 'bindfs', PASSTHROUGH_HP, ...Object.keys(VARIANTS)];

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../..');
const SERVE = path.join(REPO, 'bench/serve.mjs');

/** What a workload group asks of the FUSE peers. */
export interface MountWish {
  /** Attribute and entry TTLs, seconds (both peers get the same). */
  attrTimeout: number;
  entryTimeout: number;
}

export const DEFAULT_WISH: MountWish = { attrTimeout: 5, entryTimeout: 5 };

/** bindfs options equivalent to tsfuse's defaults (see docs/benchmarks.md). */
export function bindfsOptions(w: MountWish): string {
  // bindfs (as root) adds allow_other and default_permissions; tsfuse mounts without allow_other.
  // forward-odirect: tsfuse keeps O_DIRECT on the host file (allowDirectIo), so bindfs must too.
  // big_writes: Debian's bindfs uses libfuse 2.9, which without it sends one 4 KiB WRITE per page;
  // tsfuse negotiates BIG_WRITES (and MAX_PAGES: 1 MiB writes, libfuse 2.9 stops at 128 KiB).
  return ['no-allow-other', `attr_timeout=${w.attrTimeout}`, `entry_timeout=${w.entryTimeout}`, 'forward-odirect=4096', 'big_writes'].join(',');
}

export function tsfuseOptions(peer: PeerName, w: MountWish): { fs: Record<string, unknown>; mount: Record<string, unknown>; async?: string } {
  const v = VARIANTS[peer];
  if (!v) throw new Error(`unknown tsfuse variant ${peer}`);
  const fs: Record<string, unknown> = {};
  if (w.attrTimeout !== 5) fs.attrTimeout = w.attrTimeout;
  if (w.entryTimeout !== 5) fs.entryTimeout = w.entryTimeout;
  return { fs: { ...fs, ...v.fs }, mount: { ...v.mount }, ...(v.async ? { async: v.async } : {}) };
}

/**
 * passthrough_hp's arguments. It has no timeout options: 86,400 s for entries
 * and attributes, or 0 with --nocache (which also drops its keep_cache and
 * writeback cache), so the round-trip group (attr_timeout=0) runs it --nocache.
 */
export function passthroughHpArgs(w: MountWish): string[] {
  return ['--foreground', ...(w.attrTimeout === 0 ? ['--nocache'] : [])];
}

export function describePeer(peer: PeerName, w: MountWish): string {
  switch (peer) {
    case 'native':
      return 'the source directory itself';
    case 'bindfs':
      return `bindfs -f -o ${bindfsOptions(w)} <src> <mnt>`;
    case PASSTHROUGH_HP:
      return `passthrough_hp ${passthroughHpArgs(w).join(' ')} <src> <mnt> (libfuse's example, multi-threaded, kernel passthrough)`;
    default: {
      const v = VARIANTS[peer]!;
      return `${v.baseline ? 'TSFUSE_BENCH_DIST=<baseline build> ' : ''}node ${v.nodeFlags.map((f) => f + ' ').join('')}bench/serve.mjs <src> <mnt> '${JSON.stringify(tsfuseOptions(peer, w))}'`;
    }
  }
}

export interface Mounted {
  peer: PeerName;
  /** Where clients work: the mount point, or the source for native. */
  root: string;
  /** The daemon's pid (bindfs -f or serve.mjs); undefined for native. */
  pid?: number;
  /** INIT capabilities agreed (tsfuse only). */
  agreed?: string[];
  stop(): Promise<void>;
}

export interface MountContext {
  src: string;
  mnt: string;
  wish: MountWish;
  /** Extra node flags for serve.mjs (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** The dist/ of the --baseline build, for the tsfuse-*-base peers. */
  baselineDist?: string;
  /** The passthrough_hp binary (--passthrough-hp), for that peer. */
  passthroughHp?: string;
  /** Collected daemon stderr goes here on stop (warnings). */
  log?: (line: string) => void;
}

export async function mountPeer(peer: PeerName, c: MountContext): Promise<Mounted> {
  if (peer === 'native') return { peer, root: c.src, stop: async () => {} };
  if (mountedType(c.mnt) !== undefined) throw new Error(`${c.mnt} is already a mount point`);
  if (peer === 'bindfs') return mountCDaemon(peer, 'bindfs', ['-f', '-o', bindfsOptions(c.wish), c.src, c.mnt], c);
  if (peer === PASSTHROUGH_HP) {
    if (c.passthroughHp === undefined) throw new Error(`${peer} needs --passthrough-hp PATH`);
    return mountCDaemon(peer, c.passthroughHp, [...passthroughHpArgs(c.wish), c.src, c.mnt], c);
  }
  return mountTsfuse(peer, c);
}

interface Daemon {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<void>;
  hasExited: () => boolean;
}

function startDaemon(cmd: string, args: string[], withStdin: boolean, env?: NodeJS.ProcessEnv): Daemon {
  // Its own process group: a Ctrl-C reaches the runner, which unmounts in order.
  const child = spawn(cmd, args, { stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true, env: env ?? process.env });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (err.length > 1 << 16) err = err.slice(-(1 << 15));
  });
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.on('exit', () => {
      done = true;
      resolve();
    });
    child.on('error', () => {
      done = true;
      resolve();
    });
  });
  return { child, stderr: () => err, exited, hasExited: () => done };
}

async function waitExit(d: Daemon, ms: number): Promise<boolean> {
  if (d.hasExited()) return true;
  await Promise.race([d.exited, sleep(ms)]);
  return d.hasExited();
}

/** A daemon that failed to mount: kill it, wait for it, take off whatever it left. */
async function abandon(d: Daemon, mnt: string, unregister: () => void): Promise<void> {
  killPid(d.child.pid);
  await waitExit(d, 5000);
  forceUnmount(mnt);
  unregister();
}

async function mountTsfuse(peer: PeerName, c: MountContext): Promise<Mounted> {
  const opts = tsfuseOptions(peer, c.wish);
  const v = VARIANTS[peer]!;
  const flags = [...v.nodeFlags, ...(c.nodeFlags ?? [])];
  if (v.baseline && c.baselineDist === undefined) throw new Error(`${peer} needs --baseline <revision>`);
  const env = v.baseline ? { ...process.env, TSFUSE_BENCH_DIST: c.baselineDist } : undefined;
  const d = startDaemon(process.execPath, [...flags, SERVE, c.src, c.mnt, JSON.stringify(opts)], true, env);
  const unregister = onCleanup(() => {
    killPid(d.child.pid);
    forceUnmount(c.mnt);
  });
  let ready: { pid: number; agreed: string[] };
  try {
    ready = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`tsfuse did not report ready in 30 s: ${d.stderr()}`)), 30_000);
      d.child.stdout!.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        const m = /^ready (.*)$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(JSON.parse(m[1]!));
        }
      });
      void d.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`tsfuse daemon exited before the mount was live: ${d.stderr().trim()}`));
      });
    });
  } catch (e) {
    await abandon(d, c.mnt, unregister);
    throw e;
  }
  if (mountedType(c.mnt) === undefined) throw new Error(`tsfuse reported ready but ${c.mnt} is not mounted`);
  return {
    peer,
    root: c.mnt,
    pid: ready.pid,
    agreed: ready.agreed,
    async stop() {
      killPid(d.child.pid, 'SIGTERM');
      if (!(await waitExit(d, 20_000))) {
        c.log?.(`tsfuse daemon ${d.child.pid} did not exit 20 s after SIGTERM: killed`);
        killPid(d.child.pid);
        await waitExit(d, 5000);
      }
      forceUnmount(c.mnt);
      unregister();
      const err = d.stderr().trim();
      if (err) c.log?.(`tsfuse daemon stderr: ${err.slice(-2000)}`);
    },
  };
}

/** A C daemon that mounts by itself in the foreground and leaves on `fusermount3 -u`. */
async function mountCDaemon(peer: PeerName, cmd: string, args: string[], c: MountContext): Promise<Mounted> {
  const d = startDaemon(cmd, args, false);
  const unregister = onCleanup(() => {
    killPid(d.child.pid);
    forceUnmount(c.mnt);
  });
  try {
    const t0 = Date.now();
    while (mountedType(c.mnt) === undefined) {
      if (d.hasExited()) throw new Error(`${peer} exited before mounting: ${d.stderr().trim()}`);
      if (Date.now() - t0 > 15_000) throw new Error(`${peer} did not mount in 15 s: ${d.stderr().trim()}`);
      await sleep(10);
    }
    // The first access waits for INIT to be answered.
    await runOk('stat', ['-c', '%i', c.mnt]);
  } catch (e) {
    await abandon(d, c.mnt, unregister);
    throw e;
  }
  return {
    peer,
    root: c.mnt,
    pid: d.child.pid,
    async stop() {
      for (let i = 0; i < 20; i++) {
        const r = await runOk('fusermount3', ['-u', c.mnt]).then(
          () => true,
          (e: Error) => {
            if (i === 19) c.log?.(`fusermount3 -u ${c.mnt}: ${e.message}`);
            return false;
          },
        );
        if (r) break;
        await sleep(250);
      }
      if (!(await waitExit(d, 10_000))) {
        killPid(d.child.pid);
        await waitExit(d, 5000);
      }
      forceUnmount(c.mnt);
      unregister();
    },
  };
}
