// Child processes for the benchmark: clients run as separate processes and are
// timed from spawn to exit; every child and every mount is registered for
// cleanup, so an error, SIGINT or SIGTERM never leaves a mount or a daemon
// behind. Processes are only ever killed by the pid we started.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { performance } from 'node:perf_hooks';

// ---------------------------------------------------------------------------
// Cleanup registry: synchronous functions, run in reverse order on exit.

const cleanups = new Map<number, () => void>();
let nextCleanup = 1;

/** Registers a synchronous cleanup; returns a function that unregisters it. */
export function onCleanup(f: () => void): () => void {
  const id = nextCleanup++;
  cleanups.set(id, f);
  return () => {
    cleanups.delete(id);
  };
}

export function runCleanups(): void {
  const all = [...cleanups.entries()].reverse();
  cleanups.clear();
  for (const [, f] of all) {
    try {
      f();
    } catch (e) {
      process.stderr.write(`cleanup failed: ${String(e)}\n`);
    }
  }
}

let installed = false;
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runCleanups);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: unmounting and stopping what this benchmark started\n`);
      runCleanups();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('uncaughtException', (e) => {
    process.stderr.write(`uncaught: ${e.stack ?? e}\n`);
    runCleanups();
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}\n`);
    runCleanups();
    process.exit(1);
  });
}

/** Kills a process we started, by pid; ignores "already gone". */
export function killPid(pid: number | undefined, sig: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

// ---------------------------------------------------------------------------
// Running clients.

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, milliseconds. */
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Discard stdout (sent to /dev/null) instead of collecting it. */
  discardStdout?: boolean;
  timeoutMs?: number;
}

const children = new Set<ChildProcess>();
onCleanup(() => {
  for (const c of children) killPid(c.pid);
});

/** Runs a command to completion and times it. Never throws for a non-zero exit (see runOk). */
export function run(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const opts: SpawnOptions = {
      cwd: o.cwd,
      env: o.env ?? { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', o.discardStdout ? 'ignore' : 'pipe', 'pipe'],
    };
    const t0 = performance.now();
    const child = spawn(cmd, args, opts);
    children.add(child);
    let stdout = '';
    let stderr = '';
    let ms = 0;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 1 << 16) stderr = stderr.slice(-(1 << 15));
    });
    let timer: NodeJS.Timeout | undefined;
    if (o.timeoutMs) {
      timer = setTimeout(() => {
        stderr += `\n[benchmark: timed out after ${o.timeoutMs} ms, killed]`;
        killPid(child.pid);
      }, o.timeoutMs);
    }
    child.on('error', (e) => {
      children.delete(child);
      if (timer) clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on('exit', () => {
      ms = performance.now() - t0;
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: ms || performance.now() - t0 });
    });
  });
}

/** Runs a command; throws with its stderr unless it exits 0. */
export async function runOk(cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) {
    const what = [cmd, ...args].join(' ');
    const why = r.stderr.trim() || r.stdout.trim();
    throw new Error(`${what.length > 200 ? what.slice(0, 200) + '…' : what}: exit ${r.code ?? r.signal}\n${why.slice(-2000)}`);
  }
  return r;
}

/** A quick synchronous command for setup (versions, sync). */
export function sh(cmd: string, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { code: r.status, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
