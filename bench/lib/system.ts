// The machine under test, the page cache, the mount table and per-process
// counters read from /proc.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import { sh } from './proc.ts';

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  node: string;
  bindfs: string;
  fio: string;
  python: string;
  tar: string;
  sourceFs: string;
}

function firstLine(s: string): string {
  return s.split('\n')[0]?.trim() ?? '';
}

/** "<fstype> on <device>" of the filesystem holding `dir` (from df). */
export function filesystemOf(dir: string): string {
  const df = sh('df', ['--output=fstype,source', dir]);
  return firstLine(df.out.split('\n')[1] ?? '').replace(/\s+/g, ' on ');
}

export function machineInfo(python: string, tmpRoot: string): MachineInfo {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const mem = /^MemTotal:\s*(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  const bindfs = sh('bindfs', ['--version']);
  const fio = sh('fio', ['--version']);
  const py = sh(python, ['--version']);
  const tar = sh('tar', ['--version']);
  return {
    cpu: model,
    cores: os.cpus().length,
    ramGiB: mem ? Math.round((Number(mem[1]) / 1024 / 1024) * 10) / 10 : Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    bindfs: firstLine(bindfs.out || bindfs.err) || 'not found',
    fio: firstLine(fio.out) || 'not found',
    python: firstLine(py.out || py.err),
    tar: firstLine(tar.out),
    sourceFs: filesystemOf(tmpRoot),
  };
}

export function machineLine(m: MachineInfo): string {
  return `machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM; kernel ${m.kernel}; node ${m.node}; ${m.bindfs}; ${m.fio}; ${m.python}; source directory on ${m.sourceFs}`;
}

/** Writes back dirty data and drops the page cache, dentries and inodes. */
export function dropCaches(): void {
  spawnSync('sync');
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
}

export function syncAll(): void {
  spawnSync('sync');
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The filesystem type mounted exactly on `target` (the visible one), if any. */
export function mountedType(target: string): string | undefined {
  let t: string | undefined;
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[1] !== undefined && unescapeMount(f[1]) === target) t = f[2];
  }
  return t;
}

/** Mounts of ours still present: anything whose mount point starts with `prefix`. */
export function mountsUnder(prefix: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[1] !== undefined && unescapeMount(f[1]).startsWith(prefix)) out.push(unescapeMount(f[1]));
  }
  return out;
}

/** Lazily detaches whatever is mounted on `target` (last resort in cleanup). Synchronous. */
export function forceUnmount(target: string): void {
  for (let i = 0; i < 4 && mountedType(target) !== undefined; i++) {
    const r = spawnSync('umount', ['-l', target]);
    if (r.status !== 0) spawnSync('fusermount3', ['-u', '-z', target]);
  }
}

// ---------------------------------------------------------------------------
// Per-process counters.

const TICK = 100; // USER_HZ on Linux

export interface ProcCounters {
  /** user + system CPU seconds of the whole process (all threads, living and dead). */
  cpu: number;
  user: number;
  sys: number;
  /** Context switches summed over the living threads. */
  voluntary: number;
  involuntary: number;
}

export function procCounters(pid: number): ProcCounters | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    const user = Number(rest[11]) / TICK;
    const sys = Number(rest[12]) / TICK;
    let voluntary = 0;
    let involuntary = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const st = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
        voluntary += Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(st)?.[1] ?? 0);
        involuntary += Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(st)?.[1] ?? 0);
      } catch {
        /* thread gone */
      }
    }
    return { cpu: user + sys, user, sys, voluntary, involuntary };
  } catch {
    return undefined;
  }
}

/**
 * Idle CPU seconds of the whole machine so far, summed over its CPUs (the
 * idle and iowait columns of /proc/stat's cpu line): the difference over a
 * step is the CPU time nobody used, the headroom a daemon with more threads
 * could have had.
 */
export function machineIdle(): number | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'cpu') return undefined;
    return (Number(f[4]) + Number(f[5])) / TICK;
  } catch {
    return undefined;
  }
}

export interface Memory {
  rssKiB: number;
  hwmKiB: number;
  threads: number;
}

export function procMemory(pid: number): Memory | undefined {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const num = (k: string): number => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(st)?.[1] ?? NaN);
    return { rssKiB: num('VmRSS'), hwmKiB: num('VmHWM'), threads: num('Threads') };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Other load on the machine (it is shared): busy cores from /proc/stat.

function cpuTimes(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Average number of busy cores over `ms`. */
export async function busyCores(ms: number): Promise<number> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  const dt = b.total - a.total;
  return dt > 0 ? ((b.busy - a.busy) / dt) * os.cpus().length : 0;
}

/**
 * Waits (up to `maxWaitMs`) until the machine is quiet: fewer than
 * `threshold` cores busy over one second. Returns the last reading.
 */
export async function waitQuiet(threshold: number, maxWaitMs: number, log: (s: string) => void): Promise<{ busy: number; waitedMs: number }> {
  const t0 = Date.now();
  let busy = await busyCores(1000);
  let said = false;
  while (busy > threshold && Date.now() - t0 < maxWaitMs) {
    if (!said) {
      log(`    waiting for the machine to be quiet (${busy.toFixed(2)} cores busy with other work)`);
      said = true;
    }
    busy = await busyCores(1000);
  }
  return { busy, waitedMs: Date.now() - t0 };
}
