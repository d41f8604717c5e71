// The reference passthrough's defects (SPEC §5), each as a test that fails
// on the reference's behaviour and passes on tsfuse's.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mountFs, mountMemFs, mountPassthrough, unmountFs, sh, tmpdir, memfsModule, withMount, waitFor, withLoggedDaemon } from './helpers.js';



function py(code: string, opts: { cwd?: string; uid?: number; gid?: number; timeout?: number } = {}) {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', timeout: opts.timeout ?? 60_000, cwd: opts.cwd, uid: opts.uid, gid: opts.gid });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function fillHost(dir: string, n: number, prefix = 'f'): void {
  const r = py(`import os\nfor k in range(${n}):\n    os.close(os.open(os.path.join(${JSON.stringify(dir)}, '${prefix}%06d' % k), os.O_CREAT | os.O_WRONLY, 0o644))`);
  assert.equal(r.status, 0, r.stderr);
}

describe('SPEC §5: defects of the reference', () => {
  for (const [label, opts] of [
    ['kernel passthrough (default)', {}],
    ['data through the daemon (passthrough off)', { passthrough: false }],
    ['writeback cache', { writeback: true }],
  ] as const) {
    test(`appending through a write-only handle leaves exactly the lines (${label})`, async () => {
      const src = tmpdir();
      await withMount(src, opts, {}, (m) => {
        const r = sh(`printf 'a\\n' > f; printf 'b\\n' >> f; printf 'c\\n' >> f`, { cwd: m.dir });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.readFileSync(path.join(m.dir, 'f'), 'latin1'), 'a\nb\nc\n');
        // Append with an explicit offset elsewhere: O_APPEND still writes at the end.
        const fd = fs.openSync(path.join(m.dir, 'f'), 'a');
        fs.writeSync(fd, 'd\n', 0);
        fs.closeSync(fd);
        assert.equal(fs.readFileSync(path.join(src, 'f'), 'latin1'), 'a\nb\nc\nd\n');
      });
    });
  }

  test('setattr of atime alone and of mtime alone, with nanoseconds, changes exactly that', async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'f'), 'x');
    fs.utimesSync(path.join(src, 'f'), 100, 200);
    await withMount(src, {}, {}, (m) => {
      let r = sh(`touch -a -d @1000000000.123456789 f`, { cwd: m.dir });
      assert.equal(r.status, 0, r.stderr);
      let st = fs.statSync(path.join(src, 'f'), { bigint: true });
      assert.equal(st.atimeNs, 1000000000123456789n);
      assert.equal(st.mtimeNs, 200000000000n);
      r = sh(`touch -m -d @1500000000.987654321 f`, { cwd: m.dir });
      assert.equal(r.status, 0, r.stderr);
      st = fs.statSync(path.join(src, 'f'), { bigint: true });
      assert.equal(st.atimeNs, 1000000000123456789n);
      assert.equal(st.mtimeNs, 1500000000987654321n);
      // And seen so through the mount.
      const mt = fs.statSync(path.join(m.dir, 'f'), { bigint: true });
      assert.equal(mt.atimeNs, 1000000000123456789n);
      assert.equal(mt.mtimeNs, 1500000000987654321n);
      // Both to "now": both move.
      const before = BigInt(Date.now() - 1000) * 1_000_000n;
      r = sh(`touch f`, { cwd: m.dir });
      st = fs.statSync(path.join(src, 'f'), { bigint: true });
      assert.ok(st.atimeNs > before && st.mtimeNs > before);
    });
  });

  test('chown with only a uid, or only a gid, works', async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'f'), 'x');
    await withMount(src, {}, {}, (m) => {
      let r = sh('chown 1000 f', { cwd: m.dir });
      assert.equal(r.status, 0, r.stderr);
      let st = fs.statSync(path.join(src, 'f'));
      assert.deepEqual([st.uid, st.gid], [1000, 0]);
      r = sh('chgrp 2000 f', { cwd: m.dir });
      assert.equal(r.status, 0, r.stderr);
      st = fs.statSync(path.join(src, 'f'));
      assert.deepEqual([st.uid, st.gid], [1000, 2000]);
      r = sh('chown :3000 f && chown 1001 f', { cwd: m.dir });
      assert.equal(r.status, 0, r.stderr);
      st = fs.statSync(path.join(src, 'f'));
      assert.deepEqual([st.uid, st.gid], [1001, 3000]);
    });
  });

  for (const [label, opts] of [
    ['passthrough off: the daemon reads and writes', { passthrough: false }],
    ['default options', {}],
  ] as const) {
    test(`an I/O error of the host reaches the caller promptly as EIO (${label})`, async () => {
      const inner = await mountMemFs({ injectIoErrors: true });
      try {
        fs.writeFileSync(path.join(inner.dir, 'good'), 'fine');
        fs.closeSync(fs.openSync(path.join(inner.dir, 'bad1'), 'w'));
        fs.truncateSync(path.join(inner.dir, 'bad1'), 100);
        await withMount(inner.dir, opts, {}, (m) => {
          const t0 = Date.now();
          const r = py(String.raw`
import os, errno
out = []
for op in ('read', 'write'):
    try:
        fd = os.open('bad1', os.O_RDWR)
        if op == 'read':
            os.read(fd, 10)
        else:
            os.pwrite(fd, b'x', 0); os.fsync(fd)
        out.append('ok')
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(out, open('good').read())
`, { cwd: m.dir, timeout: 20_000 });
          const took = Date.now() - t0;
          assert.equal(r.signal, null, `the caller hung (killed after ${took} ms)`);
          assert.equal(r.status, 0, r.stderr);
          assert.equal(r.stdout.trim(), "['EIO', 'EIO'] fine");
          assert.ok(took < 10_000, `took ${took} ms`);
        });
      } finally {
        await unmountFs(inner);
      }
    });
  }

  test('a directory entry of unknown type (DT_UNKNOWN) is listed, and its type found by stat', async () => {
    // A filesystem whose readdir reports DT_UNKNOWN for everything: MemFs with the type dropped.
    const mod = `data:text/javascript,${encodeURIComponent(`
      import { MemFs } from ${JSON.stringify(memfsModule.href)};
      export class UnknownTypeFs extends MemFs {
        readdir(ctx, ino, a, out) {
          const add = out.add.bind(out);
          return super.readdir(ctx, ino, a, { add: (i, n, t, o) => add(i, n, 0, o) });
        }
      }`)}`;
    const inner = await mountFs({ module: mod, exportName: 'UnknownTypeFs', args: [{}] });
    try {
      fs.writeFileSync(path.join(inner.dir, 'file'), 'x');
      fs.mkdirSync(path.join(inner.dir, 'dir'));
      fs.symlinkSync('file', path.join(inner.dir, 'link'));
      const probe = `
import os, sys
print(sorted([e.name, e.is_dir(follow_symlinks=False), e.is_symlink()] for e in os.scandir(sys.argv[1])))
import ctypes
libc = ctypes.CDLL(None); libc.opendir.restype = ctypes.c_void_p; libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir64.restype = ctypes.c_void_p; libc.readdir64.argtypes = [ctypes.c_void_p]
dp = libc.opendir(sys.argv[1].encode()); types = {}
while True:
    p = libc.readdir64(dp)
    if not p: break
    types[ctypes.string_at(p + 19).decode()] = ctypes.c_ubyte.from_address(p + 18).value
print(sorted(types.items()))
`;
      const native = spawnSync('python3', ['-c', probe, inner.dir], { encoding: 'utf8' });
      assert.equal(native.status, 0, native.stderr);
      assert.match(native.stdout, /\('file', 0\)/, 'the inner filesystem does report DT_UNKNOWN');
      for (const opts of [{}, { noOpendir: true, cache: 'metadata' }]) {
        await withMount(inner.dir, opts, {}, (m) => {
          const r = spawnSync('python3', ['-c', probe, m.dir], { encoding: 'utf8' });
          assert.equal(r.status, 0, r.stderr);
          assert.equal(r.stdout, native.stdout);
          assert.equal(r.stdout.split('\n')[0], "[['dir', True, False], ['file', False, False], ['link', False, True]]");
        });
      }
    } finally {
      await unmountFs(inner);
    }
  });

  test('a reused host inode number never shows the old file\'s identity or data', () => {
    // In a child process: it needs a low RLIMIT_NOFILE (inode fds evicted to
    // file handles, so the host can reuse the number of a file the kernel
    // still holds), and a process cannot raise its hard limit again.
    const src = tmpdir();
    const mnt = tmpdir('tsfuse-mnt-');
    const r = spawnSync(process.execPath, ['--import', 'tsx', new URL('./passthrough-reuse-child.ts', import.meta.url).pathname, src, mnt], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.equal(res.oldRead, 'OLD DATA');
    assert.equal(res.reused, true, 'the host never reused the inode number (cannot set up the test)');
    assert.equal(res.newHasOwnNumber, true);
    assert.equal(res.newRead, true);
    assert.ok(['ENOENT', 'ESTALE'].includes(res.oldNameRead), `the old name read ${JSON.stringify(res.oldNameRead)}`);
  });

  test('readdir of a large directory reads the host directory once, not once per READDIR', async () => {
    // The reference rescans the directory from its start for every READDIR
    // (quadratic). Counted, not timed: the source is itself a FUSE mount (the
    // tsfuse command with -d over a host directory), whose debug log shows
    // every directory entry the listing through the outer mount read from it.
    const host = tmpdir();
    fs.mkdirSync(path.join(host, 'd'));
    const N = 40_000;
    fillHost(path.join(host, 'd'), N);
    await withLoggedDaemon(host, [], async (inner, log) => {
      /** Entries the inner daemon's READDIR/READDIRPLUS replies carried since `from` in its log. */
      const served = (from: number): number => {
        let n = 0;
        for (const m of log().slice(from).matchAll(/^\d+ < READDIR(?:PLUS)? OK \d+ bytes \((\d+) entries/gm)) n += Number(m[1]);
        return n;
      };
      await withMount(inner, {}, {}, async (m) => {
        // Names only, then with a stat of each (READDIRPLUS with attributes).
        for (const plus of [false, true]) {
          const from = log().length;
          const r = py(`import os\nprint(${plus ? "sum(1 for e in os.scandir('d') if e.stat(follow_symlinks=False))" : "len(os.listdir('d'))"})`, { cwd: m.dir });
          assert.equal(r.stdout.trim(), String(N), r.stderr);
          // The inner's replies come before the outer's; give its log a moment to arrive.
          await waitFor(() => served(from) >= N, 5_000);
          const n = served(from);
          console.log(`listing${plus ? ' + stat' : ''} of ${N} names read ${n} entries from the source`);
          // Once, plus "." and "..": the reference would read ~N^2 / (2 x entries a reply), some 800,000 here.
          assert.ok(n >= N && n <= N + 100, `${n} entries read from the source for a listing of ${N}`);
        }
      });
    });
  });

  test('readdirplus entries that do not fit are not counted: lookups return to the baseline', async () => {
    const src = tmpdir();
    fs.mkdirSync(path.join(src, 'd'));
    // Long names: few entries per reply, many refused at the buffer's end.
    const r0 = py(`import os\nfor k in range(3000):\n    open(os.path.join(${JSON.stringify(src)}, 'd', 'entry-with-a-long-name-%s-%05d' % ('x' * 120, k)), 'w').close()`);
    assert.equal(r0.status, 0, r0.stderr);
    await withMount(src, {}, {}, async (m) => {
      const drop = (): void => fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
      fs.statSync(path.join(m.dir, 'd'));
      drop();
      await new Promise((r) => setTimeout(r, 300));
      const base = fdCount();
      // Stat while iterating: every getdents after the first is a READDIRPLUS.
      for (let round = 0; round < 3; round++) {
        const r = py(`import os\nprint(sum(1 for e in os.scandir('d') if e.stat(follow_symlinks=False)))`, { cwd: m.dir });
        assert.equal(r.stdout.trim(), '3000', r.stderr);
      }
      assert.ok(fdCount() >= base + 2900, `inodes were looked up: ${fdCount()} fds vs ${base}`);
      drop();
      const back = await waitFor(() => fdCount() <= base + 1, 10_000);
      assert.ok(back, `after drop_caches ${fdCount()} fds are open, baseline ${base}: lookups leaked`);
    });
  });

  test('no_readdir gives an empty listing, not an error; names still resolve', async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'a'), 'A');
    fs.mkdirSync(path.join(src, 'd'));
    await withMount(src, { noReaddir: true }, {}, (m) => {
      assert.deepEqual(fs.readdirSync(m.dir), []);
      assert.deepEqual(fs.readdirSync(path.join(m.dir, 'd')), []);
      const r = sh('ls -la .', { cwd: m.dir });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.readFileSync(path.join(m.dir, 'a'), 'utf8'), 'A');
    });
  });

  test('seal_size refuses truncate, write past EOF, growing fallocate, O_TRUNC with EPERM; other writes work', async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'f'), '0123456789');
    await withMount(src, { sealSize: true }, {}, (m) => {
      const r = py(String.raw`
import os, errno, ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
def T(f, *a):
    try:
        f(*a); return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
def fa(fd, mode, off, ln):
    return 'ok' if libc.fallocate(fd, mode, off, ln) == 0 else errno.errorcode[ctypes.get_errno()]
fd = os.open('f', os.O_RDWR)
out = {
  'truncate_shrink': T(os.truncate, 'f', 5),
  'truncate_grow': T(os.truncate, 'f', 50),
  'truncate_same': T(os.truncate, 'f', 10),
  'ftruncate': T(os.ftruncate, fd, 3),
  'write_inside': T(os.pwrite, fd, b'AB', 2),
  'write_past_eof': T(os.pwrite, fd, b'XYZ', 9),
  'append': T(lambda: os.write(os.open('f', os.O_WRONLY | os.O_APPEND), b'more')),
  'falloc_grow': fa(fd, 0, 0, 100),
  'falloc_keep_size': fa(fd, 1, 0, 100),
  'punch': fa(fd, 3, 0, 2),
  'collapse': fa(fd, 8, 0, 4096),
  'otrunc': T(os.open, 'f', os.O_WRONLY | os.O_TRUNC),
  'new_file': T(lambda: os.write(os.open('g', os.O_WRONLY | os.O_CREAT, 0o644), b'')),
}
print(sorted(out.items()))
`, { cwd: m.dir });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), String([
        "[('append', 'EPERM')", " ('collapse', 'ENOTSUP')", " ('falloc_grow', 'EPERM')", " ('falloc_keep_size', 'ok')",
        " ('ftruncate', 'EPERM')", " ('new_file', 'ok')", " ('otrunc', 'EPERM')", " ('punch', 'ok')", " ('truncate_grow', 'EPERM')",
        " ('truncate_same', 'ok')", " ('truncate_shrink', 'EPERM')", " ('write_inside', 'ok')", " ('write_past_eof', 'EPERM')]",
      ]));
      assert.equal(fs.readFileSync(path.join(src, 'f'), 'latin1'), '\0\0AB456789');
    });
  });

  test('writeback cache: negotiated, and data, appends, truncates and mmap writes all land', async () => {
    const src = tmpdir();
    await withMount(src, { writeback: true }, {}, (m) => {
      assert.ok(m.agreed.includes('WRITEBACK_CACHE'), m.agreed.join(' '));
      const r = py(String.raw`
import os, mmap
fd = os.open('f', os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, b'hello '); os.close(fd)
fd = os.open('f', os.O_WRONLY | os.O_APPEND); os.write(fd, b'world'); os.close(fd)
fd = os.open('f', os.O_RDWR); os.pwrite(fd, b'J', 0); os.ftruncate(fd, 20)
m = mmap.mmap(fd, 20); m[15:20] = b'MMAP!'; m.flush(); m.close(); os.fsync(fd); os.close(fd)
print(open('f', 'rb').read(), oct(os.stat('f').st_mode & 0o777))
`, { cwd: m.dir });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), "b'Jello world\\x00\\x00\\x00\\x00MMAP!' 0o600");
      assert.equal(fs.readFileSync(path.join(src, 'f'), 'latin1'), 'Jello world\0\0\0\0MMAP!');
      assert.equal(fs.statSync(path.join(src, 'f')).mode & 0o777, 0o600);
    });
  });

  test('credentials: what another user creates through the mount is owned by that user on the host', async () => {
    const src = tmpdir();
    fs.chmodSync(src, 0o777);
    await withMount(src, {}, { allowOther: true }, (m) => {
      const r = sh('umask 022; echo x > f && mkdir d && ln -s f l && mkfifo p && ln f h && touch d/inner', { cwd: m.dir, uid: 1000, gid: 1000 });
      assert.equal(r.status, 0, r.stderr);
      for (const n of ['f', 'd', 'p', 'd/inner']) {
        const st = fs.lstatSync(path.join(src, n));
        assert.deepEqual([n, st.uid, st.gid], [n, 1000, 1000]);
      }
      const l = fs.lstatSync(path.join(src, 'l'));
      assert.deepEqual([l.uid, l.gid], [1000, 1000]);
      // And what the user may not do, it may not do.
      const denied = sh('chown 0 f', { cwd: m.dir, uid: 1000, gid: 1000 });
      assert.notEqual(denied.status, 0);
      assert.match(denied.stderr, /Operation not permitted/);
    });
  });
});
