// READ replies given as FileData (a host fd, offset and length): the session
// reads them through its io_uring, or splices large ones to the kernel, or
// reads them into the reply buffer.
// Whichever way, the bytes a client reads must be exactly the file's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mountFs, tmpdir, unmountFs, withMount } from './helpers.js';
import { Rng } from './rng.js';

const SIZES = [0, 1, 4095, 65535, 65536, 65537, 200_123, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7];

function makeFiles(src: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const n of SIZES) {
    const b = randomBytes(n);
    fs.writeFileSync(path.join(src, `f${n}`), b);
    files.set(`f${n}`, b);
  }
  return files;
}

/** Whole files read with several buffer sizes, then random preads (some crossing the end), compared with the source. */
function checkReads(dir: string, files: Map<string, Buffer>): void {
  const rng = new Rng(7);
  for (const [name, want] of files) {
    for (const chunk of [4096, 128 * 1024, 1 << 20, 4 << 20]) {
      const fd = fs.openSync(path.join(dir, name), 'r');
      try {
        const parts: Buffer[] = [];
        const buf = Buffer.alloc(chunk);
        for (;;) {
          const n = fs.readSync(fd, buf, 0, chunk, null);
          if (n === 0) break;
          parts.push(Buffer.from(buf.subarray(0, n)));
        }
        assert.ok(Buffer.concat(parts).equals(want), `${name} read in ${chunk}-byte chunks`);
      } finally {
        fs.closeSync(fd);
      }
    }
    const fd = fs.openSync(path.join(dir, name), 'r');
    try {
      for (let i = 0; i < 20; i++) {
        const off = rng.int(want.length + 10);
        const len = 1 + rng.int(1 << 20);
        const buf = Buffer.alloc(len);
        const n = fs.readSync(fd, buf, 0, len, off);
        assert.ok(buf.subarray(0, n).equals(want.subarray(off, off + len)), `${name}: pread ${len} at ${off}`);
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}

test('FileData reads return exactly the file, without kernel passthrough: through the ring when reads overlap (default), always, never (pread into the reply), and spliced (splice_read)', async () => {
  const src = tmpdir();
  const files = makeFiles(src);
  await withMount(src, { passthrough: false }, {}, (m) => checkReads(m.dir, files));
  await withMount(src, { passthrough: false }, { ring: 'always' }, (m) => checkReads(m.dir, files));
  await withMount(src, { passthrough: false }, { ring: false }, (m) => checkReads(m.dir, files));
  await withMount(src, { passthrough: false }, { spliceRead: true }, (m) => checkReads(m.dir, files));
});

test('FileData reads with cache=never (1 MiB direct reads, more than a pipe holds) return exactly the file', async () => {
  const src = tmpdir();
  const files = makeFiles(src);
  await withMount(src, { passthrough: false, cache: 'never' }, { maxWrite: 1 << 20, spliceRead: true }, (m) => checkReads(m.dir, files));
});

test('a FileData the host refuses becomes an error reply; the session goes on serving', async () => {
  const data = path.join(tmpdir(), 'data');
  fs.writeFileSync(data, randomBytes(300_000));
  const m = await mountFs({ module: new URL('./fixtures/filedata-fs.ts', import.meta.url), exportName: 'FileDataFs', args: [data] }, { spliceRead: true });
  try {
    // "dir": FileData over a directory fd (splice and pread fail with EISDIR/EINVAL); "bad": over fd -1.
    for (const name of ['dir', 'bad']) {
      assert.throws(() => fs.readFileSync(path.join(m.dir, name)), (e: NodeJS.ErrnoException) => e.code === 'EISDIR' || e.code === 'EINVAL' || e.code === 'EBADF' || e.code === 'EIO', name);
    }
    assert.ok(fs.readFileSync(path.join(m.dir, 'good')).equals(fs.readFileSync(data)));
  } finally {
    await unmountFs(m);
  }
});
