// READs through io_uring (the session's ring, default on): the session
// thread queues the host read and goes on serving; the reply follows the
// completion. Checked here: a read waiting on the host does not stall the
// other requests; without the ring the same filesystem fails (a FIFO cannot
// be pread), so these tests see which path ran; parallel O_DIRECT and
// buffered I/O through the passthrough, without kernel passthrough, reads
// back exactly the bytes written.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { mountFs, tmpdir, unmountFs, withMount } from './helpers.js';
import type { MountOptions } from '../src/index.js';

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
