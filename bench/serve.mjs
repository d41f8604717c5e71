// The benchmark's tsfuse daemon: a separate process (like bindfs) that mounts
// the passthrough filesystem from the built library (dist/) and serves until
// SIGTERM/SIGINT, or until its stdin closes (the runner died).
//
//   node bench/serve.mjs <source> <mountpoint> '<json>'
//   json = { "fs": { ...PassthroughOptions without source }, "mount": { ...MountOptions },
//            "async": "immediate" | "pool" (optional: bench/async-fs.mjs) }
//
// Prints one line "ready <json>" on stdout once mount() resolved (the mount is
// live), with the pid and what INIT agreed. TSFUSE_BENCH_DIST, if set, is the
// dist/ directory to load (default <repo>/dist). Extra node flags (e.g. --cpu-prof)
// are passed by the runner before the script path.

import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The runner passes a snapshot of dist/ taken at its start, so that a rebuild
// during a long run cannot mix two builds in one table.
const dist = process.env.TSFUSE_BENCH_DIST || path.join(repo, 'dist');
const [source, mountpoint, json = '{}'] = process.argv.slice(2);
if (!source || !mountpoint) {
  process.stderr.write('usage: node bench/serve.mjs <source> <mountpoint> [json-options]\n');
  process.exit(2);
}
const opts = JSON.parse(json);
const lib = await import(pathToFileURL(path.join(dist, 'index.js')).href);

// "async": serve the passthrough with asynchronous handlers (bench/async-fs.mjs).
process.env.TSFUSE_BENCH_DIST = dist;
const served = opts.async
  ? { module: path.join(repo, 'bench/async-fs.mjs'), exportName: 'AsyncPassthroughFs', extra: [opts.async] }
  : { module: path.join(dist, 'fs/passthrough/index.js'), exportName: 'PassthroughFs', extra: [] };
const handle = await lib.mount(
  path.resolve(mountpoint),
  {
    module: served.module,
    exportName: served.exportName,
    args: [{ source: path.resolve(source), ...(opts.fs ?? {}) }, ...served.extra],
  },
  opts.mount ?? {},
);

let stopping = false;
async function stop(why) {
  if (stopping) return;
  stopping = true;
  try {
    await handle.unmount();
  } catch (e) {
    process.stderr.write(`serve.mjs: unmount (${why}) failed: ${e?.message ?? e}; trying lazy\n`);
    try {
      await handle.unmount({ lazy: true });
    } catch {
      /* gone already */
    }
  }
}

process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
// The runner keeps our stdin open; EOF means it is gone: do not outlive it.
process.stdin.on('end', () => void stop('stdin closed'));
process.stdin.on('error', () => void stop('stdin error'));
process.stdin.resume();

process.stdout.write(`ready ${JSON.stringify({ pid: process.pid, minor: handle.minor, agreed: handle.agreed, maxWrite: handle.maxWrite })}\n`);

handle.closed.then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`serve.mjs: session failed: ${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
