// tsfuse benchmark suite: every workload on the native directory, bindfs,
// tsfuse (kernel passthrough on, its default) and tsfuse without passthrough,
// alternating peers within each repetition, in an order balanced for
// carry-over (bench/lib/order.ts: A B D C, B C A D, C D B A, ...).
//
//   npm run bench                         the full suite (npm run build first)
//   npm run bench -- --quick              a smoke run (smaller sizes)
//   npm run bench -- --reps 5 --only metadata,tree
//   npm run bench -- --profile --only tree --reps 1   daemon CPU profiles (node --cpu-prof)
//   npm run bench -- --perf --only metadata --reps 1  perf record of every FUSE daemon (bench/perf-summary.ts)
//
// Prints the table, writes bench/results/<date>.json and .txt. See
// docs/benchmarks.md for what each row measures.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { Mounted, PeerName } from './lib/peers.ts';
import { ALL_PEERS, describePeer, mountPeer, PASSTHROUGH_HP, PEERS, REPO, VARIANTS } from './lib/peers.ts';
import { installExitHandlers, killPid, onCleanup, runOk, sleep } from './lib/proc.ts';
import { spawn } from 'node:child_process';
import type { RowResult, Sample } from './lib/report.ts';
import { daemonTable, detailLines, mainTable, targets, targetsText, variantTable } from './lib/report.ts';
import { filesystemOf, machineInfo, machineLine, mountedType, mountsUnder, machineIdle, procCounters, procMemory, waitQuiet } from './lib/system.ts';
import type { Env, Group, RunCtx } from './lib/workloads.ts';
import { ALIASES, emptyNative, FIO_COMMON, FULL, GROUPS, QUICK } from './lib/workloads.ts';
import { balancedAfter, peerOrder } from './lib/order.ts';

interface Args {
  quick: boolean;
  reps: number;
  only: string[] | undefined;
  peers: PeerName[];
  profile: boolean;
  perf: boolean;
  warmup: boolean;
  pmQos: boolean;
  quiet: number;
  sourceFs: 'loop' | 'tmp';
  out: string | undefined;
  baseline: string | undefined;
  passthroughHp: string | undefined;
}

function usage(): never {
  process.stdout.write(`usage: node --import tsx bench/run.ts [--quick] [--reps N] [--only group,...] [--peers p,...] [--profile] [--perf]
                                      [--no-warmup] [--no-pm-qos] [--quiet CORES] [--source-fs loop|tmp] [--out file.json]
                                      [--baseline REV] [--passthrough-hp PATH]
  --quick        smaller sizes (a smoke run of a few minutes)
  --reps N       repetitions per peer (default 3)
  --only g,...   run only these workload groups
  --peers p,...  run only these peers
  --profile      run the tsfuse daemons under node --cpu-prof (summarize with bench/profile-summary.ts)
  --perf         perf record -g every FUSE daemon during the timed steps (tsfuse with --perf-basic-prof;
                 summarize with bench/perf-summary.ts); slows the runs: profile, don't compare
  --no-warmup    skip the untimed warm-up client before each run
  --no-pm-qos    do not hold /dev/cpu_dma_latency at 0 during the run (by default idle vCPUs poll
                 instead of halting, so that each FUSE round trip does not pay an idle-exit wake-up)
  --quiet CORES  before each run, wait (up to 2 min) until other work uses fewer cores than this (default 0.3; 0 = don't wait)
  --source-fs F  loop (default): the source is a fresh ext4 with a journal, in a sparse image file under /tmp
                 on a loop device with direct I/O, for the run; tmp: a directory of /tmp's own filesystem
  --out FILE     where to write the JSON (default bench/results/<date>.json)
  --baseline REV build git revision REV (a commit, tag or branch) for the tsfuse-base and tsfuse-nopt-base
                 peers, which then alternate with the others: a change measured against its base in one
                 run (this machine's speed drifts over a day, so separate runs disagree by more than
                 most changes move)
  --passthrough-hp PATH
                 add the peer passthrough_hp: libfuse's example/passthrough_hp (C++, multi-threaded,
                 kernel passthrough), a binary you built from libfuse's source with libfuse's own build
groups: ${GROUPS.map((g) => g.name).join(', ')} (aliases: ${Object.keys(ALIASES).join(', ')})
peers:  ${PEERS.join(', ')} (default); ${PASSTHROUGH_HP} (with --passthrough-hp); tsfuse variants for experiments:
${Object.entries(VARIANTS).filter(([k]) => !PEERS.includes(k)).map(([k, v]) => `        ${k}: ${v.about}`).join('\n')}
`);
  process.exit(0);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, reps: 3, only: undefined, peers: [...PEERS], profile: false, perf: false, warmup: true, pmQos: true, quiet: 0.3, sourceFs: 'loop', out: undefined, baseline: undefined, passthroughHp: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${k} needs a value`);
      return v;
    };
    if (k === '--quick') a.quick = true;
    else if (k === '--reps') a.reps = Number(val());
    else if (k.startsWith('--reps=')) a.reps = Number(k.slice(7));
    else if (k === '--only') a.only = val().split(',');
    else if (k.startsWith('--only=')) a.only = k.slice(7).split(',');
    else if (k === '--peers') a.peers = val().split(',');
    else if (k === '--profile') a.profile = true;
    else if (k === '--perf') a.perf = true;
    else if (k === '--no-warmup') a.warmup = false;
    else if (k === '--no-pm-qos') a.pmQos = false;
    else if (k === '--quiet') a.quiet = Number(val());
    else if (k === '--source-fs') {
      const v = val();
      if (v !== 'loop' && v !== 'tmp') throw new Error(`--source-fs: expected loop or tmp, not '${v}'`);
      a.sourceFs = v;
    } else if (k === '--out') a.out = val();
    else if (k === '--baseline') a.baseline = val();
    else if (k === '--passthrough-hp') a.passthroughHp = val();
    else if (k === '--help' || k === '-h') usage();
    else throw new Error(`unknown argument ${k} (try --help)`);
  }
  if (!Number.isInteger(a.reps) || a.reps < 1) throw new Error('--reps: expected a positive integer');
  if (a.only) {
    a.only = a.only.flatMap((n) => ALIASES[n] ?? [n]);
    for (const n of a.only) if (!GROUPS.some((g) => g.name === n)) throw new Error(`--only: unknown workload '${n}'`);
  }
  for (const p of a.peers) if (!ALL_PEERS.includes(p)) throw new Error(`--peers: unknown peer '${p}' (try --help)`);
  const base = a.peers.filter((p) => VARIANTS[p]?.baseline);
  if (base.length && a.baseline === undefined) throw new Error(`--peers ${base.join(',')}: needs --baseline REV`);
  if (a.baseline !== undefined && !base.length) a.peers.push('tsfuse-base');
  if (a.passthroughHp !== undefined) {
    a.passthroughHp = path.resolve(a.passthroughHp);
    try {
      fs.accessSync(a.passthroughHp, fs.constants.X_OK);
    } catch (e) {
      throw new Error(`--passthrough-hp ${a.passthroughHp}: not an executable file (${(e as NodeJS.ErrnoException).code})`);
    }
    if (!a.peers.includes(PASSTHROUGH_HP)) a.peers.push(PASSTHROUGH_HP);
  } else if (a.peers.includes(PASSTHROUGH_HP)) {
    throw new Error(`--peers ${PASSTHROUGH_HP}: needs --passthrough-hp PATH`);
  }
  return a;
}

/** perf record -g on a daemon until stop() (SIGINT, so perf writes its data). */
async function startPerf(pid: number, out: string): Promise<{ stop(): Promise<void> }> {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const child = spawn('perf', ['record', '-F', '999', '-g', '-p', String(pid), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const unregister = onCleanup(() => killPid(child.pid, 'SIGINT'));
  await sleep(300);
  return {
    async stop() {
      killPid(child.pid, 'SIGINT');
      await Promise.race([exited, sleep(30_000)]);
      killPid(child.pid);
      unregister();
      if (!fs.existsSync(out)) process.stderr.write(`perf record wrote nothing: ${err.trim()}\n`);
    },
  };
}

function memoryLines(memory: { group: string; peer: PeerName; label: string; rssKiB: number; hwmKiB: number; threads: number }[]): string[] {
  const keys = [...new Set(memory.map((m) => `${m.group}\u0000${m.peer}\u0000${m.label}`))];
  return keys.map((k) => {
    const [group, peer, label] = k.split('\u0000');
    const ms = memory.filter((m) => m.group === group && m.peer === peer && m.label === label);
    const med = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    return `  ${group}, ${peer}, ${label}: VmRSS ${(med(ms.map((m) => m.rssKiB)) / 1024).toFixed(1)} MiB, VmHWM ${(med(ms.map((m) => m.hwmKiB)) / 1024).toFixed(1)} MiB, ${ms[0]!.threads} threads (n=${ms.length})`;
  });
}

/** sha256 (first 12 hex) over the built .js files, and the newest mtime: which tsfuse build ran. */
function buildId(dir: string): { sha: string; builtAt: string } {
  const h = createHash('sha256');
  let newest = 0;
  const files = (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith('.js')).sort();
  for (const f of files) {
    const p = path.join(dir, f);
    h.update(f).update(fs.readFileSync(p));
    newest = Math.max(newest, fs.statSync(path.join(REPO, 'dist', f), { throwIfNoEntry: false })?.mtimeMs ?? 0);
  }
  return { sha: h.digest('hex').slice(0, 12), builtAt: new Date(newest).toISOString() };
}

/** sha256 (first 12 hex) of one file: which passthrough_hp binary ran. */
function fileSha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 12);
}

function stamp(d: Date): string {
  const z = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${z(d.getMonth() + 1)}-${z(d.getDate())}-${z(d.getHours())}${z(d.getMinutes())}${z(d.getSeconds())}`;
}

/**
 * Builds git revision `rev` of src/ into a directory under bench/.snapshot
 * (inside the repository, so that its imports find node_modules), for the
 * tsfuse-*-base peers; removed when the run ends.
 */
function buildBaseline(rev: string): { rev: string; commit: string; sha: string; dist: string } {
  const git = (...a: string[]): string => {
    const r = spawnSync('git', ['-C', REPO, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`--baseline ${rev}: git ${a.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  const commit = git('rev-parse', '--verify', `${rev}^{commit}`);
  const dir = path.join(REPO, 'bench/.snapshot', `base-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'tree'), { recursive: true });
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tar = spawnSync('sh', ['-c', 'git -C "$1" archive "$2" src tsconfig.json | tar -x -C "$3"', 'sh', REPO, commit, path.join(dir, 'tree')], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`--baseline ${rev}: git archive: ${tar.stderr.trim()}`);
  const tsc = spawnSync(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', path.join(dir, 'tree/tsconfig.json'), '--outDir', path.join(dir, 'dist')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`--baseline ${rev}: tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  const dist = path.join(dir, 'dist');
  return { rev, commit, sha: buildId(dist).sha, dist };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark mounts, and drops the page cache');
  for (const f of ['dist/index.js', 'dist/fs/passthrough/index.js']) {
    if (!fs.existsSync(path.join(REPO, f))) throw new Error(`${f} missing: run npm run build first (npm run bench does)`);
  }
  installExitHandlers();
  // Daemons load a snapshot of dist/ (other people may rebuild during a long run).
  const snapshot = path.join(REPO, 'bench/.snapshot', `dist-${process.pid}`);
  fs.rmSync(snapshot, { recursive: true, force: true });
  fs.cpSync(path.join(REPO, 'dist'), snapshot, { recursive: true });
  onCleanup(() => fs.rmSync(snapshot, { recursive: true, force: true }));
  process.env.TSFUSE_BENCH_DIST = snapshot;
  const build = buildId(snapshot);
  const baseline = args.baseline === undefined ? undefined : buildBaseline(args.baseline);
  const stale = mountsUnder('/tmp/tsfuse-bench-');
  if (stale.length) process.stderr.write(`warning: mounts left by an earlier run (not touched): ${stale.join(', ')}\n`);

  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim() || 'python3';
  const sizes = args.quick ? QUICK : FULL;
  const groups = GROUPS.filter((g) => !args.only || args.only.includes(g.name));
  const started = new Date();
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  // PM QoS: while this fd is open (the run; released when the process exits,
  // however it exits) the cpuidle governor keeps CPUs out of halt states.
  let pmQos = 'not requested (--no-pm-qos)';
  if (args.pmQos) {
    try {
      const fd = fs.openSync('/dev/cpu_dma_latency', 'w');
      const zero = Buffer.alloc(4);
      fs.writeSync(fd, zero);
      onCleanup(() => fs.closeSync(fd));
      pmQos = 'cpu_dma_latency=0 held during the run (idle CPUs poll instead of halting)';
    } catch (e) {
      pmQos = `cpu_dma_latency request failed (${(e as Error).message}): idle CPUs halt`;
      log(`warning: ${pmQos}`);
    }
  }

  const src = fs.mkdtempSync('/tmp/tsfuse-bench-src-');
  const mnt = fs.mkdtempSync('/tmp/tsfuse-bench-mnt-');
  onCleanup(() => {
    // Never remove anything while something is mounted on the mount point.
    if (mountedType(mnt) === undefined) {
      fs.rmSync(src, { recursive: true, force: true });
      spawnSync('sync');
      try {
        fs.rmdirSync(mnt);
      } catch {
        /* not empty or gone */
      }
    } else {
      process.stderr.write(`not removing ${src} and ${mnt}: ${mnt} is still mounted\n`);
    }
  });
  // The source's own filesystem: a fresh ext4 with a journal by default. An
  // ext4 without one (this machine's /) scans past recently deleted inodes
  // on every create, which made the create rows measure ext4's history
  // (docs/benchmarks.md). Mounted over our own fresh directory; the cleanup
  // (registered after the one that removes src, so it runs first) unmounts it.
  let sourceNote = '';
  if (args.sourceFs === 'loop') {
    const imgDir = fs.mkdtempSync('/tmp/tsfuse-bench-img-');
    const img = path.join(imgDir, 'source.ext4');
    onCleanup(() => fs.rmSync(imgDir, { recursive: true, force: true }));
    fs.closeSync(fs.openSync(img, 'w'));
    fs.truncateSync(img, 32 * 2 ** 30);
    await runOk('mkfs.ext4', ['-q', '-F', img]);
    // Direct I/O from the loop device to its file: the image's pages are not
    // cached a second time, and O_DIRECT and cold reads reach the disk.
    const dev = (await runOk('losetup', ['--find', '--show', '--direct-io=on', img])).stdout.trim();
    onCleanup(() => void spawnSync('losetup', ['-d', dev]));
    await runOk('mount', [dev, src]);
    onCleanup(() => {
      if (spawnSync('umount', [src]).status !== 0) spawnSync('umount', ['-l', src]);
    });
    sourceNote = ` (a fresh ext4 with a journal in a sparse file on ${filesystemOf(imgDir)}, through a loop device with direct I/O)`;
  }
  // Each run gets its own work directory directly under the source. With the
  // "top directory" attribute, ext4 places each one in a fresh block group,
  // away from inodes deleted by the previous run (docs/benchmarks.md).
  const chattr = await runOk('chattr', ['+T', src]).then(() => true, (e: Error) => {
    log(`warning: chattr +T ${src} failed (${e.message.split('\n')[0]}): runs may share block groups`);
    return false;
  });

  const machine = machineInfo(python, src);
  machine.sourceFs += sourceNote;
  const mline = machineLine(machine);
  log(mline);
  const env: Env = { src, sizes, python, log };

  const resultsDir = path.join(REPO, 'bench/results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const base = args.out ? path.resolve(args.out.replace(/\.json$/, '')) : path.join(resultsDir, stamp(started));
  const profDir = `${base}-profiles`;

  const results: RowResult[] = [];
  const errors: { group: string; peer: PeerName; rep: number; message: string }[] = [];
  const memory: { group: string; peer: PeerName; rep: number; label: string; rssKiB: number; hwmKiB: number; threads: number }[] = [];
  const runs: { group: string; peer: PeerName; rep: number; seconds: number; busyBefore: number; waitedMs: number; workIno: number; ok: boolean }[] = [];
  const agreed: Partial<Record<PeerName, string[]>> = {};
  const peerOptions: Record<string, Record<string, string>> = {};

  for (const g of groups) {
    const rows = g.rows(sizes);
    const byId = new Map<string, RowResult>();
    for (const row of rows) {
      const rr: RowResult = { row, group: g.name, samples: Object.fromEntries(args.peers.map((p) => [p, []])), failed: [] };
      byId.set(row.id, rr);
      results.push(rr);
    }
    peerOptions[g.name] = Object.fromEntries(args.peers.map((p) => [p, describePeer(p, g.wish)]));
    log(`\n== ${g.name}: ${g.title}`);
    await g.prepare?.(env);
    for (let rep = 1; rep <= args.reps; rep++) {
      for (const peer of peerOrder(args.peers, rep)) {
        const quiet = args.quiet > 0 ? await waitQuiet(args.quiet, 120_000, log) : { busy: NaN, waitedMs: 0 };
        if (quiet.busy > args.quiet) log(`    warning: starting anyway, ${quiet.busy.toFixed(2)} cores busy with other work`);
        const t0 = Date.now();
        const info = { group: g.name, peer, rep, seconds: 0, busyBefore: Math.round(quiet.busy * 100) / 100, waitedMs: quiet.waitedMs, workIno: 0, ok: false };
        runs.push(info);
        try {
          await runOne(g, peer, rep, info);
          info.ok = true;
          log(`  ${g.name} rep ${rep}/${args.reps} ${peer}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        } catch (e) {
          const message = (e as Error).message ?? String(e);
          errors.push({ group: g.name, peer, rep, message });
          for (const rr of byId.values()) rr.failed.push(peer);
          log(`  ${g.name} rep ${rep}/${args.reps} ${peer}: FAILED: ${message}`);
        }
        info.seconds = Math.round((Date.now() - t0) / 100) / 10;
      }
    }

    async function runOne(group: Group, peer: PeerName, rep: number, info: { workIno: number }): Promise<void> {
      // The source's random suffix in the name: ext4 starts its search for a
      // block group at a hash of the name, so a new suite does not land in the
      // groups the previous one just emptied.
      const name = `${group.name}-r${rep}-${peer}-${path.basename(src).slice(-6)}`;
      const dirs = [...(group.dirs ?? ['work']), ...(args.warmup ? ['warmup'] : [])];
      const nativeDir = (d: string): string => {
        if (!dirs.includes(d)) throw new Error(`${group.name}: no work directory '${d}'`);
        return path.join(src, `${name}.${d}`);
      };
      for (const d of dirs) fs.mkdirSync(nativeDir(d));
      info.workIno = fs.statSync(nativeDir(dirs[0]!)).ino;
      await group.setup?.(env, nativeDir);
      const nodeFlags: string[] = [];
      if (args.profile && peer.startsWith('tsfuse')) nodeFlags.push('--cpu-prof', '--cpu-prof-dir', path.join(profDir, `${group.name}-${peer}-r${rep}`));
      if (args.perf && peer.startsWith('tsfuse')) nodeFlags.push('--perf-basic-prof');
      let m: Mounted | undefined;
      try {
        m = await mountPeer(peer, { src, mnt, wish: group.wish, nodeFlags, log, baselineDist: baseline?.dist, passthroughHp: args.passthroughHp });
        if (m.agreed) agreed[peer] = m.agreed;
        const mounted = m;
        const root = m.root;
        const dir = (d: string): string => path.join(root, path.basename(nativeDir(d)));
        if (args.warmup) await runOk(python, [path.join(REPO, 'bench/clients/warmup.py'), dir('warmup')]);
        const ctx: RunCtx = {
          env,
          peer,
          root: m.root,
          dir,
          nativeDir,
          async step(rowId, fn) {
            const rr = byId.get(rowId);
            if (!rr) throw new Error(`unknown row ${rowId}`);
            const c0 = mounted.pid ? procCounters(mounted.pid) : undefined;
            const i0 = machineIdle();
            const got = await fn();
            const i1 = machineIdle();
            const c1 = mounted.pid ? procCounters(mounted.pid) : undefined;
            const s: Sample = typeof got === 'number' ? { rep, value: got } : { rep, value: got.value, detail: got.detail };
            if (i0 !== undefined && i1 !== undefined) s.idleCpu = Math.round((i1 - i0) * 100) / 100;
            if (c0 && c1) {
              s.daemonCpu = Math.round((c1.cpu - c0.cpu) * 100) / 100;
              s.daemonCtxsw = c1.voluntary + c1.involuntary - c0.voluntary - c0.involuntary;
            }
            rr.samples[peer].push(s);
          },
          sampleMemory(label) {
            if (!mounted.pid) return;
            const mem = procMemory(mounted.pid);
            if (mem) memory.push({ group: group.name, peer, rep, label, ...mem });
          },
        };
        const perf = args.perf && m.pid ? await startPerf(m.pid, path.join(profDir, `${group.name}-${peer}-r${rep}.perf.data`)) : undefined;
        try {
          await group.run(ctx);
        } finally {
          await perf?.stop();
        }
      } finally {
        await m?.stop();
        if (mountedType(mnt) !== undefined) throw new Error(`${mnt} still mounted after stopping ${peer}`);
        // Emptied but kept until the end (its block group stays "used"), then written back.
        for (const d of dirs) await emptyNative(nativeDir(d));
      }
    }
  }

  // ---- report ----
  const wall = (Date.now() - started.getTime()) / 1000;
  const peersLines = Object.entries(peerOptions).map(
    ([g, o]) => `  ${g}: ${Object.entries(o).filter(([p]) => p !== 'native').map(([p, d]) => `${p}: ${d}`).join('; ')}`,
  );
  const text = [
    mline,
    `cpu idle: ${pmQos}`,
    `tsfuse build: dist/ sha256 ${build.sha} (newest file ${build.builtAt}), loaded from a snapshot taken at the start`,
    ...(baseline ? [`baseline build (tsfuse-*-base): ${baseline.rev} = commit ${baseline.commit.slice(0, 12)}, dist sha256 ${baseline.sha}`] : []),
    ...(args.passthroughHp ? [`passthrough_hp: ${args.passthroughHp} (sha256 ${fileSha(args.passthroughHp)})`] : []),
    `run: ${started.toISOString()}, ${args.quick ? 'quick' : 'full'} sizes, ${args.reps} repetition(s) per peer, peers alternating in a balanced order (each follows each other equally often every ${balancedAfter(args.peers.length)} repetitions): ${Array.from({ length: args.reps }, (_, k) => peerOrder(args.peers, k + 1).join(' ')).join(' | ')}; ${(wall / 60).toFixed(1)} min`,
    `time per group (incl. mounting, warm-up and waits): ${groups.map((g) => `${g.name} ${(runs.filter((r) => r.group === g.name).reduce((a, r) => a + r.seconds, 0) / 60).toFixed(1)} min`).join(', ')}`,
    `peers (native runs in the source directory itself; every FUSE peer serves a source directory on the same filesystem):`,
    ...peersLines,
    `  tsfuse INIT agreed: ${agreed.tsfuse?.includes('PASSTHROUGH') ? 'PASSTHROUGH' : 'no PASSTHROUGH'} (tsfuse), ${agreed['tsfuse-nopt']?.includes('PASSTHROUGH') ? 'PASSTHROUGH' : 'no PASSTHROUGH'} (tsfuse-nopt)`,
    `  before each run: ${args.warmup ? 'an untimed warm-up client (bench/clients/warmup.py) on every peer' : 'no warm-up'}; work directories under a chattr +T source${chattr ? '' : ' (chattr failed)'}; ${args.quiet > 0 ? `waited for < ${args.quiet} busy cores of other work (${runs.filter((r) => r.busyBefore > args.quiet).length} of ${runs.length} runs started busier)` : 'no quiet wait'}`,
    `  fio: ${FIO_COMMON.filter((o) => !o.startsWith('--output')).join(' ')}; caches dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before the cold reads`,
    '',
    'Each cell: median (min–max) over the repetitions. ↓ time, lower is better: tsfuse/x < 1 means tsfuse is faster.',
    '↑ throughput (MiB/s, IOPS), higher is better: tsfuse/x > 1 means tsfuse is faster.',
    '',
    mainTable(results),
    '',
    ...(variantTable(results, args.peers) ? ['Further peers (tsfuse variants, passthrough_hp; see --help):', '', variantTable(results, args.peers)!, ''] : []),
    ...(detailLines(results, args.peers).length ? ['What explains some rows (medians; the JSON has every sample):', '', ...detailLines(results, args.peers), ''] : []),
    'Daemon CPU (user+sys seconds) and context switches during each step, and the idle CPU seconds of the whole machine during it (all cores; time no thread used), medians:',
    '',
    daemonTable(results, args.peers),
    '',
    ...(memory.length
      ? [
          'Daemon memory (VmRSS / VmHWM from /proc/<pid>/status of the daemon process: bindfs -f, passthrough_hp --foreground, or node bench/serve.mjs), median over repetitions:',
          '',
          ...memoryLines(memory),
          '',
        ]
      : []),
    'Targets (on medians):',
    '',
    targetsText(targets(results)),
    ...(errors.length ? ['', 'Errors:', ...errors.map((e) => `  ${e.group} rep ${e.rep} ${e.peer}: ${e.message.split('\n').slice(0, 6).join(' / ')}`)] : []),
  ].join('\n');
  process.stdout.write(`\n${text}\n`);

  const json = {
    started: started.toISOString(),
    wallSeconds: wall,
    machine,
    machineLine: mline,
    build,
    pmQos,
    config: { quick: args.quick, reps: args.reps, groups: groups.map((g) => g.name), peers: args.peers, sizes, fio: FIO_COMMON, warmup: args.warmup, quiet: args.quiet, chattrT: chattr },
    peerOptions,
    agreed,
    tree: env.tree,
    rows: results.map((r) => ({ id: r.row.id, group: r.group, label: r.row.label, unit: r.row.unit, better: r.row.better, kind: r.row.kind, samples: r.samples, failed: r.failed })),
    memory,
    runs,
    targets: targets(results),
    errors,
    profiles: args.profile || args.perf ? profDir : undefined,
  };
  fs.writeFileSync(`${base}.json`, JSON.stringify(json, null, 2) + '\n');
  fs.writeFileSync(`${base}.txt`, text + '\n');
  log(`\nwrote ${base}.json and ${base}.txt${args.profile || args.perf ? `; profiles in ${profDir}` : ''}`);
  if (errors.length) process.exitCode = 1;
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});
