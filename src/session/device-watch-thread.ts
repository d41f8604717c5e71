// The thread of DeviceWatch (device-watch.ts): while armed, polls /dev/fuse;
// when it is readable, disarms and signals the session thread.

import { parentPort, workerData } from 'node:worker_threads';
import * as sys from '../sys/index.js';
import { ARMED, READY, STOP } from './device-watch.js';

const { fd, state } = workerData as { fd: number; state: Int32Array };
const POLLIN = 1;
/** How often a poll with nothing to report looks at STOP (ms). */
const LOOK_MS = 250;

sys.setThreadName('tsfuse-watch');
parentPort!.postMessage('ready');
for (;;) {
  Atomics.wait(state, ARMED, 0);
  if (Atomics.load(state, STOP) !== 0) break;
  const r = sys.poll([fd], POLLIN, LOOK_MS);
  if (Atomics.load(state, STOP) !== 0) break;
  if (r === 0 || r === -4 /* EINTR */) continue;
  // Readable, or an error (unmounted: the session's read says which): wake
  // the session, unless it stopped waiting for us meanwhile (disarmed).
  if (Atomics.compareExchange(state, ARMED, 1, 0) !== 1) continue;
  Atomics.store(state, READY, 1);
  Atomics.notify(state, READY);
  if (r < 0) break;
}
