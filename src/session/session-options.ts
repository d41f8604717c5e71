// What a Session can be told: the limits it negotiates, its spin, splicing,
// io_uring and logging; and the defaults it uses when told nothing.

import { availableParallelism } from 'node:os';
import type { ConnectionInfo, SessionLimits } from './connection.js';

export interface SessionOptions extends SessionLimits {
  /** Log one line per request and reply. */
  debug?: boolean;
  /** Where logs go (default: stderr). */
  log?: (line: string) => void;
  /** allow_root: answer EACCES to users other than this uid and root. */
  denyOthersThan?: number;
  /** Called once INIT has been answered. */
  onInit?: (conn: ConnectionInfo) => void;
  /**
   * After a request, keep polling /dev/fuse for the next one this many
   * microseconds before sleeping in the kernel (0: sleep at once). A request
   * that arrives during the spin is picked up without a wake-up of this
   * thread, which costs several microseconds on every round trip. Default:
   * DEFAULT_SPIN_US with two or more CPUs, 0 on one CPU (where the spin would
   * only delay the client that is about to send the next request).
   */
  spinUs?: number;
  /**
   * Move READ replies a handler gives as FileData (64 KiB and more) with
   * splice(2) instead of pread + write. Off by default: it saves a copy of
   * clean pages (~8% on warm 1 MiB reads, measured) but halved the speed of
   * reading back data just written on a journaled ext4 (docs/benchmarks.md).
   */
  spliceRead?: boolean;
  /**
   * Serve READs given as FileData, and O_DIRECT WRITEs given as FileWrite,
   * through io_uring, so that several are on the disk at once while the
   * thread serves other requests (default true; silently off where the
   * kernel refuses io_uring). With true, a request that nothing else waits
   * behind (the thread found /dev/fuse empty before it, and none is in
   * flight) is still a plain pread/pwrite, which costs fewer system calls;
   * 'always' queues every one (for hosts whose reads can take long, such as
   * a network filesystem: nothing then waits behind a read).
   */
  ring?: boolean | 'always';
  /** The mount has allow_other (default true: assume others may come in). See ConnectionInfo.othersMayAccess. */
  othersMayAccess?: boolean;
}

/** Spin after each request (measured: 5–6 µs less per round trip, docs/benchmarks.md). */
export const DEFAULT_SPIN_US = 50;

/** The spin a session uses when none is given. */
export function defaultSpinUs(): number {
  return availableParallelism() > 1 ? DEFAULT_SPIN_US : 0;
}

/**
 * The filesystem's idle() runs only after this long without a request: its
 * housekeeping (a full collection, then 1 ms naps while the collector's
 * tasks run) must never land between the requests of a busy client, each of
 * which would then wait for a nap to end.
 */
export const IDLE_AFTER_MS = 200;
