// Wakes the session's event loop when /dev/fuse has a request, for the time
// asynchronous handlers are pending: the loop then waits in its event loop
// (so that their promises can settle), not in poll(2). libuv cannot watch
// that device, so a small thread of ours polls it and signals through shared
// memory, which Atomics.waitAsync turns into a promise on the session thread.
// Never libuv's thread pool: clients in this process can fill it with
// requests that wait for the session.

import type { Worker } from 'node:worker_threads';
import { sibling, startWorker } from './start-worker.js';

/** Indexes into the shared state. */
export const ARMED = 0;
export const READY = 1;
export const STOP = 2;

// Atomics.waitAsync (V8 since Node 16) is newer than the library TypeScript targets here.
type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

export class DeviceWatch {
  private readonly state = new Int32Array(new SharedArrayBuffer(12));
  private worker: Worker | undefined;
  /** The thread could not be started or died: `ready` stays false, and callers nap. */
  private broken = false;
  /** The thread is polling (until then, and when broken, callers nap). */
  ready = false;

  constructor(private readonly fd: number) {}

  /** Starts the thread, once; `ready` turns true when it polls. */
  start(): void {
    if (this.worker !== undefined || this.broken) return;
    if (waitAsync === undefined) {
      this.broken = true;
      return;
    }
    try {
      this.worker = startWorker(sibling(import.meta.url, './device-watch-thread'), {
        workerData: { fd: this.fd, state: this.state },
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
      });
    } catch {
      this.broken = true;
      return;
    }
    // Never keeps the process alive; a failure falls back to naps.
    this.worker.unref();
    this.worker.once('message', () => (this.ready = true));
    const fail = (): void => {
      this.broken = true;
      this.ready = false;
      Atomics.store(this.state, READY, 1);
      Atomics.notify(this.state, READY);
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => {
      if (Atomics.load(this.state, STOP) === 0) fail();
    });
  }

  /**
   * Resolves once the device is readable (a request came, or it was
   * unmounted), or after `timeoutMs`. Only once `ready`.
   */
  readable(timeoutMs: number): Promise<unknown> {
    const s = this.state;
    Atomics.store(s, READY, 0);
    if (Atomics.exchange(s, ARMED, 1) === 0) Atomics.notify(s, ARMED);
    const w = waitAsync!(s, READY, 0, timeoutMs);
    return w.async ? (w.value as Promise<string>) : Promise.resolve();
  }

  /** The session stopped waiting (a handler settled): no signal for the request that comes next. */
  disarm(): void {
    Atomics.store(this.state, ARMED, 0);
  }

  /** Ends the thread (within its poll timeout). */
  close(): void {
    const s = this.state;
    Atomics.store(s, STOP, 1);
    Atomics.store(s, ARMED, 1);
    Atomics.notify(s, ARMED);
  }
}
