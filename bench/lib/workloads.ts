// The workload groups. A group runs once per (repetition, peer) on a fresh
// mount; its steps are timed one by one and each step is one row of the
// table. Clients are separate processes: python3 scripts (which time only
// their operations), fio (its own throughput numbers) or coreutils/tar
// (timed from spawn to exit).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MountWish, PeerName } from './peers.ts';
import { DEFAULT_WISH, REPO } from './peers.ts';
import { runOk } from './proc.ts';
import { dropCaches, syncAll } from './system.ts';
import type { TreeInfo } from './tree.ts';
import { treeTarball } from './tree.ts';

/** How long after the tree workload the last memory sample waits. */
const QUIET_SAMPLE_MS = 5000;

export type Unit = 'µs/op' | 'ms' | 's' | 'MiB/s' | 'IOPS';
/** What a row measures; the targets (report.ts) are per kind. `stall` rows have none. */
export type Kind = 'roundtrip' | 'metadata' | 'tree' | 'seq' | 'random' | 'stall';

export interface RowDef {
  id: string;
  label: string;
  unit: Unit;
  /** 'lower' for times, 'higher' for throughputs. */
  better: 'lower' | 'higher';
  kind: Kind;
}

export interface Sizes {
  rtOps: number;
  metaFiles: number;
  metaProcs: number;
  treeFiles: number;
  seqBytes: number;
  randFileBytes: number;
  randRuntime: number;
  refBytes: number;
  /** The file that each long call works on, and the small-fsync loop's count. */
  longBytes: number;
  smallSyncs: number;
}

export const FULL: Sizes = {
  rtOps: 20_000,
  metaFiles: 10_000,
  metaProcs: 4,
  treeFiles: 50_000,
  seqBytes: 1 << 30,
  randFileBytes: 1 << 30,
  randRuntime: 5,
  refBytes: 8 << 20,
  longBytes: 1 << 30,
  smallSyncs: 2_000,
};

export const QUICK: Sizes = {
  rtOps: 5_000,
  metaFiles: 2_000,
  metaProcs: 4,
  treeFiles: 5_000,
  seqBytes: 256 << 20,
  randFileBytes: 256 << 20,
  randRuntime: 2,
  refBytes: 8 << 20,
  longBytes: 256 << 20,
  smallSyncs: 500,
};

export interface StepResult {
  value: number;
  detail: Record<string, number>;
}

/** Suite-wide state shared by the groups. */
export interface Env {
  src: string;
  sizes: Sizes;
  python: string;
  log: (s: string) => void;
  tree?: TreeInfo;
}

/** One run of a group on one peer. */
export interface RunCtx {
  env: Env;
  peer: PeerName;
  /**
   * One of the group's work directories (`dirs`) as clients see it (in the
   * mount, or the source for native). Each is a directory of its own directly
   * under the source, created for this run only.
   */
  dir(name: string): string;
  /** The same directory in the source, for untimed native setup and checks. */
  nativeDir(name: string): string;
  /** The mount root (or the source for native). */
  root: string;
  /**
   * Times one step: fn returns the row's value, or the value and named
   * figures that explain it (kept in the JSON, summed up under the table).
   * Samples the daemon around it.
   */
  step(rowId: string, fn: () => Promise<number | StepResult>): Promise<void>;
  /** Records the daemon's memory at this point under `label`. */
  sampleMemory(label: string): void;
}

export interface Group {
  name: string;
  title: string;
  wish: MountWish;
  /** Work directories per run (default ['work']); see RunCtx.dir. */
  dirs?: string[];
  rows: (s: Sizes) => RowDef[];
  /** Once per suite, natively, before the first run. */
  prepare?(env: Env): Promise<void>;
  /** Natively, before mounting, untimed; `nativeDir` as in RunCtx. */
  setup?(env: Env, nativeDir: (name: string) => string): Promise<void>;
  run(ctx: RunCtx): Promise<void>;
}

const MiB = 2 ** 20;

function py(env: Env, script: string, args: (string | number)[]): Promise<Record<string, number>> {
  return runOk(env.python, [path.join(REPO, 'bench/clients', script), ...args.map(String)], { timeoutMs: 30 * 60_000 }).then((r) =>
    JSON.parse(r.stdout.trim().split('\n').pop()!),
  );
}

async function timed(cmd: string, args: string[], o: { discardStdout?: boolean } = {}): Promise<number> {
  const r = await runOk(cmd, args, { discardStdout: o.discardStdout ?? true, timeoutMs: 30 * 60_000 });
  return r.ms / 1000;
}

// ---------------------------------------------------------------------------
// fio

interface FioSide {
  bw_bytes: number;
  iops: number;
  io_bytes: number;
  runtime: number;
  total_ios: number;
  lat_ns: { mean: number };
}
interface FioJob {
  read: FioSide;
  write: FioSide;
  error: number;
}

// invalidate=0: fio would otherwise drop the file's page cache before each job
// (posix_fadvise DONTNEED), which empties the host cache for native but only
// the FUSE inode's cache for the FUSE peers. Cold reads drop caches explicitly.
export const FIO_COMMON = ['--ioengine=psync', '--group_reporting', '--output-format=json', '--randrepeat=0', '--invalidate=0'];

async function fio(name: string, args: string[]): Promise<FioJob> {
  const r = await runOk('fio', [`--name=${name}`, ...FIO_COMMON, ...args], { timeoutMs: 30 * 60_000 });
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { jobs: FioJob[] };
  const job = j.jobs[0]!;
  if (job.error) throw new Error(`fio ${name}: error ${job.error}`);
  return job;
}

const mibs = (bytesPerSec: number): number => bytesPerSec / MiB;

/**
 * MiB/s of a short single-job run from the summed per-I/O latencies: fio's
 * own bw comes from a runtime in whole milliseconds, too coarse for 8 MiB.
 */
function mibsFromLatency(...sides: FioSide[]): number {
  const bytes = sides.reduce((a, x) => a + x.io_bytes, 0);
  const ns = sides.reduce((a, x) => a + x.lat_ns.mean * x.total_ios, 0);
  return bytes / MiB / (ns / 1e9);
}
const sizeArg = (b: number): string => (b % (1 << 30) === 0 ? `${b / (1 << 30)}G` : `${b / MiB}M`);
const sizeLabel = (b: number): string => (b % (1 << 30) === 0 ? `${b / (1 << 30)} GiB` : `${b / MiB} MiB`);

// ---------------------------------------------------------------------------
// Groups

const roundtrip: Group = {
  name: 'roundtrip',
  title: 'round trip (attr_timeout=0, entry_timeout=5 on every FUSE peer)',
  wish: { attrTimeout: 0, entryTimeout: 5 },
  rows: (s) => [
    { id: 'rt.negative', label: `negative lookup (stat of ${s.rtOps} missing names)`, unit: 'µs/op', better: 'lower', kind: 'roundtrip' },
    { id: 'rt.stat', label: `stat of one file ×${s.rtOps}`, unit: 'µs/op', better: 'lower', kind: 'roundtrip' },
  ],
  async setup(_env, nativeDir) {
    fs.writeFileSync(path.join(nativeDir('work'), 'f'), 'x');
  },
  async run(c) {
    const n = c.env.sizes.rtOps;
    await c.step('rt.negative', async () => (await py(c.env, 'roundtrip.py', ['negative', c.dir('work'), n])).us_per_op!);
    await c.step('rt.stat', async () => (await py(c.env, 'roundtrip.py', ['stat', c.dir('work'), n])).us_per_op!);
  },
};

const metadata: Group = {
  name: 'metadata',
  title: 'metadata',
  wish: DEFAULT_WISH,
  rows: (s) => [
    { id: 'meta.create', label: `create+write 4 KiB+close ×${s.metaFiles}`, unit: 's', better: 'lower', kind: 'metadata' },
    { id: 'meta.ls', label: `ls -l of ${s.metaFiles} files`, unit: 's', better: 'lower', kind: 'metadata' },
    { id: 'meta.names', label: `ls -U of ${s.metaFiles} files (names only)`, unit: 's', better: 'lower', kind: 'metadata' },
    { id: 'meta.unlink', label: `unlink ×${s.metaFiles}`, unit: 's', better: 'lower', kind: 'metadata' },
    { id: 'meta.pcreate', label: `create ×${s.metaFiles}, ${s.metaProcs} processes`, unit: 's', better: 'lower', kind: 'metadata' },
    { id: 'meta.punlink', label: `unlink ×${s.metaFiles}, ${s.metaProcs} processes`, unit: 's', better: 'lower', kind: 'metadata' },
  ],
  // Serial and parallel runs in directories of their own: files deleted by the
  // serial unlink would otherwise slow the parallel creates (docs/benchmarks.md).
  dirs: ['serial', 'par'],
  async run(c) {
    const n = c.env.sizes.metaFiles;
    const serial = c.dir('serial');
    const par = c.dir('par');
    await c.step('meta.create', async () => (await py(c.env, 'meta.py', ['create', serial, n])).seconds!);
    await c.step('meta.ls', async () => {
      const r = await runOk('ls', ['-l', serial], { timeoutMs: 10 * 60_000 });
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('-')).length;
      if (lines !== n) throw new Error(`ls -l listed ${lines} files, expected ${n}`);
      return r.ms / 1000;
    });
    // The listing alone: what attributes in a listing cost when nobody asks for them.
    await c.step('meta.names', async () => {
      const r = await runOk('ls', ['-U', '--color=never', serial], { timeoutMs: 10 * 60_000 });
      const names = r.stdout.split('\n').filter((l) => l !== '').length;
      if (names !== n) throw new Error(`ls -U listed ${names} names, expected ${n}`);
      return r.ms / 1000;
    });
    await c.step('meta.unlink', async () => (await py(c.env, 'meta.py', ['unlink', serial, n])).seconds!);
    const p = c.env.sizes.metaProcs;
    await c.step('meta.pcreate', async () => (await py(c.env, 'meta.py', ['pcreate', par, n, p])).seconds!);
    await c.step('meta.punlink', async () => (await py(c.env, 'meta.py', ['punlink', par, n, p])).seconds!);
  },
};

const tree: Group = {
  name: 'tree',
  title: 'a real tree',
  wish: DEFAULT_WISH,
  rows: (s) => [
    { id: 'tree.untar', label: `tar -xf (${s.treeFiles} files)`, unit: 's', better: 'lower', kind: 'tree' },
    { id: 'tree.du', label: 'du -s', unit: 's', better: 'lower', kind: 'tree' },
    { id: 'tree.names', label: 'find -name (names only), warm', unit: 's', better: 'lower', kind: 'tree' },
    { id: 'tree.cat', label: 'find -type f | xargs cat, cold', unit: 's', better: 'lower', kind: 'tree' },
    { id: 'tree.rm', label: 'rm -rf', unit: 's', better: 'lower', kind: 'tree' },
  ],
  async prepare(env) {
    env.tree = await treeTarball(env.sizes.treeFiles, env.log);
  },
  dirs: ['tree'],
  async run(c) {
    const t = c.env.tree!;
    const dir = c.dir('tree');
    c.sampleMemory('before (mounted, warm-up done)');
    await c.step('tree.untar', () => timed('tar', ['-xf', t.tarball, '-C', dir]));
    await c.step('tree.du', () => timed('du', ['-s', dir]));
    // Every directory listed again, no file looked at: what attributes in a listing cost when nobody asks for them.
    await c.step('tree.names', () => timed('find', [dir, '-name', '*.no-such-suffix']));
    dropCaches();
    await c.step('tree.cat', () => timed('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 cat > /dev/null', 'sh', dir]));
    c.sampleMemory('tree unpacked and read');
    await c.step('tree.rm', async () => {
      const s = await timed('rm', ['-rf', path.join(dir, 'usr')]);
      if (fs.readdirSync(c.nativeDir('tree')).length !== 0) throw new Error('rm -rf left files behind');
      return s;
    });
    c.sampleMemory('after the tree workload');
    // The passthrough gives memory back once the mount has been quiet for
    // 200 ms (then a collection and ~3 s for V8 to return pages): sample again.
    await new Promise((r) => setTimeout(r, QUIET_SAMPLE_MS));
    c.sampleMemory(`${QUIET_SAMPLE_MS / 1000} s later (mount quiet)`);
  },
};

const seq: Group = {
  name: 'seq',
  title: 'sequential data',
  wish: DEFAULT_WISH,
  rows: (s) => [
    { id: 'seq.write', label: `seq write ${sizeLabel(s.seqBytes)}, bs=1M, end_fsync`, unit: 'MiB/s', better: 'higher', kind: 'seq' },
    { id: 'seq.read', label: `seq read ${sizeLabel(s.seqBytes)}, bs=1M, cold`, unit: 'MiB/s', better: 'higher', kind: 'seq' },
  ],
  async run(c) {
    const f = path.join(c.dir('work'), 'seq.dat');
    const size = `--size=${sizeArg(c.env.sizes.seqBytes)}`;
    await c.step('seq.write', async () => mibs((await fio('seqwrite', [`--filename=${f}`, '--rw=write', '--bs=1M', size, '--end_fsync=1'])).write.bw_bytes));
    dropCaches();
    await c.step('seq.read', async () => mibs((await fio('seqread', [`--filename=${f}`, '--rw=read', '--bs=1M', size])).read.bw_bytes));
    fs.rmSync(path.join(c.nativeDir('work'), 'seq.dat'));
  },
};

const BIG = 'big.dat';
const JOBS = 4;
const jobFile = (k: number): string => `rand.${k}.dat`;

async function layout(env: Env, name: string, bytes: number): Promise<void> {
  const f = path.join(env.src, name);
  if (fs.existsSync(f) && fs.statSync(f).size === bytes) return;
  env.log(`laying out ${f} (${sizeLabel(bytes)}) natively ...`);
  await fio('layout', [`--filename=${f}`, '--rw=write', '--bs=1M', `--size=${sizeArg(bytes)}`, '--end_fsync=1']);
}

/**
 * Random 4 KiB I/O. Buffered: each job on its own file (randFileBytes / 4),
 * the host files warm in the page cache. Direct: every job on one large file.
 */
function randomGroup(direct: boolean): Group {
  const d = direct ? 'direct' : 'random';
  const rows = (s: Sizes): RowDef[] => {
    const where = direct ? `O_DIRECT, one ${sizeLabel(s.randFileBytes)} file` : `own ${sizeLabel(s.randFileBytes / JOBS)} file per job`;
    const row = (rw: 'read' | 'write', jobs: number): RowDef => ({
      id: `${d}.${rw}${jobs}`,
      label: `rand ${rw} 4k, ${jobs} job${jobs > 1 ? 's' : ''}, ${where}, ${s.randRuntime} s`,
      unit: 'IOPS',
      better: 'higher',
      kind: 'random',
    });
    return [row('read', 1), row('read', JOBS), row('write', 1), row('write', JOBS)];
  };
  return {
    name: d,
    title: direct ? 'random 4 KiB with --direct=1 on one large file' : 'random 4 KiB, buffered, host files warm',
    wish: DEFAULT_WISH,
    rows,
    async prepare(env) {
      if (direct) await layout(env, BIG, env.sizes.randFileBytes);
      else for (let k = 0; k < JOBS; k++) await layout(env, jobFile(k), env.sizes.randFileBytes / JOBS);
    },
    async run(c) {
      const s = c.env.sizes;
      syncAll();
      const base = ['--bs=4k', '--time_based', `--runtime=${s.randRuntime}`];
      if (direct) {
        base.push(`--filename=${path.join(c.root, BIG)}`, `--size=${sizeArg(s.randFileBytes)}`, '--direct=1');
      } else {
        // The host files are in the page cache for every peer (untimed, native).
        for (let k = 0; k < JOBS; k++) await runOk('dd', [`if=${path.join(c.env.src, jobFile(k))}`, 'of=/dev/null', 'bs=1M']);
        base.push(`--directory=${c.root}`, '--filename_format=rand.$jobnum.dat', `--size=${sizeArg(s.randFileBytes / JOBS)}`);
      }
      for (const jobs of [1, JOBS]) {
        await c.step(`${d}.read${jobs}`, async () => (await fio(`randread${jobs}`, [...base, '--rw=randread', `--numjobs=${jobs}`])).read.iops);
      }
      for (const jobs of [1, JOBS]) {
        await c.step(`${d}.write${jobs}`, async () => (await fio(`randwrite${jobs}`, [...base, '--rw=randwrite', `--numjobs=${jobs}`])).write.iops);
        syncAll();
      }
    },
  };
}

const reference: Group = {
  name: 'reference',
  title: "the reference's integration fio workloads (8 MiB files; MiB/s from fio's summed per-I/O latencies)",
  wish: DEFAULT_WISH,
  rows: (s) => [
    { id: 'ref.write', label: `fio write ${sizeLabel(s.refBytes)}, bs=1M`, unit: 'MiB/s', better: 'higher', kind: 'seq' },
    { id: 'ref.read', label: `fio read ${sizeLabel(s.refBytes)}, bs=1M`, unit: 'MiB/s', better: 'higher', kind: 'seq' },
    { id: 'ref.randrw', label: `fio randrw ${sizeLabel(s.refBytes)}, bs=4k, 50% read`, unit: 'MiB/s', better: 'higher', kind: 'random' },
  ],
  async run(c) {
    const size = `--size=${sizeArg(c.env.sizes.refBytes)}`;
    const w = path.join(c.dir('work'), 'w.dat');
    const rw = path.join(c.dir('work'), 'rw.dat');
    await c.step('ref.write', async () => mibsFromLatency((await fio('write', [`--filename=${w}`, '--rw=write', '--bs=1M', size])).write));
    await c.step('ref.read', async () => mibsFromLatency((await fio('read', [`--filename=${w}`, '--rw=read', '--bs=1M', size])).read));
    await c.step('ref.randrw', async () => {
      const j = await fio('randrw', [`--filename=${rw}`, '--rw=randrw', '--bs=4k', '--rwmixread=50', size]);
      return mibsFromLatency(j.read, j.write);
    });
  },
};

const COPY_SRC = 'long-copy.dat';

/**
 * Calls that take long (fsync of much dirty data, a truncate or an open
 * with O_TRUNC that drops many pages, the removal of a big file, a big
 * copy): how long another client of the same mount waits meanwhile. A daemon that makes the call on its only serving thread holds
 * every other request until it returns; natively the other client does not
 * wait at all. Then what an fsync costs when there is little to write.
 */
const stall: Group = {
  name: 'stall',
  title: "another client's longest wait (a LOOKUP loop) during one long call; the small fsync's cost",
  wish: DEFAULT_WISH,
  rows: (s) => [
    { id: 'stall.fsync', label: `wait during fsync of ${sizeLabel(s.longBytes)} just written`, unit: 'ms', better: 'lower', kind: 'stall' },
    { id: 'stall.truncate', label: `wait during ftruncate to 0 of ${sizeLabel(s.longBytes)} just written`, unit: 'ms', better: 'lower', kind: 'stall' },
    { id: 'stall.otrunc', label: `wait during open(O_TRUNC) of ${sizeLabel(s.longBytes)} just written`, unit: 'ms', better: 'lower', kind: 'stall' },
    { id: 'stall.otrunc_setid', label: `the same, of a set-id file (mode 6755)`, unit: 'ms', better: 'lower', kind: 'stall' },
    { id: 'stall.unlink', label: `wait during rm of ${sizeLabel(s.longBytes)} on disk, and 1 s after`, unit: 'ms', better: 'lower', kind: 'stall' },
    { id: 'stall.copy', label: `wait during copy_file_range of ${sizeLabel(s.longBytes)}`, unit: 'ms', better: 'lower', kind: 'stall' },
    { id: 'stall.fsync4k', label: `pwrite 4 KiB + fsync ×${s.smallSyncs}`, unit: 'µs/op', better: 'lower', kind: 'stall' },
  ],
  async prepare(env) {
    await layout(env, COPY_SRC, env.sizes.longBytes);
  },
  async run(c) {
    const s = c.env.sizes;
    const dir = c.dir('work');
    const longcall = async (mode: string, ...extra: string[]): Promise<StepResult> => {
      const r = await py(c.env, 'longcall.py', [mode, dir, s.longBytes, ...extra]);
      return { value: r.wait_ms!, detail: { 'call ms': r.call_ms!, probes: r.probes! } };
    };
    await c.step('stall.fsync', () => longcall('fsync'));
    syncAll();
    await c.step('stall.truncate', () => longcall('truncate'));
    syncAll();
    await c.step('stall.otrunc', () => longcall('otrunc'));
    syncAll();
    await c.step('stall.otrunc_setid', () => longcall('otrunc-setid'));
    syncAll();
    await c.step('stall.unlink', () => longcall('unlink'));
    syncAll();
    await c.step('stall.copy', () => longcall('copy', path.join(c.root, COPY_SRC)));
    fs.rmSync(path.join(c.nativeDir('work'), 'copy.dat'));
    syncAll();
    await c.step('stall.fsync4k', async () => (await py(c.env, 'longcall.py', ['fsync4k', dir, s.smallSyncs])).us_per_op!);
  },
};

export const GROUPS: Group[] = [roundtrip, metadata, tree, seq, randomGroup(false), randomGroup(true), reference, stall];

export const ALIASES: Record<string, string[]> = {
  data: ['seq', 'random', 'direct'],
  all: GROUPS.map((g) => g.name),
};

/**
 * Empties a native work directory after its run, keeping the directory
 * itself (see docs/benchmarks.md, "the host filesystem"), and writes back.
 */
export async function emptyNative(dir: string): Promise<void> {
  if (!fs.existsSync(dir)) return;
  const entries = fs.readdirSync(dir).map((e) => path.join(dir, e));
  if (entries.length) await runOk('rm', ['-rf', '--', ...entries]);
  syncAll();
}
