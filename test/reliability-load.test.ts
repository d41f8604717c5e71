// Load and leaks through real mounts. The daemon is this test process (its
// session thread), so /proc/self/fd and /proc/self/status are the daemon's fd
// count and memory.
//
// * 16 processes (test/fixtures/fsstress.py) doing mixed metadata and data
//   operations on private trees (every result checked exactly) and a shared
//   tree (only race errors allowed); afterwards, and after
//   `echo 2 > /proc/sys/vm/drop_caches` (which makes the kernel FORGET every
//   unused inode), the fd count and RSS must be back near their baseline.
// * lookup/forget cycles: stat many distinct files, drop caches, repeat;
//   open/release cycles: the fd count must come back each time.
//
// CI: a few seconds each. TSFUSE_LONG=1 (npm run test:long): the concurrency
// load runs for minutes; 1,000,000 lookups and 100,000 opens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir, mountPassthrough, unmountFs } from './helpers.js';
import { LONG, dropCaches, fdCount, fixture, peakRssMiB, py, rssMiB, start } from './reliability-util.js';

const STRESS_SECONDS = Number(process.env.TSFUSE_STRESS_SECONDS ?? (LONG ? 180 : 8));
const WORKERS = 16;
/** RSS may grow by this much over the baseline (V8 keeps some of the heap it grew). */
const RSS_SLACK_MIB = 96;

async function settle(): Promise<{ fds: number; rss: number }> {
  await dropCaches();
  return { fds: fdCount(), rss: rssMiB() };
}

for (const [name, opts] of [
  ['default options', {}],
  ['kernel passthrough off', { passthrough: false }],
  ['writeback', { writeback: true }],
] as const) {
  test(`${WORKERS} processes, mixed metadata and data load for ${STRESS_SECONDS} s (${name}): no unexpected errors, fds and RSS back to baseline`, async (t) => {
    const src = tmpdir();
    const m = await mountPassthrough(src, opts);
    try {
      fs.writeFileSync(path.join(m.dir, 'warmup'), 'x');
      fs.rmSync(path.join(m.dir, 'warmup'));
      const base = await settle();
      const seed = Number(process.env.TSFUSE_STRESS_SEED ?? Date.now() % 100000);
      const t0 = Date.now();
      let peakFds = base.fds;
      const sampler = setInterval(() => (peakFds = Math.max(peakFds, fdCount())), 250);
      const workers = Array.from({ length: WORKERS }, (_, i) => start('python3', [
        fixture('fsstress.py'), '--root', m.dir, '--worker', String(i), '--seconds', String(STRESS_SECONDS), '--seed', String(seed),
      ], { timeout: STRESS_SECONDS * 1000 + 120_000, input: '' }));
      const results = await Promise.all(workers.map((w) => w.done));
      clearInterval(sampler);
      const secs = (Date.now() - t0) / 1000;
      let ops = 0;
      const problems: string[] = [];
      for (const [i, r] of results.entries()) {
        let j: { ops: number; unexpected: string[]; mismatches: string[] } | undefined;
        try {
          j = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as typeof j;
        } catch {
          problems.push(`worker ${i}: no summary (status ${r.status}, signal ${r.signal}, timed out ${r.timedOut}): ${r.stderr.slice(-1500)}`);
          continue;
        }
        ops += j!.ops;
        if (j!.unexpected.length || j!.mismatches.length) {
          const count = new Map<string, number>();
          for (const u of j!.unexpected) count.set(u, (count.get(u) ?? 0) + 1);
          problems.push(`worker ${i}: unexpected ${[...count].map(([k, v]) => `${k} x${v}`).join(', ') || 'none'}; mismatches ${JSON.stringify(j!.mismatches)}`);
        }
      }
      const loaded = { fds: fdCount(), rss: rssMiB() };
      const after = await settle();
      const line = `${name}: seed ${seed}, ${WORKERS} workers, ${ops} ops in ${secs.toFixed(1)} s; daemon fds ${base.fds} before, peak ${peakFds}, ${loaded.fds} right after, ${after.fds} after drop_caches; RSS ${base.rss.toFixed(0)} MiB before, ${loaded.rss.toFixed(0)} after, ${after.rss.toFixed(0)} after drop_caches (peak ${peakRssMiB().toFixed(0)} MiB)`;
      t.diagnostic(line);
      assert.deepEqual(problems, [], line);
      assert.ok(ops > WORKERS * 10, `only ${ops} ops`);
      assert.ok(after.fds <= base.fds + 2, `daemon fds ${base.fds} -> ${after.fds}`);
      assert.ok(after.rss <= base.rss + RSS_SLACK_MIB, `daemon RSS ${base.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MiB`);
      // Every worker's private tree survived intact (also checked by the workers themselves).
      assert.equal(fs.readdirSync(src).filter((n) => n.startsWith('priv-')).length, WORKERS);
    } finally {
      await unmountFs(m);
    }
  });
}

test(`lookup/forget cycles: ${LONG ? '1,000,000' : '40,000'} lookups of distinct files leave the daemon's fd count where it started`, async (t) => {
  const N = LONG ? 20_000 : 5_000;
  const ROUNDS = LONG ? 50 : 8;
  const src = tmpdir();
  // Made on the host side: fast, and the mount knows nothing of them yet.
  for (let d = 0; d < N / 1000; d++) {
    fs.mkdirSync(path.join(src, `d${d}`));
    for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(src, `d${d}`, `f${i}`), '');
  }
  const m = await mountPassthrough(src, {});
  try {
    const base = await settle();
    let peak = base.fds;
    let lookups = 0;
    const t0 = Date.now();
    for (let r = 0; r < ROUNDS; r++) {
      const res = await py(String.raw`
import os, sys
m, n = sys.argv[1], int(sys.argv[2])
k = 0
for d in range(n // 1000):
    for i in range(1000):
        os.stat('%s/d%d/f%d' % (m, d, i))
        k += 1
print(k)
`, [m.dir, String(N)], { timeout: 600_000 });
      assert.equal(res.status, 0, res.stderr);
      lookups += Number(res.stdout.trim());
      peak = Math.max(peak, fdCount());
      await dropCaches();
      const now = fdCount();
      assert.ok(now <= base.fds + 2, `round ${r}: daemon fds ${base.fds} -> ${now} after drop_caches`);
    }
    const secs = (Date.now() - t0) / 1000;
    const after = await settle();
    t.diagnostic(`${lookups} lookups (${N} files x ${ROUNDS} rounds, caches dropped between rounds) in ${secs.toFixed(1)} s; daemon fds ${base.fds} before, peak ${peak} between rounds, ${after.fds} after; RSS ${base.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MiB (peak ${peakRssMiB().toFixed(0)} MiB)`);
    assert.ok(peak > base.fds + N / 4, `the lookups should have cost fds while the kernel held them (peak ${peak}, base ${base.fds})`);
    assert.ok(after.fds <= base.fds + 2);
    assert.ok(after.rss <= base.rss + RSS_SLACK_MIB, `daemon RSS ${base.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MiB`);
  } finally {
    await unmountFs(m);
  }
});

for (const [name, opts] of [['default options', {}], ['kernel passthrough off', { passthrough: false }]] as const) {
  test(`open/release cycles (${name}): ${LONG ? '100,000' : '10,000'} opens leave the daemon's fd count where it started`, async (t) => {
    const N = LONG ? 100_000 : 10_000;
    const src = tmpdir();
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(src, `f${i}`), 'content');
    fs.mkdirSync(path.join(src, 'dir'));
    const m = await mountPassthrough(src, opts);
    try {
      const base = await settle();
      const t0 = Date.now();
      const res = await py(String.raw`
import os, sys
m, n = sys.argv[1], int(sys.argv[2])
k = 0
flags = [os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_DIRECT]
while k < n:
    i = k % 10
    fd = os.open('%s/f%d' % (m, i), flags[k % 4])
    if k % 4 in (0, 2):
        assert os.pread(fd, 7, 0) == b'content'
    os.close(fd)
    k += 1
    if k % 10 == 0:
        # create + unlink, and a directory open/read/release
        fd = os.open('%s/tmp%d' % (m, k % 7), os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b'x')
        os.close(fd)
        os.unlink('%s/tmp%d' % (m, k % 7))
        os.listdir(m + '/dir')
        k += 2
print(k)
`, [m.dir, String(N)], { timeout: 900_000 });
      assert.equal(res.status, 0, res.stderr);
      const secs = (Date.now() - t0) / 1000;
      const loaded = fdCount();
      const after = await settle();
      t.diagnostic(`${name}: ${res.stdout.trim()} opens/creates/opendirs in ${secs.toFixed(1)} s; daemon fds ${base.fds} before, ${loaded} right after, ${after.fds} after drop_caches; RSS ${base.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MiB (peak ${peakRssMiB().toFixed(0)} MiB)`);
      assert.ok(loaded <= base.fds + 12, `open files not released: ${base.fds} -> ${loaded}`);
      assert.ok(after.fds <= base.fds + 1, `daemon fds ${base.fds} -> ${after.fds}`);
      assert.ok(after.rss <= base.rss + RSS_SLACK_MIB);
    } finally {
      await unmountFs(m);
    }
  });
}

test('unmounting gives back every fd the mount took', async () => {
  const before = fdCount();
  const src = tmpdir();
  for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(src, `f${i}`), `${i}`);
  const m = await mountPassthrough(src, {});
  // Leave inodes looked up and a file and a directory open at unmount time (lazily).
  for (let i = 0; i < 100; i++) fs.statSync(path.join(m.dir, `f${i}`));
  const fd = fs.openSync(path.join(m.dir, 'f1'), 'r');
  const dir = fs.opendirSync(m.dir);
  // A lazy unmount: the session ends when the last open file goes.
  const done = m.unmount({ lazy: true });
  fs.closeSync(fd);
  dir.closeSync();
  await done;
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(fdCount() <= before, `fds ${before} -> ${fdCount()}`);
});
