// READs (and O_DIRECT WRITEs) through io_uring (the session's ring, default
// on): the session thread queues the host read or write and goes on serving;
// the reply follows the completion. Checked here: a read waiting on the host
// does not stall the other requests; an interrupt cancels a read or a write
// waiting on the ring; without the ring the same filesystem fails (a FIFO cannot
// be pread), so these tests see which path ran; parallel O_DIRECT and
// buffered I/O through the passthrough, without kernel passthrough, reads
// back exactly the bytes written.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { isFdOpen, mountFs, tmpdir, unmountFs, withMount } from './helpers.js';
import type { MountOptions } from '../src/index.js';
import * as sys from '../src/sys/index.js';
import { DATA_AT, RingIo } from '../src/session/ring-io.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function ringFsPaths() {
  const dir = tmpdir();
  const p = { good: path.join(dir, 'good'), fifo: path.join(dir, 'fifo') };
  fs.writeFileSync(p.good, randomBytes(200_000));
  execFileSync('mkfifo', [p.fifo]);
  return p;
}

async function mountRingFs(paths: ReturnType<typeof ringFsPaths>, options: MountOptions = {}) {
  return mountFs({ module: new URL('./fixtures/filedata-fs.ts', import.meta.url), exportName: 'FileDataFs', args: [paths.good, paths.fifo] }, options);
}

/** A RingIo on a fresh ring; the uniques of the replies it sends, and the slots of the cancels it submits. */
function watchedRing() {
  const ring = sys.Uring.create(8);
  assert.notEqual(typeof ring, 'number', 'io_uring available');
  const sent: bigint[] = [];
  const rio = new RingIo(ring as sys.Uring, { send: (unique) => sent.push(unique) });
  const cancels: number[] = [];
  const cancel = (ring as sys.Uring).cancel.bind(ring);
  (ring as sys.Uring).cancel = (target: number, tag: number): number => (cancels.push(target), cancel(target, tag));
  return { rio, sent, cancels };
}

test('RingIo: a 1 MiB read and write keep a grown slot buffer until trim(), which lets free slots\' buffers go; the ring serves on after it', () => {
  const file = path.join(tmpdir(), 'data');
  const data = randomBytes(1 << 20);
  fs.writeFileSync(file, data);
  const fd = fs.openSync(file, 'r+');
  const ring = sys.Uring.create(8);
  assert.notEqual(typeof ring, 'number', 'io_uring available');
  const replies: { unique: bigint; error: number; body: Buffer }[] = [];
  const rio = new RingIo(ring as sys.Uring, {
    send: (unique, error, buf, off, len) => replies.push({ unique, error, body: Buffer.from(buf.subarray(off + 16, off + len)) }),
  });
  try {
    assert.equal(rio.heldBytes, 0);
    assert.ok(rio.read(1n, fd, 0n, 1 << 20));
    assert.ok(rio.drain(5000));
    assert.equal(replies[0]!.unique, 1n);
    assert.ok(replies[0]!.body.equals(data));
    assert.ok(rio.heldBytes >= DATA_AT + (1 << 20), `held ${rio.heldBytes}`);
    // A write answered with fuse_write_out: the count, then 4 bytes of padding.
    assert.ok(rio.write(2n, fd, 4096n, Buffer.alloc(100, 7)));
    assert.ok(rio.drain(5000));
    assert.deepEqual([replies[1]!.unique, replies[1]!.error, replies[1]!.body.readUInt32LE(0), replies[1]!.body.length], [2n, 0, 100, 8]);
    const held = rio.heldBytes;
    assert.equal(rio.trim(), held);
    assert.equal(rio.heldBytes, 0);
    assert.ok(rio.read(3n, fd, 4096n, 100));
    assert.ok(rio.drain(5000));
    assert.ok(replies[2]!.body.equals(Buffer.alloc(100, 7)));
    assert.ok(rio.heldBytes > 0 && rio.heldBytes < 1 << 20, `regrown to ${rio.heldBytes}`);
  } finally {
    rio.close();
    fs.closeSync(fd);
  }
});

test('RingIo: an fsync and an fdatasync hand their results to their continuations (0, or the errno of a bad fd); an interrupt does not cancel an fsync', () => {
  const file = path.join(tmpdir(), 'data');
  fs.writeFileSync(file, 'x');
  const fd = fs.openSync(file, 'r+');
  // A sync this small is done before a cancel could land, so the results alone
  // cannot show that none was asked for: the ring's cancel() is watched.
  const { rio, sent, cancels } = watchedRing();
  const results: [bigint, number][] = [];
  const done = (unique: bigint) => (res: number): number => results.push([unique, res]);
  try {
    assert.ok(rio.fsync(1n, fd, false, done(1n)));
    assert.ok(rio.fsync(2n, fd, true, done(2n)));
    // The interrupt finds the request on the ring, and lets it run to its end.
    assert.equal(rio.interrupt(2n), true);
    assert.deepEqual(cancels, [], 'no cancel submitted for an fsync');
    assert.ok(rio.fsync(3n, 1_000_000, false, done(3n)));
    assert.ok(rio.drain(5000));
    results.sort((a, b) => Number(a[0] - b[0]));
    assert.deepEqual(results, [[1n, 0], [2n, 0], [3n, -9 /* EBADF */]]);
    assert.deepEqual(sent, [], 'the continuations answer, not the ring');
  } finally {
    rio.close();
    fs.closeSync(fd);
  }
});

test('RingIo: a truncate hands its result to its continuation (the file truncated, or the errno); an interrupt does not cancel it', () => {
  const file = path.join(tmpdir(), 'data');
  fs.writeFileSync(file, Buffer.alloc(3 << 20, 7));
  const fd = fs.openSync(file, 'r+');
  const rfd = fs.openSync(file, 'r');
  const { rio, sent, cancels } = watchedRing();
  const results: [string, number, number][] = [];
  try {
    // The continuation may queue another request.
    assert.ok(rio.truncate(1n, fd, 12345n, (res) => {
      results.push(['shrink', res, fs.fstatSync(fd).size]);
      assert.ok(rio.truncate(4n, fd, 20000n, (r) => results.push(['grow', r, fs.fstatSync(fd).size])));
    }));
    assert.equal(rio.interrupt(1n), true);
    assert.deepEqual(cancels, [], 'no cancel submitted for a truncate');
    assert.ok(rio.truncate(2n, rfd, 0n, (res) => results.push(['read-only fd', res, -1])));
    assert.ok(rio.truncate(3n, 1_000_000, 0n, (res) => results.push(['bad fd', res, -1])));
    assert.ok(rio.drain(5000));
    assert.equal(rio.busy, 0);
    results.sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(results, [
      ['bad fd', -9 /* EBADF */, -1],
      ['grow', 0, 20000],
      ['read-only fd', -22 /* EINVAL: not open for writing */, -1],
      ['shrink', 0, 12345],
    ]);
    assert.deepEqual(sent, [], 'a truncate sends nothing itself: its continuation answers');
    assert.equal(fs.readFileSync(file).subarray(0, 12345).every((b) => b === 7), true);
    assert.equal(fs.readFileSync(file).subarray(12345).every((b) => b === 0), true);
  } finally {
    rio.close();
    fs.closeSync(fd);
    fs.closeSync(rfd);
  }
});

test('RingIo: an fallocate hands its result to its continuation (the file grown, a hole punched, or the errno)', () => {
  const file = path.join(tmpdir(), 'data');
  fs.writeFileSync(file, Buffer.alloc(3 << 20, 7));
  const fd = fs.openSync(file, 'r+');
  const { rio, sent } = watchedRing();
  const results: [string, number][] = [];
  try {
    assert.ok(rio.fallocate(1n, fd, 0, 0n, 8n << 20n, (res) => results.push(['grow', res])));
    // KEEP_SIZE | PUNCH_HOLE of the second MiB.
    assert.ok(rio.fallocate(2n, fd, 3, 1n << 20n, 1n << 20n, (res) => results.push(['punch', res])));
    assert.ok(rio.fallocate(3n, fd, 2, 0n, 4096n, (res) => results.push(['punch without keep', res])));
    assert.ok(rio.fallocate(4n, 1_000_000, 0, 0n, 4096n, (res) => results.push(['bad fd', res])));
    assert.ok(rio.drain(5000));
    results.sort((a, b) => a[0].localeCompare(b[0]));
    assert.deepEqual(results, [['bad fd', -9 /* EBADF */], ['grow', 0], ['punch', 0], ['punch without keep', -95 /* EOPNOTSUPP */]]);
    assert.deepEqual(sent, [], 'an fallocate sends nothing itself: its continuation answers');
    const data = fs.readFileSync(file);
    assert.equal(data.length, 8 << 20);
    assert.ok(data.subarray(0, 1 << 20).every((b) => b === 7) && data.subarray(1 << 20, 2 << 20).every((b) => b === 0) && data.subarray(2 << 20, 3 << 20).every((b) => b === 7));
  } finally {
    rio.close();
    fs.closeSync(fd);
  }
});

test('RingIo: closeFd closes the fd and sends nothing; close() lets a queued close finish instead of cancelling it', () => {
  const dir = tmpdir();
  const fds = [0, 1, 2].map((i) => fs.openSync(path.join(dir, `f${i}`), 'w'));
  const { rio, sent, cancels } = watchedRing();
  let closed = false;
  try {
    assert.ok(rio.closeFd(fds[0]!));
    assert.ok(rio.closeFd(fds[1]!));
    assert.ok(rio.drain(5000));
    assert.equal(rio.busy, 0);
    assert.deepEqual([isFdOpen(fds[0]!), isFdOpen(fds[1]!), isFdOpen(fds[2]!)], [false, false, true]);
    assert.ok(rio.closeFd(fds[2]!));
    rio.close();
    closed = true;
    assert.equal(isFdOpen(fds[2]!), false, 'the close queued before close() ran');
    assert.deepEqual(cancels, [], 'no close cancelled');
    assert.deepEqual(sent, [], 'a close answers no request');
  } finally {
    if (!closed) rio.close();
    for (const fd of fds) if (isFdOpen(fd)) fs.closeSync(fd);
  }
});

// At the end of a session the ring waits for what is in flight, but not
// forever (drain's limit: 10 s in close()); a request that never completes
// leaves drain() false, and close() cancels before it drains.
test('RingIo: drain() gives up at its limit while a READ waits; close() cancels it (EINTR) and closes', () => {
  const fifo = path.join(tmpdir(), 'fifo');
  execFileSync('mkfifo', [fifo]);
  // O_RDWR: the open does not wait for a writer, and the read waits for data.
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  const ring = sys.Uring.create(8);
  assert.notEqual(typeof ring, 'number', 'io_uring available');
  const replies: { unique: bigint; error: number }[] = [];
  const rio = new RingIo(ring as sys.Uring, { send: (unique, error) => replies.push({ unique, error }) });
  try {
    // io_uring reads a nonblocking pipe by polling it: the READ waits.
    assert.ok(rio.read(7n, fd, 0n, 100));
    const t0 = performance.now();
    assert.equal(rio.drain(200), false, 'nothing came: drain gives up');
    const took = performance.now() - t0;
    assert.ok(took >= 190 && took < 2000, `drain(200) took ${took.toFixed(0)} ms`);
    assert.equal(rio.busy, 1);
    assert.deepEqual(replies, []);
  } finally {
    rio.close();
    fs.closeSync(fd);
  }
  assert.deepEqual(replies, [{ unique: 7n, error: -4 }], 'the READ was cancelled and answered EINTR');
  assert.equal(rio.busy, 0);
});

test('a READ waiting on the host (a FIFO) does not stall other requests; it is answered when the data comes', async () => {
  const p = ringFsPaths();
  // 'always': even a READ nothing waits behind goes through the ring.
  const m = await mountRingFs(p, { ring: 'always' });
  try {
    const fh = await fs.promises.open(path.join(m.dir, 'fifo'), 'r');
    try {
      const buf = Buffer.alloc(100);
      const pending = fh.read(buf, 0, 100, 0);
      let settled = false;
      void pending.then(() => (settled = true), () => (settled = true));
      await sleep(200);
      assert.equal(settled, false, 'the READ waits for the FIFO');
      // Meanwhile the session serves everything else.
      assert.ok(fs.readFileSync(path.join(m.dir, 'good')).equals(fs.readFileSync(p.good)));
      assert.equal(fs.statSync(path.join(m.dir, 'fifo')).size, 1 << 20);
      const w = fs.openSync(p.fifo, 'w');
      fs.writeSync(w, 'through the ring');
      fs.closeSync(w);
      const r = await pending;
      assert.equal(buf.subarray(0, r.bytesRead).toString(), 'through the ring');
    } finally {
      await fh.close();
    }
  } finally {
    await unmountFs(m);
  }
});

/**
 * Runs python3 with `args`; its stdout, or a failure after 5 s, when the
 * connection of the mount at `dir` is aborted (umount -f) so that a reader
 * stuck in the kernel is let go rather than left behind.
 */
async function spawnBounded(args: string[], dir: string): Promise<string> {
  const child = spawn('python3', args);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<boolean>((r) => child.on('exit', () => r(true)));
  if (!(await Promise.race([exited, sleep(5000).then(() => false)]))) {
    sys.umount2(dir, sys.MNT_FORCE);
    await exited;
    assert.fail(`python3 did not end within 5 s (stdout: ${out})`);
  }
  return out;
}

/**
 * A python3 script that opens argv[1] with `flags`, runs `call` on the fd and
 * prints how it ended. A SIGALRM after 0.3 s raises from its handler, so the
 * call returns EINTR to it (Python retries a call after a handler that returns).
 */
function alarmScript(flags: string, call: string): string {
  return String.raw`
import os, signal, sys, time
class Alarm(Exception): pass
def on_alarm(sig, frame): raise Alarm()
signal.signal(signal.SIGALRM, on_alarm)
fd = os.open(sys.argv[1], ${flags})
t0 = time.monotonic()
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    ${call}
    print('returned')
except Alarm:
    print('interrupted after %.1f s' % (time.monotonic() - t0))
`;
}

test('an interrupted READ on the ring (a signal to the reader) is cancelled and answered EINTR; unmounting with a READ in flight cancels it', async () => {
  const p = ringFsPaths();
  const m = await mountRingFs(p, { ring: 'always' });
  try {
    const reader = alarmScript('os.O_RDONLY', 'os.read(fd, 100)');
    const out = await spawnBounded(['-c', reader, path.join(m.dir, 'fifo')], m.dir);
    assert.match(out, /^interrupted after 0\.\d s/);
    // The session still serves, and the FIFO's data goes to the next reader.
    const fh = await fs.promises.open(path.join(m.dir, 'fifo'), 'r');
    try {
      const pending = fh.read(Buffer.alloc(100), 0, 100, 0);
      await sleep(100);
      const w = fs.openSync(p.fifo, 'w');
      fs.writeSync(w, 'after the interrupt');
      fs.closeSync(w);
      const got = await pending;
      assert.equal(got.buffer.subarray(0, got.bytesRead).toString(), 'after the interrupt');
    } finally {
      await fh.close();
    }
  } finally {
    await unmountFs(m);
  }
  // A reader killed while its READ waits on the ring: the kernel interrupts
  // the request, the cancel answers it, the reader dies (it would otherwise
  // stay in the kernel until the FIFO got data).
  const m2 = await mountRingFs(p, { ring: 'always' });
  try {
    const child = spawn('python3', ['-c', 'import os,sys; os.read(os.open(sys.argv[1], os.O_RDONLY), 10)', path.join(m2.dir, 'fifo')]);
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await sleep(300);
    child.kill('SIGKILL');
    const ok = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!ok) sys.umount2(m2.dir, sys.MNT_FORCE); // let it go before failing
    assert.ok(ok, 'the killed reader exits within 5 s');
    // A READ in flight when the connection is aborted: the session cancels it and ends at once (not after the 10 s drain).
    const child2 = spawn('python3', ['-c', 'import os,sys; os.read(os.open(sys.argv[1], os.O_RDONLY), 10)', path.join(m2.dir, 'fifo')]);
    const exited2 = new Promise<void>((r) => child2.on('exit', () => r()));
    await sleep(300);
    const t1 = Date.now();
    // umount -f: the kernel aborts the connection (the mount itself stays, busy).
    sys.umount2(m2.dir, sys.MNT_FORCE);
    await m2.closed;
    assert.ok(Date.now() - t1 < 5000, `the session ended ${Date.now() - t1} ms after the abort`);
    await exited2;
  } finally {
    await unmountFs(m2);
  }
});

test('a WRITE on the ring waiting on the host (a full FIFO) is cancelled when the writer is interrupted (EINTR), and one that can go through is answered with its count', async () => {
  const p = ringFsPaths();
  const m = await mountRingFs(p, { ring: 'always' });
  // Fill the pipe (the filesystem holds it open for reading, so a
  // non-blocking writer may open it), so that the next write waits.
  const w = fs.openSync(p.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  const chunk = Buffer.alloc(4096, 1);
  let filled = 0;
  try {
    for (;;) filled += fs.writeSync(w, chunk);
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'EAGAIN');
  }
  fs.closeSync(w);
  try {
    const writer = alarmScript('os.O_WRONLY', "os.write(fd, b'x' * 100)");
    const out = await spawnBounded(['-c', writer, path.join(m.dir, 'fifo')], m.dir);
    assert.match(out, /^interrupted after 0\.\d s/);
    // Nothing of the cancelled write reached the pipe: empty it (what the test put in, only).
    const r = fs.openSync(p.fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const sink = Buffer.alloc(1 << 20);
    let drained = 0;
    try {
      for (;;) {
        const n = fs.readSync(r, sink);
        if (n === 0) break;
        drained += n;
      }
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'EAGAIN');
    }
    fs.closeSync(r);
    assert.equal(drained, filled);
    // With room in the pipe, a write through the ring is answered with its count.
    const fh = await fs.promises.open(path.join(m.dir, 'fifo'), 'r+');
    try {
      const { bytesWritten } = await fh.write(Buffer.from('through the ring'), 0, 16, 0);
      assert.equal(bytesWritten, 16);
      const back = Buffer.alloc(16);
      const r2 = fs.openSync(p.fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      assert.equal(fs.readSync(r2, back), 16);
      fs.closeSync(r2);
      assert.equal(back.toString(), 'through the ring');
    } finally {
      await fh.close();
    }
  } finally {
    await unmountFs(m);
  }
});

test('without the ring (ring: false) the same READ is a pread, which a FIFO refuses: ESPIPE', async () => {
  const p = ringFsPaths();
  const m = await mountRingFs(p, { ring: false });
  try {
    const fd = fs.openSync(path.join(m.dir, 'fifo'), 'r');
    try {
      assert.throws(() => fs.readSync(fd, Buffer.alloc(10), 0, 10, 0), (e: NodeJS.ErrnoException) => e.code === 'ESPIPE');
    } finally {
      fs.closeSync(fd);
    }
    assert.ok(fs.readFileSync(path.join(m.dir, 'good')).equals(fs.readFileSync(p.good)));
  } finally {
    await unmountFs(m);
  }
});

// Four processes at once, each on its own file: random 4 KiB blocks written
// and read back (O_DIRECT or through the page cache), every read checked
// against the process's model of its file; the model's digest is printed.
const CLIENT = String.raw`
import mmap, os, random, sys, hashlib
path, seed, direct = sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1'
size, bs = 4 << 20, 4096
rng = random.Random(seed)
model = bytearray(size)
fd = os.open(path, os.O_RDWR | os.O_CREAT | (os.O_DIRECT if direct else 0), 0o644)
os.ftruncate(fd, size)
buf = mmap.mmap(-1, bs)  # page-aligned, as O_DIRECT needs
for i in range(600):
    off = rng.randrange(size // bs) * bs
    if rng.random() < 0.5:
        block = rng.randbytes(bs)
        buf.seek(0); buf.write(block)
        assert os.pwritev(fd, [buf], off) == bs
        model[off:off + bs] = block
    else:
        assert os.preadv(fd, [buf], off) == bs
        assert buf[:] == model[off:off + bs], 'read %d at %d differs' % (i, off)
os.close(fd)
print(hashlib.sha256(model).hexdigest())
`;

for (const direct of [true, false]) {
  test(`without kernel passthrough, 4 processes doing random ${direct ? 'O_DIRECT' : 'buffered'} 4 KiB I/O read back what they wrote: through the ring when reads overlap, always, never`, async () => {
    for (const ring of [true, 'always', false] as const) {
      const src = tmpdir();
      await withMount(src, { passthrough: false }, { ring }, async (m) => {
        const outs = await Promise.all([0, 1, 2, 3].map((i) => run('python3', ['-c', CLIENT, path.join(m.dir, `f${i}`), String(i + 10), direct ? '1' : '0'])));
        for (let i = 0; i < 4; i++) {
          const want = outs[i]!.stdout.trim();
          assert.match(want, /^[0-9a-f]{64}$/);
          assert.equal(createHash('sha256').update(fs.readFileSync(path.join(src, `f${i}`))).digest('hex'), want, `f${i} on the host, ring ${ring}`);
        }
      });
    }
  });
}
