// Serving a passthrough mount: in the foreground, or as a background daemon
// that the command starts and waits for until the mount is live or failed.
//
// Background mode re-runs this program detached (its own session, stdio on
// /dev/null or the log file, cwd /) with an internal flag; the daemon reports
// "ok" or "error <reason>" on fd 3, a pipe the parent reads before exiting.

import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mount, MountError } from '../mount.js';
import type { MountHandle, MountOptions } from '../mount.js';
import { resolvePassthroughOptions, OptionError } from '../fs/passthrough/options.js';
import type { PassthroughOptions } from '../fs/passthrough/options.js';
import { DAEMON_FLAG } from './args.js';
import type { Command } from './args.js';
import { checkPermission, checkSource, checkTarget, explainMountError } from './checks.js';
import { Failure, UsageError } from './errors.js';

const here = import.meta.url;
const ext = here.endsWith('.ts') ? '.ts' : '.js';
/** The filesystem module the session thread loads (sources under tsx, dist otherwise). */
export const PASSTHROUGH_MODULE = new URL(`../fs/passthrough/index${ext}`, here);
const MAIN = fileURLToPath(new URL(`./main${ext}`, here));

/** Environment variable carrying the plan to the daemon. */
const PLAN_ENV = 'TSFUSE_DAEMON_PLAN';
/** How long the command waits for the daemon to report. */
const STARTUP_TIMEOUT_MS = 60_000;

/** Everything the daemon needs, resolved and checked (structured-cloneable, JSON-safe). */
export interface Plan {
  source: string;
  mountpoint: string;
  fs: PassthroughOptions;
  mount: MountOptions;
  log?: string;
}

export function warn(msg: string): void {
  process.stderr.write(`tsfuse: warning: ${msg}\n`);
}

/** Validates the command against the system and builds the plan; prints warnings. */
export function prepare(cmd: Extract<Command, { kind: 'passthrough' }>): Plan {
  const o = cmd.options;
  const source = checkSource(cmd.source, cmd.implicit);
  const fsOptions: PassthroughOptions = { ...o.fs, source };
  let warnings: string[];
  try {
    warnings = resolvePassthroughOptions(fsOptions).warnings;
  } catch (e) {
    if (e instanceof OptionError) throw new UsageError(e.message);
    throw e;
  }
  for (const w of [...o.warnings, ...warnings]) warn(w);
  if (o.log !== undefined && cmd.foreground) warn(`log=${o.log} is ignored in the foreground: messages go to stderr`);
  const mountpoint = checkTarget(cmd.mountpoint);
  const mountOptions: MountOptions = {
    ...o.mount,
    // /proc/mounts separates fields by spaces and mount options by commas: keep the name one field.
    fsname: o.mount.fsname ?? source.replace(/[\s,]/g, '_'),
    subtype: o.mount.subtype ?? 'tsfuse',
    debug: cmd.debug,
  };
  checkPermission(mountOptions);
  return { source, mountpoint, fs: fsOptions, mount: mountOptions, log: cmd.foreground ? undefined : o.log };
}

function isBusy(e: unknown): boolean {
  return (e instanceof MountError && e.errno === 16) || /busy/i.test((e as Error)?.message ?? '');
}

function isNotMounted(e: unknown): boolean {
  return (e instanceof MountError && e.errno === 22) || /not a mount point|not mounted|not found in/i.test((e as Error)?.message ?? '');
}

/** Unmounts for a signal: normally, or lazily if busy (the session then ends with the last open file). */
async function stop(h: MountHandle, log: (s: string) => void): Promise<void> {
  try {
    await h.unmount();
  } catch (e) {
    if (isBusy(e)) {
      log(`${(e as Error).message.replace(/; use -z.*$/, '')}: detaching lazily; the session ends when the last open file on it is closed`);
      try {
        await h.unmount({ lazy: true });
      } catch (e2) {
        if (!isNotMounted(e2)) log(`lazy unmount failed: ${(e2 as Error).message}`);
      }
    } else if (!isNotMounted(e)) {
      log(`unmount failed: ${(e as Error).message}`);
    }
  }
}

/**
 * Mounts and serves until the session ends. `ready` is told once: undefined
 * when the mount is live, the reason when it failed. Returns the exit status.
 */
async function serve(plan: Plan, log: (s: string) => void, ready: (error?: string) => void, signals: NodeJS.Signals[]): Promise<number> {
  let handle: MountHandle | undefined;
  let pending: NodeJS.Signals | undefined;
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!handle) {
      pending = sig;
      return;
    }
    if (stopping) {
      log(`${sig} again: exiting without waiting; if still mounted, run 'tsfuse unmount ${plan.mountpoint}'`);
      process.exit(1);
    }
    stopping = true;
    log(`${sig}: unmounting ${plan.mountpoint}`);
    void stop(handle, log);
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    handle = await mount(plan.mountpoint, { module: PASSTHROUGH_MODULE.href, exportName: 'PassthroughFs', args: [plan.fs] }, plan.mount);
  } catch (e) {
    ready(explainMountError(e));
    return 1;
  }
  ready();
  if (pending) onSignal(pending);
  try {
    await handle.closed;
    log(`${plan.mountpoint} unmounted`);
  } catch (e) {
    log(`session ended with an error: ${(e as Error).message}`);
  }
  return 0;
}

/** -f: serve in this process, messages on stderr. */
export async function serveForeground(plan: Plan): Promise<number> {
  const log = (s: string): void => void process.stderr.write(`tsfuse: ${s}\n`);
  let failed: string | undefined;
  const code = await serve(
    plan,
    log,
    (error) => {
      if (error) failed = error;
      else log(`serving ${plan.source} on ${plan.mountpoint}; stop with Ctrl-C or 'tsfuse unmount ${plan.mountpoint}'`);
    },
    // A closing terminal sends SIGHUP: unmount then too.
    ['SIGINT', 'SIGTERM', 'SIGHUP'],
  );
  if (failed) throw new Failure(failed);
  return code;
}

/** Without -f: start the daemon and wait for its report. */
export async function startBackground(plan: Plan): Promise<number> {
  let out: number | 'ignore' = 'ignore';
  if (plan.log !== undefined) {
    try {
      out = fs.openSync(plan.log, 'a', 0o640);
    } catch (e) {
      throw new Failure(`cannot open log file ${plan.log}: ${(e as Error).message}`);
    }
  }
  const child = spawn(process.execPath, [...process.execArgv, MAIN, DAEMON_FLAG, plan.source, plan.mountpoint], {
    detached: true,
    stdio: ['ignore', out, out, 'pipe'],
    env: { ...process.env, [PLAN_ENV]: JSON.stringify(plan) },
  });
  if (typeof out === 'number') fs.closeSync(out);
  const status = child.stdio[3] as Readable;
  const report = await new Promise<string | undefined>((resolve) => {
    let buf = '';
    const timer = setTimeout(() => resolve(`timeout`), STARTUP_TIMEOUT_MS);
    const done = (v: string | undefined): void => {
      clearTimeout(timer);
      resolve(v);
    };
    status.setEncoding('utf8');
    status.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.slice(0, nl));
    });
    status.on('end', () => done(buf || undefined));
    status.on('error', () => done(buf || undefined));
    child.on('error', (e) => done(`error cannot start the daemon: ${e.message}`));
  });
  status.destroy();
  child.unref();
  if (report === 'ok') return 0;
  const seeLog = plan.log !== undefined ? `; see ${plan.log}` : '; run with -f to see its messages';
  if (report === 'timeout') {
    if (child.pid) process.kill(child.pid, 'SIGTERM');
    throw new Failure(`the daemon did not report within ${STARTUP_TIMEOUT_MS / 1000}s; stopped it${seeLog}`);
  }
  if (report?.startsWith('error ')) throw new Failure(report.slice(6));
  const exit = await new Promise<string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(String(child.exitCode ?? child.signalCode));
    else child.once('exit', (c, s) => resolve(String(c ?? s)));
  });
  throw new Failure(`the daemon exited (${exit}) before the mount was live${seeLog}`);
}

/** The daemon itself (internal flag): serve, reporting on fd 3. */
export async function runDaemon(): Promise<number> {
  const json = process.env[PLAN_ENV];
  delete process.env[PLAN_ENV];
  if (!json) throw new UsageError(`${DAEMON_FLAG} is internal to tsfuse`);
  const plan = JSON.parse(json) as Plan;
  // Hold no directory busy (paths in the plan are absolute).
  process.chdir('/');
  const log = (s: string): void => {
    try {
      fs.writeSync(2, `${new Date().toISOString()} tsfuse[${process.pid}]: ${s}\n`);
    } catch {
      /* no log */
    }
  };
  let reported = false;
  const ready = (error?: string): void => {
    if (reported) return;
    reported = true;
    log(error ? `mount failed: ${error}` : `serving ${plan.source} on ${plan.mountpoint}`);
    try {
      fs.writeSync(3, error ? `error ${error.replace(/\n/g, ' ')}\n` : 'ok\n');
      fs.closeSync(3);
    } catch {
      /* the command is gone: keep serving */
    }
  };
  // In its own session the daemon has no terminal; a stray SIGHUP must not end it.
  process.on('SIGHUP', () => log('SIGHUP ignored'));
  return serve(plan, log, ready, ['SIGINT', 'SIGTERM']);
}
