// The daemon gives memory back once the kernel forgets inodes (issue 5):
// the tsfuse command serves 200,000 files, every one is looked up (find
// stats them all), then `echo 2 > /proc/sys/vm/drop_caches` makes the kernel
// forget them. The daemon's RSS must fall back by a good part of what the
// lookups added, within a few seconds, without any new request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from './helpers.js';

const MAIN = new URL('../dist/cli/main.js', import.meta.url).pathname;
const FILES = 200_000;
const PER_DIR = 1000;

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const mounted = (dir: string) => fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(`RSS falls back after the kernel forgets ${FILES} looked-up inodes`, { timeout: 240_000 }, async () => {
  const src = tmpdir();
  const mnt = tmpdir('tsfuse-mnt-');
  const mk = spawnSync('python3', ['-c', `
import os, sys
root, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(n // per):
    dp = os.path.join(root, 'd%03d' % d)
    os.mkdir(dp)
    for f in range(per):
        os.close(os.open(os.path.join(dp, 'f%04d' % f), os.O_CREAT | os.O_WRONLY, 0o644))
`, src, String(FILES), String(PER_DIR)], { encoding: 'utf8' });
  assert.equal(mk.status, 0, mk.stderr);
  // Long timeouts: the kernel holds every inode until drop_caches.
  const daemon = spawn(process.execPath, [MAIN, 'passthrough', '-f', src, mnt, '-o', 'entry_timeout=3600,attr_timeout=3600'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  daemon.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => daemon.on('exit', (code) => r(code)));
  try {
    for (let i = 0; i < 300 && !mounted(mnt); i++) await sleep(50);
    assert.ok(mounted(mnt), `not mounted: ${err}`);
    const pid = daemon.pid!;
    await sleep(500);
    const start = rssMiB(pid);
    const find = spawnSync('find', [mnt, '-type', 'f', '-newer', '/proc/self'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(find.status, 0, find.stderr);
    const full = rssMiB(pid);
    const grown = full - start;
    // A million files grow it by ~47 MiB (docs/benchmarks.md): 200,000 by about a fifth of that.
    assert.ok(grown > 5, `RSS grew by only ${grown.toFixed(1)} MiB (${start.toFixed(1)} -> ${full.toFixed(1)}): nothing to give back`);
    fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
    let low = full;
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      low = Math.min(low, rssMiB(pid));
    }
    const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
    assert.ok(fds < 100, `${fds} fds left open after the kernel forgot`);
    assert.ok(full - low >= grown * 0.3, `RSS ${start.toFixed(1)} -> ${full.toFixed(1)} after find -> lowest ${low.toFixed(1)} MiB in 5 s after the forget: less than 30% of the growth came back`);
  } finally {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    await exited;
    if (mounted(mnt)) spawnSync('umount', ['-l', mnt]);
  }
});
