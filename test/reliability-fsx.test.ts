// Data integrity under random I/O: test/fixtures/fsx.py (an fsx-style
// exerciser: writes, appends, truncates, fallocate modes, hole punching,
// mapped writes and reads, copy_file_range, reopen; every read checked
// against a model) through the passthrough in several configurations, then
// the files compared on the host side too.
//
// CI: 5,000 operations per configuration. TSFUSE_LONG=1 (npm run test:long):
// 100,000. TSFUSE_FSX_OPS overrides; TSFUSE_FSX_SEED replays a seed (each
// configuration prints the seed it used).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir, mountPassthrough, unmountFs } from './helpers.js';
import { LONG, dropCaches, fdCount, fixture, peakRssMiB, py, rssMiB, run } from './reliability-util.js';

const OPS = Number(process.env.TSFUSE_FSX_OPS ?? (LONG ? 100_000 : 5_000));
const SEED = process.env.TSFUSE_FSX_SEED;

interface Summary {
  seed: number;
  ops: number;
  seconds: number;
  mismatches: number;
  counts: Record<string, number>;
  unsupported: string[];
  host_checked: boolean;
  error?: string;
}

async function fsx(name: string, options: Record<string, unknown>, extra: string[], t: { diagnostic(s: string): void }): Promise<void> {
  const src = tmpdir();
  const m = await mountPassthrough(src, options);
  try {
    const fds0 = fdCount();
    const args = [fixture('fsx.py'), '--dir', m.dir, '--host-dir', src, '--ops', String(OPS), ...extra];
    if (SEED) args.push('--seed', SEED);
    const r = await run('python3', args, { timeout: Math.max(300_000, OPS * 20) });
    const lines = r.stdout.trim().split('\n');
    const seedLine = lines[0] ?? '';
    let s: Summary | undefined;
    try {
      s = JSON.parse(lines.at(-1)!) as Summary;
    } catch {
      /* reported below */
    }
    const report = `${name}: ${seedLine}\n${r.stdout.slice(-4000)}${r.stderr.slice(-2000)}`;
    assert.ok(s, `fsx printed no summary (status ${r.status}, signal ${r.signal}, timed out ${r.timedOut}):\n${report}`);
    assert.equal(s.mismatches, 0, report);
    assert.equal(s.error, undefined, report);
    assert.equal(r.status, 0, report);
    assert.equal(s.host_checked, true);
    // FUSE has no collapse/insert range (the kernel answers EOPNOTSUPP itself); everything else must work.
    for (const u of s.unsupported) assert.ok(['collapse', 'insert'].includes(u), `${u} unsupported: ${report}`);
    await dropCaches();
    const fds1 = fdCount();
    t.diagnostic(`${name}: seed ${s.seed}, ${s.ops} ops in ${s.seconds} s, 0 mismatches; daemon fds ${fds0} -> ${fds1}, RSS ${rssMiB().toFixed(0)} MiB (peak ${peakRssMiB().toFixed(0)} MiB); ops ${JSON.stringify(s.counts)}`);
    assert.ok(fds1 <= fds0 + 1, `daemon fds ${fds0} -> ${fds1}`);
  } finally {
    await unmountFs(m);
  }
}

// Found by these tests (every second open of an open file failed with EIO
// under kernel passthrough: each open registered its own backing file, and
// the kernel allows one per inode) and fixed in src while they were written
// (PassthroughFs now shares one backing id per inode): kept as a regression test.
test('a file opened twice at once (kernel passthrough, default options) opens both times', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'f'), 'hello');
  const m = await mountPassthrough(src, {});
  try {
    const r = await py(String.raw`
import os, sys, errno, json
out = {}
a = os.open(sys.argv[1], os.O_RDONLY)
for name, fl in [('O_RDONLY', os.O_RDONLY), ('O_WRONLY', os.O_WRONLY), ('O_RDWR', os.O_RDWR), ('O_WRONLY|O_APPEND', os.O_WRONLY | os.O_APPEND)]:
    try:
        b = os.open(sys.argv[1], fl)
        out[name] = 'ok'
        os.close(b)
    except OSError as e:
        out[name] = errno.errorcode[e.errno]
print(json.dumps(out))
`, [path.join(m.dir, 'f')], { timeout: 10_000 });
    assert.deepEqual(JSON.parse(r.stdout), { O_RDONLY: 'ok', O_WRONLY: 'ok', O_RDWR: 'ok', 'O_WRONLY|O_APPEND': 'ok' }, `agreed: ${m.agreed.join(' ')}`);
  } finally {
    await unmountFs(m);
  }
});

// Regression test (found by these tests; fixed in src while they were
// written): with no_open, copy_file_range(2) through the mount failed with
// EBADF: PassthroughFs.copyFileRange looked both file handles up in its
// open-file table, but with no_open the kernel sends fh 0 and there is no
// table entry (read/write/fsync/fallocate/lseek open a temporary fd then).
test('copy_file_range with no_open (cache=always) copies', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'a'), 'x'.repeat(10000));
  const m = await mountPassthrough(src, { cache: 'always', noOpen: true });
  try {
    const r = await py(String.raw`
import os, sys, errno
a = os.open(sys.argv[1] + '/a', os.O_RDONLY)
b = os.open(sys.argv[1] + '/b', os.O_WRONLY | os.O_CREAT, 0o644)
try:
    print(os.copy_file_range(a, b, 10000))
except OSError as e:
    print(errno.errorcode[e.errno])
`, [m.dir], { timeout: 10_000 });
    assert.equal(r.stdout.trim(), '10000');
    assert.equal(fs.readFileSync(path.join(src, 'b'), 'utf8'), 'x'.repeat(10000));
  } finally {
    await unmountFs(m);
  }
});

// Regression test (found by these tests; fixed in src while they were
// written): with no_open and kernel passthrough, CREATE answered
// FOPEN_PASSTHROUGH with a backing id, but the later opens of the same file
// send no OPEN (that is what no_open means), so they opened in cached mode
// while the created file held the inode in passthrough mode: the kernel
// refuses the mix and open(2) failed with EIO (fs/fuse/iomode.c).
test('with no_open, a file created and still open can be opened again', async () => {
  const src = tmpdir();
  const m = await mountPassthrough(src, { cache: 'always', noOpen: true });
  try {
    const r = await py(String.raw`
import os, sys, errno
a = os.open(sys.argv[1] + '/new', os.O_RDWR | os.O_CREAT, 0o644)
try:
    b = os.open(sys.argv[1] + '/new', os.O_RDONLY)
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
`, [m.dir], { timeout: 10_000 });
    assert.equal(r.stdout.trim(), 'ok', `agreed: ${m.agreed.join(' ')}`);
  } finally {
    await unmountFs(m);
  }
});

test(`fsx, ${OPS} ops: default options (kernel passthrough on), full operation mix`, async (t) => {
  await fsx('default', {}, [], t);
});

test(`fsx, ${OPS} ops: writeback cache`, async (t) => {
  await fsx('writeback', { writeback: true }, [], t);
});

test(`fsx, ${OPS} ops: kernel passthrough off`, async (t) => {
  await fsx('passthrough off', { passthrough: false }, [], t);
});

test(`fsx, ${OPS} ops: cache=always, kernel passthrough off`, async (t) => {
  await fsx('cache=always, passthrough off', { cache: 'always', passthrough: false }, [], t);
});

test(`fsx, ${OPS} ops: cache=never (direct I/O)`, async (t) => {
  await fsx('cache=never', { cache: 'never' }, [], t);
});

// Regression test (found by these tests; fixed in src while they were
// written): with no_open the kernel never sends RELEASE for files it opened
// after learning that OPEN is not implemented, including files made by CREATE
// (fs/fuse/file.c: fuse_file_alloc only prepares a release when
// !fc->no_open); PassthroughFs.create kept the created file's host fd as if a
// RELEASE would come: one fd leaked per file created, for the life of the mount.
test('no_open: creating files does not leak daemon fds', async () => {
  const src = tmpdir();
  const m = await mountPassthrough(src, { cache: 'always', noOpen: true });
  try {
    // The first OPEN teaches the kernel that open is not implemented.
    fs.writeFileSync(path.join(src, 'existing'), 'x');
    fs.readFileSync(path.join(m.dir, 'existing'));
    await dropCaches();
    const fds0 = fdCount();
    const r = await py(String.raw`
import os, sys
for i in range(50):
    fd = os.open('%s/new%d' % (sys.argv[1], i), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b'x')
    os.close(fd)
    os.unlink('%s/new%d' % (sys.argv[1], i))
`, [m.dir], { timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    await dropCaches();
    assert.ok(fdCount() <= fds0 + 1, `50 files created and removed: daemon fds ${fds0} -> ${fdCount()}`);
  } finally {
    await unmountFs(m);
  }
});

test(`fsx, ${OPS} ops: no_open (cache=always)`, async (t) => {
  await fsx('no_open', { cache: 'always', noOpen: true }, [], t);
});

// Regression test (found by these tests; added in src while they were
// written): with cache=never/metadata files are opened FOPEN_DIRECT_IO, and
// without FUSE_DIRECT_IO_ALLOW_MMAP (protocol 7.39) negotiated the kernel
// refused mmap(MAP_SHARED) with ENODEV; natively (and with cache=auto) it works.
test('cache=never: shared mmap of a file works', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'f'), 'x'.repeat(8192));
  const m = await mountPassthrough(src, { cache: 'never' });
  try {
    const r = await py(String.raw`
import os, sys, mmap, errno
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    mm = mmap.mmap(fd, 8192)
    mm[0:5] = b'hello'
    mm.flush()
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
`, [path.join(m.dir, 'f')], { timeout: 10_000 });
    assert.equal(r.stdout.trim(), 'ok');
    assert.equal(fs.readFileSync(path.join(src, 'f'), 'utf8').slice(0, 5), 'hello');
  } finally {
    await unmountFs(m);
  }
});
