// The body of the session thread: loads the filesystem module, builds the
// filesystem, serves the connection until it is unmounted. Runs inside a
// worker_threads Worker so its blocking reads never stall the main thread,
// which stays free for signals and control.

import { parentPort, workerData } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import * as sys from '../sys/index.js';
import { Session } from './session.js';
import type { SessionOptions } from './session.js';
import type { Filesystem } from './filesystem.js';

export interface WorkerInput {
  fd: number;
  /** [0] set to 1 just before this thread closes `fd`: if it ends without, the main thread closes it. */
  fdClosing: Int32Array;
  module: string;
  exportName: string;
  args: unknown[];
  session: Omit<SessionOptions, 'log' | 'onInit'>;
}

export type WorkerMessage =
  | { type: 'init'; minor: number; agreed: string[]; maxWrite: number }
  | { type: 'error'; message: string }
  | { type: 'ended' };

function isClass(f: unknown): f is new (...a: unknown[]) => Filesystem {
  return typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));
}

// Named for `top -H`, `ps -L` and perf (a failure leaves the runtime's name).
sys.setThreadName('tsfuse-session');

const input = workerData as WorkerInput;
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);
// stderr may be a non-blocking pipe (a Node parent's): when its reader is
// slow the write fails with EAGAIN, and the line waits for room instead of
// being lost. A debug log then paces the session, as a terminal would.
const log = (line: string): void => {
  const b = Buffer.from(line + '\n');
  for (let off = 0; off < b.length; ) {
    try {
      off += writeSync(2, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return; // stderr closed (daemonized): nothing to do
      sys.poll([2], sys.POLLOUT, 1000);
    }
  }
};

async function main(): Promise<void> {
  const mod = (await import(input.module)) as Record<string, unknown>;
  const exp = mod[input.exportName];
  if (typeof exp !== 'function') throw new Error(`${input.module} has no export '${input.exportName}' that is a class or factory`);
  const fs = isClass(exp) ? new exp(...input.args) : await (exp as (...a: unknown[]) => Filesystem | Promise<Filesystem>)(...input.args);
  const session = new Session(input.fd, fs, {
    ...input.session,
    log,
    onInit: (conn) => post({ type: 'init', minor: conn.minor, agreed: conn.agreedNames(), maxWrite: conn.maxWrite }),
  });
  await session.run();
}

/** Closes the device, once (the flag also tells the main thread it need not). */
function closeFd(): void {
  if (Atomics.exchange(input.fdClosing, 0, 1) === 0) sys.close(input.fd);
}

const describe = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));

// An exception thrown outside any handler (in a callback of the filesystem's
// own) ends this thread. The device is closed here first, so that clients get
// ENOTCONN at once, also while the main thread is busy (a synchronous call on
// the mount from it would wait for the main thread's own close for ever).
process.on('uncaughtException', (e) => {
  closeFd();
  post({ type: 'error', message: describe(e) });
  process.exit(1);
});

main().then(
  () => {
    closeFd();
    post({ type: 'ended' });
  },
  (e: unknown) => {
    closeFd();
    post({ type: 'error', message: describe(e) });
  },
);
