// The passthrough filesystem with asynchronous handlers, for the benchmark's
// tsfuse-async variants: what a TypeScript filesystem that intercepts file
// access costs when its handlers await something (a log write, a policy
// lookup) before answering. Each request handler first awaits
//   'immediate': a setImmediate turn (a promise that settles at once), or
//   'pool': a round trip through libuv's thread pool (fs.promises.access),
// then runs the passthrough's own handler. Loaded by bench/serve.mjs from the
// dist/ it serves (TSFUSE_BENCH_DIST), so a --baseline build gets the same wrapper.

import * as path from 'node:path';
import { access } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

const dist = process.env.TSFUSE_BENCH_DIST;
if (!dist) throw new Error('bench/async-fs.mjs: TSFUSE_BENCH_DIST is not set');
const { PassthroughFs } = await import(pathToFileURL(path.join(dist, 'fs/passthrough/index.js')).href);
const { OPS } = await import(pathToFileURL(path.join(dist, 'protocol/opcodes.js')).href);
const METHODS = [...new Set(OPS.flatMap((o) => (o?.method ? [o.method] : [])))];

const WAITS = {
  immediate: () => new Promise((r) => setImmediate(r)),
  pool: () => access('/'),
};

export class AsyncPassthroughFs extends PassthroughFs {
  constructor(options, wait) {
    super(options);
    const before = WAITS[wait];
    if (!before) throw new Error(`bench/async-fs.mjs: unknown wait ${JSON.stringify(wait)} (immediate or pool)`);
    for (const name of METHODS) {
      const f = this[name];
      if (typeof f !== 'function') continue;
      const g = f.bind(this);
      this[name] = async (...a) => {
        await before();
        return g(...a);
      };
    }
  }
}
