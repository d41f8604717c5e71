// Every passthrough option of SPEC §1 shows its effect through the mount.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { mountPassthrough, openFdFlags, unmountFs, sh, tmpdir, withMount } from './helpers.js';
import { resolvePassthroughOptions, OptionError } from '../src/fs/passthrough/index.js';
import * as sys from '../src/sys/index.js';

type Mounted = Awaited<ReturnType<typeof mountPassthrough>>;


function py(code: string, opts: { cwd?: string; uid?: number; gid?: number } = {}): string {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', timeout: 60_000, ...opts });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function errCode(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

/** The daemon's open fds (the session thread lives in this process) on `file`, with their open flags. */
const daemonFdFlags = openFdFlags;

const O_PATH = 0o10000000;
const O_DIRECT = 0o40000;

describe('timeouts', () => {
  test('attr_timeout: 0 sees a host chmod at once, 30 does not', async () => {
    for (const [attrTimeout, expectSeen] of [[0, true], [30, false]] as const) {
      const src = tmpdir();
      fs.writeFileSync(path.join(src, 'f'), 'x');
      fs.chmodSync(path.join(src, 'f'), 0o644);
      await withMount(src, { attrTimeout, entryTimeout: 30 }, {}, (m) => {
        const f = path.join(m.dir, 'f');
        assert.equal(fs.statSync(f).mode & 0o777, 0o644);
        fs.chmodSync(path.join(src, 'f'), 0o600);
        for (let i = 0; i < 3; i++) {
          assert.equal(fs.statSync(f).mode & 0o777, expectSeen ? 0o600 : 0o644, `attr_timeout=${attrTimeout}, stat ${i}`);
        }
      });
    }
  });

  test('entry_timeout: 0 sees a host unlink at once, 30 keeps the cached entry', async () => {
    for (const [entryTimeout, expectGone] of [[0, true], [30, false]] as const) {
      const src = tmpdir();
      fs.writeFileSync(path.join(src, 'f'), 'x');
      await withMount(src, { entryTimeout, attrTimeout: 30 }, {}, (m) => {
        const f = path.join(m.dir, 'f');
        fs.statSync(f);
        fs.unlinkSync(path.join(src, 'f'));
        assert.equal(errCode(() => fs.statSync(f)), expectGone ? 'ENOENT' : 'ok', `entry_timeout=${entryTimeout}`);
      });
    }
  });

  test('negative_timeout: 30 remembers a missing name (a host-side create stays unseen, a create through the mount works), 0 does not', async () => {
    for (const negativeTimeout of [0, 30]) {
      const src = tmpdir();
      await withMount(src, { negativeTimeout }, {}, (m) => {
        assert.equal(errCode(() => fs.statSync(path.join(m.dir, 'later'))), 'ENOENT');
        fs.writeFileSync(path.join(src, 'later'), 'made on the host');
        assert.equal(errCode(() => fs.statSync(path.join(m.dir, 'later'))), negativeTimeout ? 'ENOENT' : 'ok');
        // A name created through the mount replaces the remembered absence at once.
        assert.equal(errCode(() => fs.statSync(path.join(m.dir, 'mine'))), 'ENOENT');
        fs.writeFileSync(path.join(m.dir, 'mine'), 'made through the mount');
        assert.equal(fs.readFileSync(path.join(m.dir, 'mine'), 'utf8'), 'made through the mount');
        assert.equal(fs.readFileSync(path.join(src, 'mine'), 'utf8'), 'made through the mount');
      });
    }
  });

  test('dir_attr_timeout and dir_entry_timeout apply to directories only', async () => {
    const src = tmpdir();
    fs.mkdirSync(path.join(src, 'd'));
    fs.mkdirSync(path.join(src, 'e'));
    fs.writeFileSync(path.join(src, 'f'), 'x');
    fs.writeFileSync(path.join(src, 'g'), 'x');
    // Files cached for long, directories not at all.
    await withMount(src, { attrTimeout: 30, entryTimeout: 30, dirAttrTimeout: 0, dirEntryTimeout: 0 }, {}, (m) => {
      const at = (n: string): string => path.join(m.dir, n);
      for (const n of ['d', 'e', 'f', 'g']) fs.statSync(at(n));
      fs.chmodSync(path.join(src, 'd'), 0o700);
      fs.chmodSync(path.join(src, 'f'), 0o600);
      assert.equal(fs.statSync(at('d')).mode & 0o777, 0o700, 'directory attributes not cached');
      assert.equal(fs.statSync(at('f')).mode & 0o777, 0o644, 'file attributes cached');
      fs.rmdirSync(path.join(src, 'e'));
      fs.unlinkSync(path.join(src, 'g'));
      assert.equal(errCode(() => fs.statSync(at('e'))), 'ENOENT', 'directory entry not cached');
      assert.equal(errCode(() => fs.statSync(at('g'))), 'ok', 'file entry cached');
    });
    // And the other way round.
    const src2 = tmpdir();
    fs.mkdirSync(path.join(src2, 'd'));
    fs.writeFileSync(path.join(src2, 'f'), 'x');
    await withMount(src2, { attrTimeout: 0, entryTimeout: 0, dirAttrTimeout: 30, dirEntryTimeout: 30 }, {}, (m) => {
      fs.statSync(path.join(m.dir, 'd'));
      fs.statSync(path.join(m.dir, 'f'));
      fs.chmodSync(path.join(src2, 'd'), 0o700);
      fs.chmodSync(path.join(src2, 'f'), 0o600);
      assert.equal(fs.statSync(path.join(m.dir, 'd')).mode & 0o777, 0o755);
      assert.equal(fs.statSync(path.join(m.dir, 'f')).mode & 0o777, 0o600);
    });
  });

  test('dir timeouts default to the file timeouts', () => {
    const o = resolvePassthroughOptions({ source: '/', attrTimeout: 7, entryTimeout: 3 });
    assert.deepEqual([o.dirAttrTimeout, o.dirEntryTimeout], [7, 3]);
    const d = resolvePassthroughOptions({ source: '/' });
    assert.deepEqual([d.attrTimeout, d.entryTimeout, d.dirAttrTimeout, d.dirEntryTimeout], [5, 5, 5, 5]);
  });
});

describe('cache policies', () => {
  /** Reads a file through one open fd, changes it on the host (same size), reads again through the same fd and after a reopen. */
  function hostChangeSeen(m: Mounted, src: string): { sameFd: string; reopened: string } {
    fs.writeFileSync(path.join(src, 'f'), 'old contents');
    const out = py(String.raw`
import os, sys, time
fd = os.open('f', os.O_RDONLY)
a = os.pread(fd, 100, 0)
host = sys.argv[1]
st = os.stat(host)
with open(host, 'r+b') as h:
    h.write(b'NEW CONTENTS')
# Same size and mtime: no attribute change lets the kernel notice (AUTO_INVAL_DATA).
os.utime(host, ns=(st.st_atime_ns, st.st_mtime_ns))
time.sleep(0.05)
b = os.pread(fd, 100, 0)
os.close(fd)
fd = os.open('f', os.O_RDONLY); c = os.pread(fd, 100, 0); os.close(fd)
print(a.decode(), '|', b.decode(), '|', c.decode())
`.replace("sys.argv[1]", JSON.stringify(path.join(src, 'f'))), { cwd: m.dir });
    const [a, b, c] = out.split(' | ');
    assert.equal(a, 'old contents');
    return { sameFd: b!, reopened: c! };
  }

  test('cache=never (and its alias none): file data is never served from the page cache', async () => {
    for (const cache of ['never', 'none']) {
      const src = tmpdir();
      await withMount(src, { cache, attrTimeout: 30, entryTimeout: 30 }, {}, (m) => {
        assert.deepEqual(hostChangeSeen(m, src), { sameFd: 'NEW CONTENTS', reopened: 'NEW CONTENTS' });
        // Direct I/O files can still be mapped shared (DIRECT_IO_ALLOW_MMAP), as natively.
        assert.equal(py(`import os, mmap\nfd = os.open('f', os.O_RDWR)\nm = mmap.mmap(fd, 12)\nm[0:3] = b'MAP'\nm.flush(); m.close(); os.close(fd)\nprint(open('f').read())`, { cwd: m.dir }), 'MAP CONTENTS');
      });
    }
  });

  test('cache=auto without kernel passthrough: cached pages serve the open file until attributes expire', async () => {
    const src = tmpdir();
    await withMount(src, { cache: 'auto', passthrough: false, attrTimeout: 30, entryTimeout: 30 }, {}, (m) => {
      assert.deepEqual(hostChangeSeen(m, src), { sameFd: 'old contents', reopened: 'NEW CONTENTS' });
    });
  });

  test('auto_inval_data: on, an open file sees a host change of its mtime; off, it keeps its cached pages until reopened', async () => {
    const script = String.raw`
import os, sys, time
host = sys.argv[1]
fd = os.open('f', os.O_RDONLY)
a = os.pread(fd, 100, 0)
time.sleep(0.02)
with open(host, 'r+b') as h:
    h.write(b'NEW CONTENTS')   # same size, new mtime
b = os.pread(fd, 100, 0)
os.close(fd)
fd = os.open('f', os.O_RDONLY); c = os.pread(fd, 100, 0); os.close(fd)
print(a.decode(), '|', b.decode(), '|', c.decode())
`;
    for (const autoInvalData of [true, false]) {
      const src = tmpdir();
      fs.writeFileSync(path.join(src, 'f'), 'old contents');
      // attr_timeout=0: the second read refreshes the attributes first.
      await withMount(src, { autoInvalData, passthrough: false, attrTimeout: 0 }, {}, (m) => {
        assert.equal(m.agreed.includes('AUTO_INVAL_DATA'), autoInvalData);
        const out = py(script.replace('sys.argv[1]', JSON.stringify(path.join(src, 'f'))), { cwd: m.dir });
        assert.equal(out, `old contents | ${autoInvalData ? 'NEW CONTENTS' : 'old contents'} | NEW CONTENTS`, `autoInvalData=${autoInvalData}`);
      });
    }
  });

  test('cache=always (KEEP_CACHE): a host change is not seen even after a reopen within the timeout', async () => {
    const src = tmpdir();
    await withMount(src, { cache: 'always', passthrough: false, attrTimeout: 30, entryTimeout: 30 }, {}, (m) => {
      assert.deepEqual(hostChangeSeen(m, src), { sameFd: 'old contents', reopened: 'old contents' });
    });
  });

  test('cache=metadata and always cache directory listings (CACHE_DIR); auto and never do not', async () => {
    for (const [cache, cached] of [['metadata', true], ['always', true], ['auto', false], ['never', false]] as const) {
      const src = tmpdir();
      fs.writeFileSync(path.join(src, 'a'), '');
      fs.utimesSync(src, 1e9, 1e9);
      await withMount(src, { cache, attrTimeout: 30, entryTimeout: 30 }, {}, (m) => {
        assert.deepEqual(fs.readdirSync(m.dir), ['a']);
        fs.writeFileSync(path.join(src, 'b'), '');
        // Same mtime: the kernel has no reason to drop its cached listing (AUTO_INVAL_DATA).
        fs.utimesSync(src, 1e9, 1e9);
        assert.deepEqual(fs.readdirSync(m.dir).sort(), cached ? ['a'] : ['a', 'b'], `cache=${cache}`);
      });
    }
  });

  test('cache=metadata serves file data directly (DIRECT_IO)', async () => {
    const src = tmpdir();
    await withMount(src, { cache: 'metadata', attrTimeout: 30, entryTimeout: 30 }, {}, (m) => {
      assert.deepEqual(hostChangeSeen(m, src), { sameFd: 'NEW CONTENTS', reopened: 'NEW CONTENTS' });
    });
  });
});

describe('kernel passthrough, writeback, open modes', () => {
  const dataScript = String.raw`
import os, mmap, hashlib
blob = bytes((i * 7 + (i >> 8)) & 255 for i in range(3 * 1024 * 1024 + 123))
fd = os.open('data', os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
for off in range(0, len(blob), 100000):
    os.pwrite(fd, blob[off:off + 100000], off)
os.close(fd)
fd = os.open('data', os.O_RDONLY)
back = b''
while True:
    c = os.read(fd, 65536)
    if not c: break
    back += c
os.close(fd)
fd = os.open('data', os.O_RDWR); m = mmap.mmap(fd, 0); m[10:14] = b'MMAP'; m.flush(); m.close(); os.close(fd)
fd = os.open('data', os.O_WRONLY | os.O_APPEND); os.write(fd, b'TAIL'); os.close(fd)
os.truncate('data', len(blob) + 2)
want = bytearray(blob); want[10:14] = b'MMAP'; want += b'TA'
got = open('data', 'rb').read()
print(back == blob, got == bytes(want), hashlib.sha1(got).hexdigest())
`;

  test('passthrough on and off give the same, correct data', async () => {
    const hashes: string[] = [];
    for (const passthrough of [true, false]) {
      const src = tmpdir();
      await withMount(src, { passthrough }, {}, (m) => {
        assert.equal(m.agreed.includes('PASSTHROUGH'), passthrough, m.agreed.join(' '));
        const [readOk, finalOk, hash] = py(dataScript, { cwd: m.dir }).split(' ');
        assert.deepEqual([readOk, finalOk], ['True', 'True'], `passthrough=${passthrough}`);
        assert.equal(py(`import hashlib\nprint(hashlib.sha1(open('data','rb').read()).hexdigest())`, { cwd: src }), hash);
        hashes.push(hash!);
      });
    }
    assert.equal(hashes[0], hashes[1]);
  });

  test('writeback: negotiated; ignored (with a warning) with cache=never', async () => {
    const src = tmpdir();
    await withMount(src, { writeback: true }, {}, (m) => {
      assert.ok(m.agreed.includes('WRITEBACK_CACHE'));
      assert.ok(!m.agreed.includes('PASSTHROUGH'), 'the kernel refuses passthrough with writeback');
      const [readOk, finalOk] = py(dataScript, { cwd: m.dir }).split(' ');
      assert.deepEqual([readOk, finalOk], ['True', 'True']);
    });
    await withMount(tmpdir(), { writeback: true, cache: 'never' }, {}, (m) => {
      assert.ok(!m.agreed.includes('WRITEBACK_CACHE'));
    });
    const o = resolvePassthroughOptions({ source: '/', writeback: true, cache: 'never' });
    assert.equal(o.writeback, false);
    assert.match(o.warnings.join('\n'), /writeback/);
  });

  /** Holds 40 files (or directories) open through the mount in a child; returns how many daemon fds that cost. */
  async function fdsWhileHeld(m: Mounted, dirs: boolean): Promise<number> {
    for (let i = 0; i < 40; i++) {
      if (dirs) fs.mkdirSync(path.join(m.dir, `d${i}`));
      else fs.writeFileSync(path.join(m.dir, `f${i}`), `content ${i}`);
    }
    const before = fs.readdirSync('/proc/self/fd').length;
    const p = spawn('python3', ['-c', `import os, sys\nfds = [os.open('${dirs ? 'd' : 'f'}%d' % i, os.O_RDONLY) for i in range(40)]\nprint('held', flush=True)\nsys.stdin.read(1)`], { cwd: m.dir, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        p.stdout!.on('data', (d: Buffer) => (d.toString().includes('held') ? resolve() : undefined));
        p.on('exit', () => reject(new Error('holder exited early')));
      });
      return fs.readdirSync('/proc/self/fd').length - before;
    } finally {
      p.stdin!.end('x');
      await new Promise((r) => p.on('close', r));
    }
  }

  test('no_open: files work without OPEN (no daemon fd per open file); needs cache=always', async () => {
    const src = tmpdir();
    await withMount(src, { noOpen: true, cache: 'always' }, {}, async (m) => {
      const [readOk, finalOk] = py(dataScript, { cwd: m.dir }).split(' ');
      assert.deepEqual([readOk, finalOk], ['True', 'True']);
      const r = sh(`printf 'a\\n' > g; printf 'b\\n' >> g; cat g; : > g; wc -c < g`, { cwd: m.dir });
      assert.equal(r.stdout, 'a\nb\n0\n', r.stderr);
      // A created file still open can be opened again, and copy_file_range works.
      assert.equal(py(`import os\na = os.open('new', os.O_RDWR | os.O_CREAT, 0o644)\nos.write(a, b'12345')\nb = os.open('new', os.O_RDONLY)\nc = os.open('copy', os.O_WRONLY | os.O_CREAT, 0o644)\nprint(os.read(b, 5).decode(), os.copy_file_range(b, c, 5, 0))`, { cwd: m.dir }), '12345 5');
      assert.equal(fs.readFileSync(path.join(src, 'copy'), 'utf8'), '12345');
      assert.ok((await fdsWhileHeld(m, false)) <= 2, 'no daemon fd per open file');
    });
    await withMount(tmpdir(), {}, {}, async (m) => {
      assert.ok((await fdsWhileHeld(m, false)) >= 40, 'without no_open every open file costs a daemon fd');
    });
    const o = resolvePassthroughOptions({ source: '/', noOpen: true });
    assert.equal(o.noOpen, false);
    assert.match(o.warnings.join('\n'), /no_open/);
  });

  test('no_opendir: directories list completely without OPENDIR (no daemon fd per open directory); needs cache=metadata or always', async () => {
    const src = tmpdir();
    fs.mkdirSync(path.join(src, 'big'));
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(src, 'big', `e${i}`), '');
    await withMount(src, { noOpendir: true, cache: 'metadata' }, {}, async (m) => {
      const names = fs.readdirSync(path.join(m.dir, 'big'));
      assert.equal(names.length, 3000);
      assert.equal(new Set(names).size, 3000);
      const r = sh('ls -la big | wc -l; find . | wc -l', { cwd: m.dir });
      assert.equal(r.stdout, '3003\n3002\n', r.stderr);
      assert.ok((await fdsWhileHeld(m, true)) <= 2, 'no daemon fd per open directory');
    });
    await withMount(tmpdir(), {}, {}, async (m) => {
      assert.ok((await fdsWhileHeld(m, true)) >= 40);
    });
  });

  test('no_opendir without cache=metadata or always is turned off, so that a listing shows what the host just changed', async () => {
    // Without OPENDIR the kernel keeps listings (FOPEN_CACHE_DIR) while the
    // directory's mtime it holds is unchanged: a name the host creates would
    // be missing from listings until the directory's attributes expire.
    const o = resolvePassthroughOptions({ source: '/', noOpendir: true });
    assert.equal(o.noOpendir, false);
    assert.match(o.warnings.join('\n'), /no_opendir only works with cache=metadata or cache=always/);
    for (const cache of ['metadata', 'always'] as const) assert.equal(resolvePassthroughOptions({ source: '/', noOpendir: true, cache }).noOpendir, true);
    const src = tmpdir();
    fs.mkdirSync(path.join(src, 'd'));
    fs.writeFileSync(path.join(src, 'd', 'a'), '');
    await withMount(src, { noOpendir: true }, {}, async (m) => {
      // Listed twice (the second from the kernel's cache, were there one), then a name made on the host.
      const out = py(`import os\nd = ${JSON.stringify(path.join(m.dir, 'd'))}\nfor _ in range(2): os.listdir(d)\nopen(${JSON.stringify(path.join(src, 'd', 'b'))}, 'w').close()\nprint(sorted(os.listdir(d)))`);
      assert.equal(out, "['a', 'b']");
      assert.ok((await fdsWhileHeld(m, true)) >= 40, 'directories are opened (OPENDIR), no_opendir is off');
    });
  });

  test('no_readdir: listings are empty (not an error)', async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'a'), 'A');
    await withMount(src, { noReaddir: true }, {}, (m) => {
      assert.deepEqual(fs.readdirSync(m.dir), []);
      assert.equal(fs.readFileSync(path.join(m.dir, 'a'), 'utf8'), 'A');
    });
  });

  test('readdirplus auto, always and never: 1,500 entries of every type listed with their native types and attributes, twice', async () => {
    const src = tmpdir();
    // Enough entries for several reads of 32 KiB (glibc's getdents buffer), so that later reads carry attributes only with 'always'.
    py(`
import os
os.chdir(${JSON.stringify(src)})
for i in range(1400):
    n = 'file-%04d' % i
    with open(n, 'wb') as f: f.write(b'x' * (i % 97))
    os.chmod(n, 0o600 | (i % 8) << 3)
    os.utime(n, ns=(1_600_000_000_123_456_789 + i, 1_600_000_000_987_654_321 + i * 1000))
for i in range(50): os.mkdir('dir-%02d' % i, 0o700 + i % 8)
for i in range(49): os.symlink('file-%04d' % i, 'link-%02d' % i)
os.mkfifo('fifo', 0o640)
os.link('file-0001', 'hardlink')
`);
    const listing = (dir: string) => py(`
import os, hashlib
out = []
with os.scandir(${JSON.stringify(dir)}) as it:
    for e in it:
        st = e.stat(follow_symlinks=False)
        kind = 'd' if e.is_dir(follow_symlinks=False) else 'l' if e.is_symlink() else 'f' if e.is_file(follow_symlinks=False) else 'o'
        out.append((e.name, kind, st.st_mode, st.st_size, st.st_nlink, st.st_uid, st.st_gid, st.st_mtime_ns))
out.sort()
print(len(out), hashlib.sha256(repr(out).encode()).hexdigest(), out[0], out[-1])
`);
    const native = listing(src);
    assert.match(native, /^1501 /);
    for (const readdirplus of ['auto', 'always', 'never'] as const) {
      await withMount(src, { readdirplus }, {}, (m) => {
        assert.equal(m.agreed.includes('DO_READDIRPLUS'), readdirplus !== 'never', readdirplus);
        assert.equal(m.agreed.includes('READDIRPLUS_AUTO'), readdirplus === 'auto', readdirplus);
        assert.equal(listing(m.dir), native, `${readdirplus}: first listing`);
        // Again, with the kernel now holding every entry.
        assert.equal(listing(m.dir), native, `${readdirplus}: second listing`);
      });
    }
    assert.throws(() => resolvePassthroughOptions({ source: src, readdirplus: 'sometimes' as never }), /^OptionError: readdirplus: expected auto, always or never, got "sometimes"$/);
  });

  test('listings pass on the host\'s names, d_off and d_type byte for byte: names of every length, small getdents buffers, seeks to any d_off', async () => {
    const src = tmpdir();
    // Every name length 1-255 in a mixed order, so that a record lands where
    // a longer one was in a reused buffer, and short names between them.
    const names: string[] = [];
    for (let len = 1; len <= 255; len++) names.push(String.fromCharCode(97 + (len % 26)).repeat(len));
    for (let i = 0; i < 600; i++) names.push(`s${i}`);
    for (let i = names.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [names[i], names[j]] = [names[j]!, names[i]!];
    }
    names.forEach((n, i) => (i % 5 === 0 ? fs.mkdirSync(path.join(src, n)) : i % 5 === 1 ? fs.symlinkSync('t', path.join(src, n)) : fs.writeFileSync(path.join(src, n), '')));
    type Rec = { name: string; off: bigint; type: number; ino: bigint };
    /** The records getdents64 gives from `start` (a d_off) on, read `size` bytes at a time. */
    const records = (dir: string, size: number, start = 0n): Rec[] => {
      const fd = sys.openat(sys.AT_FDCWD, dir, sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
      assert.ok(fd >= 0, sys.errnoName(fd));
      try {
        if (start !== 0n) assert.equal(sys.lseek(fd, start, sys.SEEK_SET), start);
        const buf = Buffer.alloc(size, 0xff);
        const out: Rec[] = [];
        for (;;) {
          const n = sys.getdents64(fd, buf, size);
          assert.ok(n >= 0, sys.errnoName(n));
          if (n === 0) return out;
          for (const d of sys.dirents(buf, n)) out.push({ name: d.name.toString('latin1'), off: d.off, type: d.type, ino: d.ino });
        }
      } finally {
        sys.close(fd);
      }
    };
    const strip = (rs: Rec[]) => rs.map(({ name, off, type }) => ({ name, off, type }));
    const native = records(src, 32768);
    assert.equal(native.length, names.length + 2);
    // A directory of short names, listed after the root: its handle gets the
    // buffer a closed handle left (full of long names), and must not show them.
    const sub = names[0]!;
    for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(src, sub, `t${i}`), '');
    const nativeSub = records(path.join(src, sub), 32768);
    for (const readdirplus of ['auto', 'always', 'never'] as const) {
      await withMount(src, { readdirplus }, {}, (m) => {
        // 32 KiB (glibc's size), 280 bytes (one 255-byte name), twice: the
        // second listing finds every entry known (and, within the
        // timeouts, fresh: listed without attributes).
        for (const size of [32768, 280, 32768]) {
          const got = records(m.dir, size);
          assert.deepEqual(strip(got), strip(native), `${readdirplus}, ${size}-byte reads`);
          for (const r of got) if (r.name !== '..') assert.equal(r.ino, fs.lstatSync(path.join(m.dir, r.name), { bigint: true }).ino, `${readdirplus}: d_ino of ${r.name.slice(0, 20)}`);
        }
        // Resuming at any entry's d_off gives the rest, as natively.
        for (const k of [1, 137, 500, native.length - 2]) {
          const at = native[k]!.off;
          assert.deepEqual(strip(records(m.dir, 4096, at)), strip(native.slice(k + 1)), `${readdirplus}: from the d_off of entry ${k}`);
        }
        assert.deepEqual(strip(records(path.join(m.dir, sub), 32768)), strip(nativeSub), `${readdirplus}: a directory of short names listed after long ones`);
      });
    }
  });

  test('seal_size: size changes refused with EPERM, also with writeback asked for (turned off)', async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'f'), '0123');
    await withMount(src, { sealSize: true, writeback: true }, {}, (m) => {
      assert.ok(!m.agreed.includes('WRITEBACK_CACHE'));
      assert.equal(errCode(() => fs.truncateSync(path.join(m.dir, 'f'), 1)), 'EPERM');
      assert.equal(errCode(() => fs.appendFileSync(path.join(m.dir, 'f'), 'x')), 'EPERM');
      const fd = fs.openSync(path.join(m.dir, 'f'), 'r+');
      fs.writeSync(fd, 'AB', 0);
      fs.closeSync(fd);
      assert.equal(fs.readFileSync(path.join(src, 'f'), 'utf8'), 'AB23');
    });
  });

  test('allow_direct_io: on keeps O_DIRECT on the host fd, off strips it (unaligned direct writes then work)', async () => {
    for (const [allowDirectIo, passthrough] of [[true, false], [false, false], [true, true], [false, true]] as const) {
      const src = tmpdir();
      fs.writeFileSync(path.join(src, 'f'), '');
      await withMount(src, { allowDirectIo, passthrough }, {}, async (m) => {
            const p = spawn('python3', ['-c', String.raw`
import os, sys, errno
fd = os.open('f', os.O_RDWR | os.O_DIRECT)
print('open', flush=True)
sys.stdin.read(1)
try:
    print(os.pwrite(fd, b'unaligned', 3), flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
`], { cwd: m.dir, stdio: ['pipe', 'pipe', 'inherit'] });
        let out = '';
        await new Promise<void>((resolve) => p.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('open')) resolve();
        }));
        const flags = daemonFdFlags(path.join(src, 'f')).filter((f) => !(f & O_PATH));
        p.stdin!.end('x');
        await new Promise((r) => p.on('close', r));
        const what = `allow_direct_io=${allowDirectIo} passthrough=${passthrough}`;
        assert.equal(flags.length, 1, `one daemon fd for the open file: ${flags.map((f) => f.toString(8))} (${what})`);
        assert.equal(!!(flags[0]! & O_DIRECT), allowDirectIo, `host fd flags ${flags[0]!.toString(8)} (${what})`);
        assert.equal(out.split('\n')[1], allowDirectIo ? 'EINVAL' : '9', what);
      });
    }
  });

  test('use_mmap and max_mmap_size are accepted and data stays correct; bad values are refused', async () => {
    const src = tmpdir();
    await withMount(src, { useMmap: true, maxMmapSize: 1 << 20 }, {}, (m) => {
      const [readOk, finalOk] = py(dataScript, { cwd: m.dir }).split(' ');
      assert.deepEqual([readOk, finalOk], ['True', 'True']);
    });
    assert.throws(() => resolvePassthroughOptions({ source: '/', maxMmapSize: -1 }), OptionError);
    assert.throws(() => resolvePassthroughOptions({ source: '/', bogus: 1 } as never), /unknown option 'bogus'/);
    assert.throws(() => resolvePassthroughOptions({ source: '/', cache: 'sometimes' as never }), /cache/);
  });
});

describe('xattr and killpriv_v2', () => {
  test('xattr=off: every xattr call is EOPNOTSUPP to the client; on: they work', async () => {
    const script = String.raw`
import os, errno
def T(f, *a):
    try:
        r = f(*a); return 'ok' if r is None else r
    except OSError as e:
        return errno.errorcode[e.errno]
open('f', 'w').close()
print([T(os.setxattr, 'f', 'user.a', b'1'), T(os.getxattr, 'f', 'user.a'), T(os.listxattr, 'f'), T(os.removexattr, 'f', 'user.a'), T(os.setxattr, 'f', 'user.b', b'2')])
`;
    await withMount(tmpdir(), { xattr: false }, {}, (m) => {
      assert.equal(py(script, { cwd: m.dir }), "['ENOTSUP', 'ENOTSUP', 'ENOTSUP', 'ENOTSUP', 'ENOTSUP']");
    });
    await withMount(tmpdir(), {}, {}, (m) => {
      assert.equal(py(script, { cwd: m.dir }), "['ok', b'1', ['user.a'], 'ok', 'ok']");
    });
  });

  test('a write strips security.capability, with and without passthrough; getxattr on an open file answers like on a closed one', async () => {
    // VFS_CAP_REVISION_2 with the effective bit: CAP_NET_BIND_SERVICE permitted.
    const cap = Buffer.from([0x01, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (const passthrough of [true, false]) {
      const src = tmpdir();
      const host = path.join(src, 'f');
      fs.writeFileSync(host, 'data');
      await withMount(src, { passthrough }, {}, (m) => {
        const out = py(String.raw`
import os, errno, sys
cap = bytes.fromhex(sys.argv[1]); host = sys.argv[2]
os.setxattr(host, 'security.capability', cap)
os.setxattr(host, 'user.k', b'v')
def G(name):
    try: return os.getxattr('f', name).hex()
    except OSError as e: return errno.errorcode[e.errno]
closed = [G('security.capability'), G('user.k'), G('user.none')]
fd = os.open('f', os.O_WRONLY)
opened = [G('security.capability'), G('user.k'), G('user.none')]
os.pwrite(fd, b'DATA', 0)
os.close(fd)
try: left = os.getxattr(host, 'security.capability').hex()
except OSError as e: left = errno.errorcode[e.errno]
print(closed == opened, opened, left, open(host).read())
`.replace('sys.argv[1]', JSON.stringify(cap.toString('hex'))).replace('sys.argv[2]', JSON.stringify(host)), { cwd: m.dir });
        assert.equal(out, `True ['${cap.toString('hex')}', '76', 'ENODATA'] ENODATA DATA`, `passthrough=${passthrough}`);
      });
    }
  });

  test('killpriv_v2: negotiated; writes, truncates, O_TRUNC and chown by others clear set-id bits as natively', async () => {
    const script = String.raw`
import os, pwd
def setup(n, m, owner=(0, 0), data='data'):
    open(n, 'w').write(data); os.chown(n, *owner); os.chmod(n, m)
def as_u1(f):
    pid = os.fork()
    if pid == 0:
        os.setgroups([1000]); os.setgid(1000); os.setuid(1000)
        try: f()
        finally: os._exit(0)
    os.waitpid(pid, 0)
def wr(n, flags=os.O_WRONLY):
    fd = os.open(n, flags); os.write(fd, b'x'); os.close(fd)
res = {}
setup('w', 0o6777); as_u1(lambda: wr('w')); res['write_other'] = oct(os.stat('w').st_mode & 0o7777)
setup('g', 0o6767); as_u1(lambda: wr('g')); res['write_sgid_nogx'] = oct(os.stat('g').st_mode & 0o7777)
setup('r', 0o6777); wr('r'); res['write_root'] = oct(os.stat('r').st_mode & 0o7777)
setup('t', 0o6777); as_u1(lambda: os.truncate('t', 1)); res['truncate_other'] = oct(os.stat('t').st_mode & 0o7777)
setup('o', 0o6777); as_u1(lambda: os.close(os.open('o', os.O_WRONLY | os.O_TRUNC))); res['otrunc_other'] = oct(os.stat('o').st_mode & 0o7777)
setup('c', 0o6755); os.chown('c', 1000, 1000); res['chown_root'] = oct(os.stat('c').st_mode & 0o7777)
# 2 MiB: the passthrough truncates these apart from the open (then again as the caller).
setup('ob', 0o6777, data='b' * (2 << 20)); as_u1(lambda: os.close(os.open('ob', os.O_WRONLY | os.O_TRUNC))); res['otrunc_big_other'] = oct(os.stat('ob').st_mode & 0o7777)
setup('obr', 0o6777, data='b' * (2 << 20)); os.close(os.open('obr', os.O_WRONLY | os.O_TRUNC)); res['otrunc_big_root'] = oct(os.stat('obr').st_mode & 0o7777)
print(sorted(res.items()))
`;
    const native = tmpdir();
    const want = py(script, { cwd: native });
    assert.equal(want, "[('chown_root', '0o755'), ('otrunc_big_other', '0o777'), ('otrunc_big_root', '0o6777'), ('otrunc_other', '0o777'), ('truncate_other', '0o777'), ('write_other', '0o777'), ('write_root', '0o6777'), ('write_sgid_nogx', '0o767')]");
    for (const killprivV2 of [true, false]) {
      for (const passthrough of [true, false]) {
        const src = tmpdir();
        await withMount(src, { killprivV2, passthrough }, { allowOther: true }, (m) => {
          assert.equal(m.agreed.includes('HANDLE_KILLPRIV_V2'), killprivV2);
          assert.equal(py(script, { cwd: m.dir }), want, `killpriv_v2=${killprivV2} passthrough=${passthrough}`);
        });
      }
    }
  });
});

describe('inode numbers and id mapping', () => {
  test('use_host_ino: st_ino = device id << 47 | host inode, root is 1; off: numbers from 2 up', async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'a'), '');
    fs.mkdirSync(path.join(src, 'd'));
    fs.writeFileSync(path.join(src, 'd', 'b'), '');
    await withMount(src, { useHostIno: true }, {}, (m) => {
      assert.equal(fs.statSync(m.dir, { bigint: true }).ino, 1n);
      for (const n of ['a', 'd', 'd/b']) {
        const host = fs.statSync(path.join(src, n), { bigint: true }).ino;
        assert.equal(fs.statSync(path.join(m.dir, n), { bigint: true }).ino, (1n << 47n) | host, n);
      }
      // readdir's d_ino agrees.
      const out = py(`import os\nprint(all(e.inode() == os.lstat(e.path).st_ino for e in os.scandir('d')))`, { cwd: m.dir });
      assert.equal(out, 'True');
    });
    await withMount(src, {}, {}, (m) => {
      assert.equal(fs.statSync(m.dir, { bigint: true }).ino, 1n);
      const inos = ['a', 'd', 'd/b'].map((n) => fs.statSync(path.join(m.dir, n), { bigint: true }).ino);
      for (const i of inos) assert.ok(i >= 2n && i < 100n, `small allocated number ${i}`);
      assert.equal(new Set(inos).size, 3);
      assert.deepEqual(['a', 'd', 'd/b'].map((n) => fs.statSync(path.join(m.dir, n), { bigint: true }).ino), inos, 'stable while mapped');
    });
  });

  test('uidmapping/gidmapping: attributes, creation, chown; unmapped ids become the overflow id', async () => {
    const src = tmpdir();
    fs.chmodSync(src, 0o777);
    const mk = (n: string, uid: number, gid: number): void => {
      fs.writeFileSync(path.join(src, n), n);
      fs.chownSync(path.join(src, n), uid, gid);
    };
    mk('mapped', 2003, 3004);
    mk('unmapped', 1000, 1000);
    mk('root', 0, 0);
    mk('private', 2001, 3001);
    fs.chmodSync(path.join(src, 'private'), 0o600);
    const opts = { uidmapping: '0:0:1:2000:1000:10', gidmapping: '0:0:1:3000:1000:10' };
    for (const dp of [false, true]) {
      await withMount(src, { ...opts, defaultPermissions: dp }, { allowOther: true, defaultPermissions: dp }, (m) => {
        const ids = (n: string): number[] => {
          const st = fs.lstatSync(path.join(m.dir, n));
          return [st.uid, st.gid];
        };
        const host = (n: string): number[] => {
          const st = fs.lstatSync(path.join(src, n));
          return [st.uid, st.gid];
        };
        assert.deepEqual(ids('mapped'), [1003, 1004]);
        assert.deepEqual(ids('unmapped'), [65534, 65534]);
        assert.deepEqual(ids('root'), [0, 0]);
        // Creation by client root and by client 1001.
        const tag = dp ? 'dp' : 'plain';
        fs.writeFileSync(path.join(m.dir, `byroot-${tag}`), 'x');
        assert.deepEqual(host(`byroot-${tag}`), [0, 0]);
        let r = sh(`echo x > by1001-${tag} && mkdir dir1001-${tag} && cat private`, { cwd: m.dir, uid: 1001, gid: 1001 });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, 'private', 'client 1001 is host 2001, the owner');
        assert.deepEqual(host(`by1001-${tag}`), [2001, 3001]);
        assert.deepEqual(host(`dir1001-${tag}`), [2001, 3001]);
        assert.deepEqual(ids(`by1001-${tag}`), [1001, 1001]);
        r = sh('cat private', { cwd: m.dir, uid: 1002, gid: 1002 });
        assert.notEqual(r.status, 0, 'client 1002 (host 2002) may not read it');
        // chown through the mapping, and to an unmapped id.
        fs.chownSync(path.join(m.dir, `byroot-${tag}`), 1005, 1006);
        assert.deepEqual(host(`byroot-${tag}`), [2005, 3006]);
        assert.deepEqual(ids(`byroot-${tag}`), [1005, 1006]);
        fs.chownSync(path.join(m.dir, `byroot-${tag}`), 5000, -1);
        assert.deepEqual(host(`byroot-${tag}`), [65534, 3006]);
        assert.deepEqual(ids(`byroot-${tag}`), [65534, 1006]);
        // An unmapped caller creates as the overflow id.
        r = sh(`echo y > by1500-${tag}`, { cwd: m.dir, uid: 1500, gid: 1500 });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(host(`by1500-${tag}`), [65534, 65534]);
      });
    }
  });

  test('bad mappings are clear errors', () => {
    assert.throws(() => resolvePassthroughOptions({ source: '/', uidmapping: '1:2:0' }), /length 0/);
    assert.throws(() => resolvePassthroughOptions({ source: '/', uidmapping: '1:2' }), /triples/);
    assert.throws(() => resolvePassthroughOptions({ source: '/', gidmapping: 'a:b:c' }), /gidmapping/);
  });
});
