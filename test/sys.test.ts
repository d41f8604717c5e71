// Tests of the sys layer against the real kernel, on real files in a fresh
// temporary directory. Needs root (chown, mknod, trusted.* xattrs, handles).
// Run: node --import tsx --test test/sys.test.ts

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as sys from '../src/sys/index.js';

const E = sys.E;
let dir = '';
let dfd = -1;

before(() => {
  dir = fs.mkdtempSync(os.tmpdir() + '/tsfuse-sys-');
  dfd = sys.open(dir, sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
  assert.ok(dfd >= 0);
});

after(() => {
  sys.close(dfd);
  fs.rmSync(dir, { recursive: true, force: true });
});

const p = (name: string): string => path.join(dir, name);

/** Opens (creating) a file in the test dir, read-write. */
function mkfile(name: string, content: string | Buffer = ''): number {
  fs.writeFileSync(p(name), content);
  const fd = sys.openat(dfd, name, sys.O_RDWR | sys.O_CLOEXEC);
  assert.ok(fd >= 0, `open ${name}: ${sys.errnoName(fd)}`);
  return fd;
}

function statusLine(prefix: string): string {
  return fs
    .readFileSync('/proc/thread-self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(prefix))!
    .split(/\s+/)
    .slice(1)
    .join(' ')
    .trim();
}

// Runs `body` (JS, may use `sys`, `fs`, `status(prefix)`, and must `return` a
// value) in a worker_threads Worker with the sys layer loaded there. Node 20
// does not pass tsx's loader hooks on to workers, so the worker registers tsx
// itself before importing the TypeScript sources.
function inWorker(body: string): Promise<unknown> {
  const req = createRequire(import.meta.url);
  const tsxApi = pathToFileURL(req.resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
  const sysUrl = new URL('../src/sys/index.ts', import.meta.url).href;
  const src = `
    import { parentPort } from 'node:worker_threads';
    import * as fs from 'node:fs';
    const { register } = await import(${JSON.stringify(tsxApi)});
    register();
    const sys = await import(${JSON.stringify(sysUrl)});
    const status = (prefix) => fs.readFileSync('/proc/thread-self/status', 'utf8')
      .split('\\n').find((l) => l.startsWith(prefix)).split(/\\s+/).slice(1).join(' ').trim();
    const result = await (async () => { ${body} })();
    parentPort.postMessage(result);
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(src)));
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

describe('errno', () => {
  it('E matches os.constants.errno', () => {
    const osE = os.constants.errno as Record<string, number>;
    for (const [name, num] of Object.entries(E)) {
      if (osE[name] !== undefined) assert.equal(num, osE[name], name);
    }
    assert.equal(E.ENOTSUP, E.EOPNOTSUPP);
    assert.equal(E.EWOULDBLOCK, E.EAGAIN);
  });

  it('errnoName, strerror, check, SysError', () => {
    assert.equal(sys.errnoName(2), 'ENOENT');
    assert.equal(sys.errnoName(-2), 'ENOENT');
    assert.equal(sys.errnoName(11), 'EAGAIN');
    assert.equal(sys.errnoName(95), 'EOPNOTSUPP');
    assert.equal(sys.strerror(2), 'No such file or directory');
    assert.equal(sys.check(5, 'x'), 5);
    assert.equal(sys.check(5n, 'x'), 5n);
    assert.throws(
      () => sys.check(sys.openat(dfd, 'foo', sys.O_RDONLY), 'openat(foo)'),
      (e: unknown) =>
        e instanceof sys.SysError &&
        e.errno === E.ENOENT &&
        e.code === 'ENOENT' &&
        e.message === 'openat(foo): ENOENT (No such file or directory)',
    );
  });
});

describe('open, close, read, write', () => {
  it('openat/open/close and their errnos', () => {
    assert.equal(sys.openat(dfd, 'missing', sys.O_RDONLY), -E.ENOENT);
    assert.equal(sys.open(p('missing'), sys.O_RDONLY), -E.ENOENT);
    const fd = sys.openat(dfd, 'created', sys.O_CREAT | sys.O_EXCL | sys.O_WRONLY | sys.O_CLOEXEC, 0o640);
    assert.ok(fd >= 0);
    assert.equal(fs.statSync(p('created')).mode & 0o777, 0o640 & ~process.umask());
    assert.equal(sys.openat(dfd, 'created', sys.O_CREAT | sys.O_EXCL | sys.O_WRONLY, 0o600), -E.EEXIST);
    assert.equal(sys.openat(dfd, 'created/x', sys.O_RDONLY), -E.ENOTDIR);
    assert.equal(sys.close(fd), 0);
    assert.equal(sys.close(fd), -E.EBADF);
    assert.equal(sys.close(-1), -E.EBADF);
    const fd2 = sys.open(p('created'), sys.O_RDONLY | sys.O_CLOEXEC);
    assert.ok(fd2 >= 0);
    assert.equal(sys.close(fd2), 0);
    assert.equal(sys.open(p('x'), sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CREAT, 0o600), -E.EINVAL);
  });

  it('preadFlags: preadv2 into a buffer at an offset; RWF_NOWAIT reads page-cache data; bad ranges throw', () => {
    const data = Buffer.from('0123456789abcdef'.repeat(8192));
    fs.writeFileSync(p('pv2'), data); // just written: in the page cache
    const fd = sys.open(p('pv2'), sys.O_RDONLY | sys.O_CLOEXEC);
    assert.ok(fd >= 0);
    const buf = Buffer.alloc(70000, 0x2e);
    assert.equal(sys.preadFlags(fd, buf, 65536, 16n, sys.RWF_NOWAIT, 100), 65536);
    assert.ok(buf.subarray(100, 100 + 65536).equals(data.subarray(16, 16 + 65536)));
    assert.equal(buf[99], 0x2e);
    assert.equal(buf[100 + 65536], 0x2e);
    assert.equal(sys.preadFlags(fd, buf, 10, BigInt(data.length), 0), 0);
    assert.throws(() => sys.preadFlags(fd, buf, 10, 0n, 0, 69995), RangeError);
    assert.equal(sys.close(fd), 0);
    assert.equal(sys.preadFlags(fd, buf, 10, 0n, 0), -E.EBADF);
  });

  it('raw-byte Buffer names, NUL checks', () => {
    const raw = Buffer.from([0x72, 0x61, 0x77, 0xff, 0x80, 0x01]); // not UTF-8
    const fd = sys.openat(dfd, raw, sys.O_CREAT | sys.O_WRONLY | sys.O_CLOEXEC, 0o600);
    assert.ok(fd >= 0, sys.errnoName(fd));
    sys.close(fd);
    const names = fs.readdirSync(dir, { encoding: 'buffer' });
    assert.ok(names.some((n) => n.equals(raw)));
    // A Buffer that is already NUL-terminated is accepted too.
    const fd2 = sys.openat(dfd, Buffer.concat([raw, Buffer.from([0])]), sys.O_RDONLY | sys.O_CLOEXEC);
    assert.ok(fd2 >= 0);
    sys.close(fd2);
    // Embedded NULs would truncate the name in C: refused.
    assert.equal(sys.openat(dfd, 'raw\0x', sys.O_RDONLY), -E.EINVAL);
    assert.equal(sys.openat(dfd, Buffer.from('raw\0x'), sys.O_RDONLY), -E.EINVAL);
    assert.equal(sys.openat(dfd, Buffer.alloc(5000, 0x61), sys.O_RDONLY), -E.ENAMETOOLONG);
    // A long name copied through the native path (>= 128 bytes).
    const long = Buffer.alloc(200, 0x62);
    const fd3 = sys.openat(dfd, long, sys.O_CREAT | sys.O_WRONLY | sys.O_CLOEXEC, 0o600);
    assert.ok(fd3 >= 0);
    sys.close(fd3);
    assert.ok(fs.existsSync(p('b'.repeat(200))));
    assert.equal(sys.unlinkat(dfd, long), 0);
    assert.equal(sys.unlinkat(dfd, raw), 0);
  });

  it('openat2 resolve flags', () => {
    fs.mkdirSync(p('o2'));
    fs.writeFileSync(p('o2/file'), 'x');
    fs.symlinkSync('file', p('o2/link'));
    const sub = sys.openat(dfd, 'o2', sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
    const fd = sys.openat2(sub, 'file', sys.O_RDONLY | sys.O_CLOEXEC, 0, sys.RESOLVE_BENEATH);
    assert.ok(fd >= 0);
    sys.close(fd);
    assert.equal(sys.openat2(sub, '../created', sys.O_RDONLY, 0, sys.RESOLVE_BENEATH), -E.EXDEV);
    assert.equal(sys.openat2(sub, 'link', sys.O_RDONLY, 0, sys.RESOLVE_NO_SYMLINKS), -E.ELOOP);
    assert.equal(sys.openat2(sub, 'file', sys.O_RDONLY, 0, 0x80000), -E.EINVAL); // unknown resolve bit
    sys.close(sub);
  });

  it('read/write/pread/pwrite with buffer offsets', () => {
    const fd = mkfile('rw');
    const src = Buffer.from('xxhello world');
    assert.equal(sys.write(fd, src, 11, 2), 11);
    assert.equal(sys.pwrite(fd, Buffer.from('HELLO'), 5, 0), 5);
    assert.equal(sys.pwrite(fd, Buffer.from('!'), 1, 11n), 1);
    assert.equal(fs.readFileSync(p('rw'), 'utf8'), 'HELLO world!');
    const buf = Buffer.alloc(16, 0x2e);
    assert.equal(sys.pread(fd, buf, 5, 6, 3), 5);
    assert.equal(buf.toString('latin1', 0, 9), '...world.');
    assert.equal(sys.pread(fd, buf, 16, 100n), 0); // EOF
    assert.equal(sys.lseek(fd, 0, sys.SEEK_SET), 0n);
    assert.equal(sys.read(fd, buf, 16), 12);
    assert.equal(buf.toString('latin1', 0, 12), 'HELLO world!');
    assert.equal(sys.read(-1, buf, 1), -E.EBADF);
    assert.equal(sys.write(-1, buf, 1), -E.EBADF);
    assert.equal(sys.pread(fd, buf, 1, -1), -E.EINVAL);
    // Out-of-range buffer use is a bug: RangeError before the kernel sees it.
    assert.throws(() => sys.read(fd, buf, 17), RangeError);
    assert.throws(() => sys.pread(fd, buf, 8, 0, 9), RangeError);
    sys.close(fd);
    const ro = sys.openat(dfd, 'rw', sys.O_RDONLY | sys.O_CLOEXEC);
    assert.equal(sys.write(ro, buf, 1), -E.EBADF);
    sys.close(ro);
  });

  it('writev/readv/pwritev/preadv', () => {
    const fd = mkfile('vec');
    const big = Buffer.from('0123456789');
    const bufs = [Buffer.from('ab'), Buffer.alloc(0), big.subarray(3, 6), Buffer.from('Z')];
    assert.equal(sys.writev(fd, bufs), 6);
    assert.equal(sys.writev(fd, [Buffer.from('!')]), 1);
    assert.equal(sys.writev(fd, []), 0);
    assert.equal(fs.readFileSync(p('vec'), 'utf8'), 'ab345Z!');
    assert.equal(sys.pwritev(fd, [Buffer.from('A'), Buffer.from('B')], 0n), 2);
    const a = Buffer.alloc(3);
    const b = Buffer.alloc(10);
    assert.equal(sys.preadv(fd, [a, b], 1), 6);
    assert.equal(a.toString(), 'B34');
    assert.equal(b.toString('latin1', 0, 3), '5Z!');
    sys.lseek(fd, 0, sys.SEEK_SET);
    const c = Buffer.alloc(2);
    assert.equal(sys.readv(fd, [c, a]), 5);
    assert.equal(c.toString() + a.toString(), 'AB345');
    assert.equal(sys.writev(-1, bufs), -E.EBADF);
    assert.equal(sys.writev(fd, new Array(sys.IOV_MAX + 1).fill(c)), -E.EINVAL);
    sys.close(fd);
    // Large gathers go through a real iovec (small ones are coalesced).
    const fd2 = mkfile('vec-big');
    const parts = [Buffer.alloc(10, 0x61), Buffer.alloc(0), Buffer.alloc(40000, 0x62).subarray(5, 30005), Buffer.alloc(3, 0x63)];
    assert.equal(sys.writev(fd2, parts), 30013);
    assert.ok(fs.readFileSync(p('vec-big')).equals(Buffer.concat(parts)));
    const many = Array.from({ length: sys.IOV_MAX }, (_, i) => Buffer.alloc(20, i & 0xff));
    assert.equal(sys.pwritev(fd2, many, 0), 20 * sys.IOV_MAX);
    assert.ok(fs.readFileSync(p('vec-big')).subarray(0, 20 * sys.IOV_MAX).equals(Buffer.concat(many)));
    assert.equal(sys.writev(-1, parts), -E.EBADF);
    sys.close(fd2);
  });
});

describe('stat', () => {
  it('statx matches fs.lstatSync', () => {
    const fd = mkfile('st', 'some content');
    sys.close(fd);
    fs.symlinkSync('st', p('st-link'));
    const out = Buffer.alloc(sys.STATX_BUF_SIZE);
    for (const name of ['st', 'st-link', '.']) {
      assert.equal(sys.statx(dfd, name, sys.AT_SYMLINK_NOFOLLOW, sys.STATX_BASIC_STATS | sys.STATX_BTIME | sys.STATX_MNT_ID, out), 0);
      const s = sys.decodeStatx(out);
      const st = fs.lstatSync(p(name), { bigint: true });
      assert.equal(s.ino, st.ino);
      assert.equal(s.size, st.size);
      assert.equal(s.blocks, st.blocks);
      assert.equal(BigInt(s.mode), st.mode);
      assert.equal(BigInt(s.nlink), st.nlink);
      assert.equal(BigInt(s.uid), st.uid);
      assert.equal(BigInt(s.gid), st.gid);
      assert.equal(BigInt(s.blksize), st.blksize);
      assert.equal(s.mtime.sec * 1_000_000_000n + BigInt(s.mtime.nsec), st.mtimeNs);
      assert.equal(s.ctime.sec * 1_000_000_000n + BigInt(s.ctime.nsec), st.ctimeNs);
      assert.equal(s.atime.sec * 1_000_000_000n + BigInt(s.atime.nsec), st.atimeNs);
      assert.equal(sys.makedev(s.devMajor, s.devMinor), st.dev);
      assert.ok(s.mask & sys.STATX_MNT_ID);
      assert.ok(s.mntId > 0n);
      // The fast path: fields straight from the buffer.
      assert.equal(out.readUInt16LE(sys.STX_MODE), Number(st.mode));
      assert.equal(out.readBigUInt64LE(sys.STX_INO), st.ino);
      assert.equal(out.readBigUInt64LE(sys.STX_SIZE), st.size);
    }
    // Following the link gives the target.
    assert.equal(sys.statx(dfd, 'st-link', 0, sys.STATX_INO, out), 0);
    assert.equal(sys.decodeStatx(out).ino, fs.statSync(p('st'), { bigint: true }).ino);
    // Through an O_PATH fd with AT_EMPTY_PATH.
    const opath = sys.openat(dfd, 'st-link', sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC);
    assert.equal(sys.statx(opath, '', sys.AT_EMPTY_PATH, sys.STATX_BASIC_STATS, out), 0);
    assert.equal(sys.decodeStatx(out).mode & sys.S_IFMT, sys.S_IFLNK);
    assert.equal(sys.statx(opath, '', 0, sys.STATX_BASIC_STATS, out), -E.ENOENT);
    sys.close(opath);
    assert.equal(sys.statx(dfd, 'nope', 0, sys.STATX_BASIC_STATS, out), -E.ENOENT);
    assert.equal(sys.statx(-1, 'nope', 0, sys.STATX_BASIC_STATS, out), -E.EBADF);
    assert.throws(() => sys.statx(dfd, 'st', 0, sys.STATX_BASIC_STATS, Buffer.alloc(100)), RangeError);
  });

  it('fstatfs matches fs.statfsSync', () => {
    const out = Buffer.alloc(sys.STATFS_BUF_SIZE);
    assert.equal(sys.fstatfs(dfd, out), 0); // O_PATH fd works
    const s = sys.decodeStatfs(out);
    const st = fs.statfsSync(dir, { bigint: true });
    assert.equal(BigInt(s.type), st.type);
    assert.equal(BigInt(s.bsize), st.bsize);
    assert.equal(s.blocks, st.blocks);
    assert.equal(s.files, st.files);
    assert.ok(s.namelen >= 255);
    assert.ok(s.frsize > 0);
    assert.equal(sys.statfs(dir, out), 0);
    assert.equal(sys.decodeStatfs(out).blocks, st.blocks);
    assert.equal(sys.fstatfs(-1, out), -E.EBADF);
    assert.equal(sys.statfs(p('nope'), out), -E.ENOENT);
  });

  it('makedev/major/minor use the glibc layout', () => {
    assert.equal(sys.makedev(8, 1), 2049n);
    assert.equal(sys.makedev(0x12345, 0x6789a), 0x120006783459an);
    for (const [ma, mi] of [[0, 0], [1, 3], [259, 65536], [0xfffff, 0xffffff], [4095, 255]] as const) {
      const d = sys.makedev(ma, mi);
      assert.equal(sys.major(d), ma);
      assert.equal(sys.minor(d), mi);
    }
    // Node's fs reports st_dev/rdev in the same encoding.
    const st = fs.statSync('/dev/null', { bigint: true });
    assert.equal(sys.makedev(1, 3), st.rdev);
    assert.equal(sys.newEncodeDev(1, 3), 0x103);
    assert.deepEqual(sys.newDecodeDev(sys.newEncodeDev(259, 70000)), [259, 70000]);
  });
});

describe('namespace operations', () => {
  it('mkdirat, mknodat', () => {
    assert.equal(sys.mkdirat(dfd, 'd1', 0o755), 0);
    assert.equal(sys.mkdirat(dfd, 'd1', 0o755), -E.EEXIST);
    assert.equal(sys.mkdirat(dfd, 'nope/d2', 0o755), -E.ENOENT);
    assert.ok(fs.statSync(p('d1')).isDirectory());
    assert.equal(sys.mknodat(dfd, 'fifo', sys.S_IFIFO | 0o600), 0);
    assert.ok(fs.lstatSync(p('fifo')).isFIFO());
    assert.equal(sys.mknodat(dfd, 'chr', sys.S_IFCHR | 0o600, sys.makedev(1, 3)), 0);
    const out = Buffer.alloc(256);
    assert.equal(sys.statx(dfd, 'chr', sys.AT_SYMLINK_NOFOLLOW, sys.STATX_BASIC_STATS, out), 0);
    const s = sys.decodeStatx(out);
    assert.equal(s.mode & sys.S_IFMT, sys.S_IFCHR);
    assert.equal(s.rdevMajor, 1);
    assert.equal(s.rdevMinor, 3);
    assert.equal(sys.mknodat(dfd, 'fifo', sys.S_IFIFO | 0o600), -E.EEXIST);
  });

  it('symlinkat, readlinkat', () => {
    assert.equal(sys.symlinkat('some/target', dfd, 'sl'), 0);
    assert.equal(sys.symlinkat('x', dfd, 'sl'), -E.EEXIST);
    const buf = Buffer.alloc(64);
    const n = sys.readlinkat(dfd, 'sl', buf);
    assert.equal(buf.toString('utf8', 0, n), 'some/target');
    // Raw-byte target through an O_PATH fd of the link itself.
    const raw = Buffer.from([0x74, 0xfe, 0x2f, 0x75]);
    assert.equal(sys.symlinkat(raw, dfd, Buffer.from('sl-raw')), 0);
    const lfd = sys.openat(dfd, 'sl-raw', sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC);
    const m = sys.readlinkat(lfd, '', buf);
    assert.ok(buf.subarray(0, m).equals(raw));
    sys.close(lfd);
    assert.equal(sys.readlinkat(dfd, 'created', buf), -E.EINVAL);
    assert.equal(sys.readlinkat(dfd, 'nope', buf), -E.ENOENT);
  });

  it('unlinkat', () => {
    fs.mkdirSync(p('ud'));
    fs.writeFileSync(p('ud/f'), '');
    assert.equal(sys.unlinkat(dfd, 'ud'), -E.EISDIR);
    assert.equal(sys.unlinkat(dfd, 'ud', sys.AT_REMOVEDIR), -E.ENOTEMPTY);
    assert.equal(sys.unlinkat(dfd, 'ud/f', sys.AT_REMOVEDIR), -E.ENOTDIR);
    assert.equal(sys.unlinkat(dfd, 'ud/f'), 0);
    assert.equal(sys.unlinkat(dfd, 'ud', sys.AT_REMOVEDIR), 0);
    assert.equal(sys.unlinkat(dfd, 'ud'), -E.ENOENT);
  });

  it('renameat2 NOREPLACE, EXCHANGE', () => {
    fs.writeFileSync(p('ra'), 'A');
    fs.writeFileSync(p('rb'), 'B');
    assert.equal(sys.renameat2(dfd, 'ra', dfd, 'rb', sys.RENAME_NOREPLACE), -E.EEXIST);
    assert.equal(sys.renameat2(dfd, 'ra', dfd, 'rb', sys.RENAME_EXCHANGE), 0);
    assert.equal(fs.readFileSync(p('ra'), 'utf8'), 'B');
    assert.equal(fs.readFileSync(p('rb'), 'utf8'), 'A');
    assert.equal(sys.renameat2(dfd, 'ra', dfd, 'rc', sys.RENAME_EXCHANGE), -E.ENOENT);
    assert.equal(sys.renameat2(dfd, 'ra', dfd, 'rc', sys.RENAME_NOREPLACE), 0);
    assert.equal(sys.renameat2(dfd, 'rc', dfd, 'rb'), 0);
    assert.equal(fs.readFileSync(p('rb'), 'utf8'), 'B');
    assert.equal(sys.renameat2(dfd, 'nope', dfd, 'x'), -E.ENOENT);
  });

  it('linkat', () => {
    fs.writeFileSync(p('l1'), 'L');
    assert.equal(sys.linkat(dfd, 'l1', dfd, 'l2'), 0);
    assert.equal(fs.statSync(p('l1')).nlink, 2);
    assert.equal(sys.linkat(dfd, 'l1', dfd, 'l2'), -E.EEXIST);
    assert.equal(sys.linkat(dfd, 'd1', dfd, 'd1-link'), -E.EPERM);
    // Linking an O_PATH fd (CAP_DAC_READ_SEARCH).
    const fd = sys.openat(dfd, 'l1', sys.O_PATH | sys.O_CLOEXEC);
    assert.equal(sys.linkat(fd, '', dfd, 'l3', sys.AT_EMPTY_PATH), 0);
    assert.equal(fs.statSync(p('l1')).nlink, 3);
    sys.close(fd);
  });

  it('fchmod, fchmodat, fchmodat2', () => {
    const fd = mkfile('cm');
    assert.equal(sys.fchmod(fd, 0o600), 0);
    assert.equal(fs.statSync(p('cm')).mode & 0o7777, 0o600);
    assert.equal(sys.fchmodat(dfd, 'cm', 0o4640), 0);
    assert.equal(fs.statSync(p('cm')).mode & 0o7777, 0o4640);
    sys.close(fd);
    fs.symlinkSync('cm', p('cm-link'));
    // glibc's fchmodat cannot do NOFOLLOW on a symlink.
    assert.equal(sys.fchmodat(dfd, 'cm-link', 0o600, sys.AT_SYMLINK_NOFOLLOW), -E.EOPNOTSUPP);
    // fchmodat2 through an O_PATH fd.
    const opath = sys.openat(dfd, 'cm', sys.O_PATH | sys.O_CLOEXEC);
    assert.equal(sys.fchmod(opath, 0o600), -E.EBADF);
    assert.equal(sys.fchmodat2(opath, '', 0o640, sys.AT_EMPTY_PATH), 0);
    assert.equal(fs.statSync(p('cm')).mode & 0o7777, 0o640);
    assert.equal(sys.fchmodat2(opath, '', 0o644, sys.AT_EMPTY_PATH | sys.AT_SYMLINK_NOFOLLOW), 0);
    assert.equal(fs.statSync(p('cm')).mode & 0o7777, 0o644);
    sys.close(opath);
    const lpath = sys.openat(dfd, 'cm-link', sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC);
    assert.equal(sys.fchmodat2(lpath, '', 0o600, sys.AT_EMPTY_PATH | sys.AT_SYMLINK_NOFOLLOW), -E.EOPNOTSUPP);
    sys.close(lpath);
    assert.equal(sys.fchmodat2(dfd, 'nope', 0o600), -E.ENOENT);
    assert.equal(sys.fchmodat2(dfd, 'cm', 0o600, 0x4), -E.EINVAL); // unknown flag
  });

  it('fchownat, fchown (-1 keeps an id)', () => {
    const fd = mkfile('own');
    assert.equal(sys.fchown(fd, 1234, 5678), 0);
    let st = fs.statSync(p('own'));
    assert.deepEqual([st.uid, st.gid], [1234, 5678]);
    assert.equal(sys.fchown(fd, -1, 42), 0);
    st = fs.statSync(p('own'));
    assert.deepEqual([st.uid, st.gid], [1234, 42]);
    assert.equal(sys.fchownat(dfd, 'own', 7, -1), 0);
    st = fs.statSync(p('own'));
    assert.deepEqual([st.uid, st.gid], [7, 42]);
    fs.symlinkSync('own', p('own-link'));
    assert.equal(sys.fchownat(dfd, 'own-link', 9, 9, sys.AT_SYMLINK_NOFOLLOW), 0);
    assert.equal(fs.lstatSync(p('own-link')).uid, 9);
    assert.equal(fs.statSync(p('own')).uid, 7);
    const opath = sys.openat(dfd, 'own', sys.O_PATH | sys.O_CLOEXEC);
    assert.equal(sys.fchownat(opath, '', 0, 0, sys.AT_EMPTY_PATH), 0);
    assert.equal(fs.statSync(p('own')).uid, 0);
    sys.close(opath);
    sys.close(fd);
    assert.equal(sys.fchownat(dfd, 'nope', 0, 0), -E.ENOENT);
    assert.equal(sys.fchown(-1, 0, 0), -E.EBADF);
  });

  it('utimensat, futimens: nanoseconds, UTIME_OMIT, UTIME_NOW', () => {
    const fd = mkfile('times');
    assert.equal(sys.utimensat(dfd, 'times', 1_000_000_123n, 456_789_012, 2_000_000_000n, 999_999_999), 0);
    let st = fs.statSync(p('times'), { bigint: true });
    assert.equal(st.atimeNs, 1_000_000_123_456_789_012n);
    assert.equal(st.mtimeNs, 2_000_000_000_999_999_999n);
    // UTIME_OMIT keeps atime.
    assert.equal(sys.utimensat(dfd, 'times', 0n, sys.UTIME_OMIT, 5n, 7), 0);
    st = fs.statSync(p('times'), { bigint: true });
    assert.equal(st.atimeNs, 1_000_000_123_456_789_012n);
    assert.equal(st.mtimeNs, 5_000_000_007n);
    // UTIME_NOW; numbers accepted for seconds; negative times (before 1970).
    const before = BigInt(Date.now() - 5000) * 1_000_000n;
    assert.equal(sys.futimens(fd, 0, sys.UTIME_NOW, -100, 5), 0);
    st = fs.statSync(p('times'), { bigint: true });
    assert.ok(st.atimeNs >= before);
    assert.equal(st.mtimeNs, -100n * 1_000_000_000n + 5n);
    // Through an O_PATH fd with path '' and AT_EMPTY_PATH.
    const opath = sys.openat(dfd, 'times', sys.O_PATH | sys.O_CLOEXEC);
    assert.equal(sys.utimensat(opath, '', 3n, 3, 4n, 4, sys.AT_EMPTY_PATH), 0);
    st = fs.statSync(p('times'), { bigint: true });
    assert.equal(st.mtimeNs, 4_000_000_004n);
    sys.close(opath);
    assert.equal(sys.utimensat(dfd, 'times', 0n, 1_000_000_000, 0n, 0), -E.EINVAL);
    assert.equal(sys.utimensat(dfd, 'nope', 0n, 0, 0n, 0), -E.ENOENT);
    sys.close(fd);
  });

  it('getdents64 lists exactly the created names', () => {
    fs.mkdirSync(p('gd'));
    const raw = Buffer.from([0x6e, 0xff, 0xfe]);
    const expected = new Map<string, number>([
      ['file', sys.DT_REG],
      ['sub', sys.DT_DIR],
      ['lnk', sys.DT_LNK],
      ['.', sys.DT_DIR],
      ['..', sys.DT_DIR],
      [raw.toString('latin1'), sys.DT_REG],
    ]);
    fs.writeFileSync(p('gd/file'), '');
    fs.mkdirSync(p('gd/sub'));
    fs.symlinkSync('file', p('gd/lnk'));
    for (let i = 0; i < 300; i++) {
      fs.writeFileSync(p(`gd/n${i}`), '');
      expected.set(`n${i}`, sys.DT_REG);
    }
    const rfd = sys.openat(dfd, Buffer.concat([Buffer.from('gd/'), raw]), sys.O_CREAT | sys.O_WRONLY | sys.O_CLOEXEC, 0o600);
    sys.close(rfd);
    const fd = sys.openat(dfd, 'gd', sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
    const buf = Buffer.alloc(4096); // small: needs several calls
    const seen = new Map<string, number>();
    const offs: bigint[] = [];
    let calls = 0;
    for (;;) {
      const n = sys.getdents64(fd, buf, buf.length);
      assert.ok(n >= 0, sys.errnoName(n));
      if (n === 0) break;
      calls++;
      for (const d of sys.dirents(buf, n)) {
        const name = d.name.toString('latin1');
        assert.ok(!seen.has(name), `duplicate ${name}`);
        seen.set(name, d.type);
        assert.ok(d.ino > 0n);
        offs.push(d.off);
      }
    }
    assert.ok(calls > 1);
    assert.deepEqual(new Map([...seen].sort()), new Map([...expected].sort()));
    // Resume from an entry's d_off.
    assert.equal(sys.lseek(fd, offs[offs.length - 3]!, sys.SEEK_SET), offs[offs.length - 3]);
    const n = sys.getdents64(fd, buf, buf.length);
    assert.equal([...sys.dirents(buf, n)].length, 2);
    // The fast path, over a buffer whose padding holds old bytes (the kernel
    // writes the name's NUL, not the padding after it).
    sys.lseek(fd, 0, sys.SEEK_SET);
    buf.fill(0xff);
    const m = sys.getdents64(fd, buf);
    let lengths = 0;
    for (let p = 0; p < m; p += buf.readUInt16LE(p + sys.DIRENT_RECLEN)) {
      assert.equal(sys.direntNameLength(buf, p), buf.indexOf(0, p + sys.DIRENT_NAME) - (p + sys.DIRENT_NAME));
      lengths++;
    }
    assert.ok(lengths > 100);
    const first = [...sys.dirents(buf, m)][0]!;
    assert.equal(sys.direntNameLength(buf, 0), first.name.length);
    assert.equal(buf[sys.DIRENT_TYPE], first.type);
    sys.close(fd);
    const reg = sys.openat(dfd, 'gd/file', sys.O_RDONLY | sys.O_CLOEXEC);
    assert.equal(sys.getdents64(reg, buf, buf.length), -E.ENOTDIR);
    sys.close(reg);
    assert.equal(sys.getdents64(-1, buf, 100), -E.EBADF);
  });

  it('name_to_handle_at, open_by_handle_at', () => {
    fs.writeFileSync(p('h'), 'handle me');
    const h = sys.name_to_handle_at(dfd, 'h');
    assert.ok(typeof h !== 'number', `name_to_handle_at: ${typeof h === 'number' ? sys.errnoName(h) : ''}`);
    assert.ok(h.handleBytes.length > 0);
    const out = Buffer.alloc(256);
    sys.statx(dfd, 'h', 0, sys.STATX_MNT_ID, out);
    assert.equal(h.mountId, sys.decodeStatx(out).mntId);
    // The mount fd must not be an O_PATH fd (the kernel uses fdget(): EBADF).
    assert.equal(sys.open_by_handle_at(dfd, h, sys.O_RDONLY), -E.EBADF);
    const mfd = sys.openat(dfd, '.', sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
    const fd = sys.open_by_handle_at(mfd, h, sys.O_RDONLY | sys.O_CLOEXEC);
    assert.ok(fd >= 0, sys.errnoName(fd));
    const buf = Buffer.alloc(32);
    assert.equal(buf.toString('utf8', 0, sys.read(fd, buf, 32)), 'handle me');
    sys.close(fd);
    const h2 = sys.name_to_handle_at(dfd, '', sys.AT_EMPTY_PATH);
    assert.ok(typeof h2 !== 'number');
    assert.equal(sys.name_to_handle_at(dfd, 'nope'), -E.ENOENT);
    assert.equal(sys.open_by_handle_at(mfd, { handleType: h.handleType, handleBytes: Buffer.alloc(h.handleBytes.length, 0xff) }, sys.O_RDONLY), -E.ESTALE);
    // O_PATH opens by handle work, for any file type.
    const ph = sys.open_by_handle_at(mfd, h, sys.O_PATH | sys.O_CLOEXEC);
    assert.ok(ph >= 0);
    sys.close(ph);
    sys.close(mfd);
  });
});

describe('space and data', () => {
  it('pipe2 and splice: file pages into a pipe at an offset, the file position untouched; errors as -errno', () => {
    const fd = mkfile('spliced');
    const data = Buffer.from('0123456789abcdef'.repeat(8192)); // 128 KiB
    assert.equal(sys.pwrite(fd, data, data.length, 0), data.length);
    const pipe = sys.pipe2(sys.O_NONBLOCK | sys.O_CLOEXEC);
    assert.ok(Array.isArray(pipe));
    const [r, w] = pipe;
    assert.equal(sys.fcntl(w, sys.F_SETPIPE_SZ, 1 << 20), 1 << 20);
    assert.equal(sys.fcntl(w, sys.F_GETPIPE_SZ, 0), 1 << 20);
    assert.equal(sys.splice(fd, 5n, w, null, 100_000, sys.SPLICE_F_MOVE | sys.SPLICE_F_NONBLOCK), 100_000);
    assert.equal(sys.lseek(fd, 0, sys.SEEK_CUR), 0n);
    const back = Buffer.alloc(100_000);
    assert.equal(sys.read(r, back, back.length), 100_000);
    assert.ok(back.equals(data.subarray(5, 100_005)));
    assert.equal(sys.splice(fd, BigInt(data.length), w, null, 10, 0), 0); // end of file
    // A u64 offset past 2^63-1 (READ requests carry u64) is EINVAL, not a thrown RangeError.
    assert.equal(sys.splice(fd, (1n << 64n) - 1n, w, null, 10, 0), -E.EINVAL);
    assert.equal(sys.copy_file_range(fd, 1n << 63n, fd, 0n, 10, 0), -E.EINVAL);
    assert.equal(sys.splice(-1, null, w, null, 10, 0), -E.EBADF);
    assert.equal(sys.splice(r, null, -1, null, 10, 0), -E.EBADF);
    assert.equal(sys.splice(r, null, fd, 0n, 10, sys.SPLICE_F_NONBLOCK), -E.EAGAIN); // the pipe is empty
    for (const x of [r, w, fd]) sys.close(x);
  });

  it('io_uring: reads and writes at offsets, completions by tag, errors as -errno, more in flight than submission slots', () => {
    const ring = sys.Uring.create(4);
    assert.ok(typeof ring !== 'number', `io_uring_setup: ${typeof ring === 'number' ? sys.errnoName(-ring) : ''}`);
    try {
      const fd = mkfile('uring', 'hello, ring');
      const rbuf = Buffer.alloc(32);
      const wbuf = Buffer.from('J');
      assert.equal(ring.submit(sys.IORING_OP_READ, fd, sys.addressOf(rbuf), 32, 7n, 11), 1);
      assert.equal(ring.submit(sys.IORING_OP_WRITE, fd, sys.addressOf(wbuf), 1, 0n, 12), 1);
      assert.equal(ring.submit(sys.IORING_OP_READ, 999_999, sys.addressOf(rbuf), 32, 0n, 13), 1);
      const got = new Map<number, number>();
      while (got.size < 3) {
        if (!ring.ready()) assert.equal(ring.wait(), 0);
        ring.reap((tag, res) => got.set(tag, res));
      }
      assert.deepEqual([...got].sort(), [[11, 4], [12, 1], [13, -E.EBADF]]);
      assert.equal(rbuf.subarray(0, 4).toString(), 'ring');
      assert.equal(fs.readFileSync(p('uring'), 'utf8'), 'Jello, ring');
      // A FIFO read waits; the submission queue has 4 slots, in-flight requests do not hold them.
      const [r, w] = sys.pipe2(0) as [number, number];
      for (let i = 0; i < 4; i++) assert.equal(ring.submit(sys.IORING_OP_READ, r, sys.addressOf(rbuf), 1, 0n, 20 + i), 1);
      assert.equal(ring.ready(), false);
      assert.equal(sys.write(w, Buffer.from('abcd'), 4), 4);
      let n = 0;
      while (n < 4) {
        if (!ring.ready()) ring.wait();
        n += ring.reap((_tag, res) => assert.equal(res, 1));
      }
      sys.close(r);
      sys.close(w);
      sys.close(fd);
    } finally {
      ring.close();
    }
  });

  it('ftruncate, fallocate PUNCH_HOLE, SEEK_HOLE/SEEK_DATA', () => {
    const fd = mkfile('sparse');
    const big = 1n << 40n;
    assert.equal(sys.ftruncate(fd, big), 0);
    assert.equal(BigInt(fs.statSync(p('sparse'), { bigint: true }).size), big);
    assert.equal(sys.ftruncate(fd, 0), 0);
    const chunk = Buffer.alloc(1 << 20, 0x41);
    assert.equal(sys.pwrite(fd, chunk, chunk.length, 0), chunk.length);
    assert.equal(sys.fallocate(fd, sys.FALLOC_FL_PUNCH_HOLE | sys.FALLOC_FL_KEEP_SIZE, 256 * 1024, 256 * 1024), 0);
    assert.equal(sys.lseek(fd, 0, sys.SEEK_HOLE), 256n * 1024n);
    assert.equal(sys.lseek(fd, 256 * 1024, sys.SEEK_DATA), 512n * 1024n);
    assert.equal(sys.lseek(fd, 1n << 20n, sys.SEEK_DATA), -BigInt(E.ENXIO));
    const b = Buffer.alloc(4);
    sys.pread(fd, b, 4, 300 * 1024);
    assert.deepEqual([...b], [0, 0, 0, 0]);
    assert.equal(sys.fallocate(fd, 0, 0, 8n << 20n), 0);
    assert.equal(fs.statSync(p('sparse')).size, 8 << 20);
    assert.equal(sys.fallocate(fd, sys.FALLOC_FL_PUNCH_HOLE, 0, 4096), -E.EOPNOTSUPP); // PUNCH_HOLE needs KEEP_SIZE
    assert.equal(sys.ftruncate(fd, -1), -E.EINVAL);
    assert.equal(sys.lseek(fd, 0, 99), -BigInt(E.EINVAL));
    sys.close(fd);
    const pair = sys.socketpair();
    assert.ok(Array.isArray(pair));
    assert.equal(sys.lseek(pair[0], 0, sys.SEEK_SET), -BigInt(E.ESPIPE));
    sys.close(pair[0]);
    sys.close(pair[1]);
  });

  it('copy_file_range copies bytes', () => {
    const src = mkfile('cfr-src', 'abcdefghijklmnopqrstuvwxyz');
    const dst = mkfile('cfr-dst', '');
    assert.equal(sys.copy_file_range(src, 2n, dst, 0n, 5), 5);
    assert.equal(fs.readFileSync(p('cfr-dst'), 'utf8'), 'cdefg');
    // null offsets use (and advance) the fds' positions.
    sys.lseek(src, 20, sys.SEEK_SET);
    sys.lseek(dst, 5, sys.SEEK_SET);
    assert.equal(sys.copy_file_range(src, null, dst, null, 100), 6);
    assert.equal(fs.readFileSync(p('cfr-dst'), 'utf8'), 'cdefguvwxyz');
    assert.equal(sys.lseek(src, 0, sys.SEEK_CUR), 26n);
    assert.equal(sys.copy_file_range(src, 100n, dst, 0n, 5), 0); // EOF
    assert.equal(sys.copy_file_range(src, 0n, -1, 0n, 5), -E.EBADF);
    sys.close(src);
    sys.close(dst);
  });

  it('fsync, fdatasync, syncfs', () => {
    const fd = mkfile('sync', 'x');
    assert.equal(sys.fsync(fd), 0);
    assert.equal(sys.fdatasync(fd), 0);
    assert.equal(sys.syncfs(fd), 0);
    sys.close(fd);
    assert.equal(sys.fsync(-1), -E.EBADF);
    assert.equal(sys.fdatasync(-1), -E.EBADF);
    assert.equal(sys.syncfs(-1), -E.EBADF);
  });
});

describe('xattr', () => {
  it('f* calls: size probe, ERANGE, ENODATA, flags', () => {
    const fd = mkfile('xa');
    const val = Buffer.from('the value');
    assert.equal(sys.fsetxattr(fd, 'user.one', val), 0);
    assert.equal(sys.fsetxattr(fd, Buffer.from('user.two'), Buffer.alloc(0)), 0);
    assert.equal(sys.fgetxattr(fd, 'user.one', null, 0), val.length);
    const small = Buffer.alloc(3);
    assert.equal(sys.fgetxattr(fd, 'user.one', small, small.length), -E.ERANGE);
    const buf = Buffer.alloc(64);
    assert.equal(sys.fgetxattr(fd, 'user.one', buf, buf.length), val.length);
    assert.ok(buf.subarray(0, val.length).equals(val));
    assert.equal(sys.fgetxattr(fd, 'user.two', buf), 0);
    assert.equal(sys.fgetxattr(fd, 'user.missing', buf, buf.length), -E.ENODATA);
    assert.equal(sys.fsetxattr(fd, 'user.one', val, sys.XATTR_CREATE), -E.EEXIST);
    assert.equal(sys.fsetxattr(fd, 'user.new', val, sys.XATTR_REPLACE), -E.ENODATA);
    const len = sys.flistxattr(fd, null, 0);
    assert.equal(len, 'user.one\0user.two\0'.length);
    assert.equal(sys.flistxattr(fd, small, small.length), -E.ERANGE);
    const n = sys.flistxattr(fd, buf, buf.length);
    assert.deepEqual(sys.splitXattrList(buf, n).map(String).sort(), ['user.one', 'user.two']);
    assert.equal(sys.fremovexattr(fd, 'user.two'), 0);
    assert.equal(sys.fremovexattr(fd, 'user.two'), -E.ENODATA);
    assert.equal(sys.fsetxattr(fd, 'bogus.ns', val), -E.EOPNOTSUPP);
    assert.equal(sys.fgetxattr(-1, 'user.one', null, 0), -E.EBADF);
    sys.close(fd);
  });

  it('l* calls act on the symlink itself, plain ones follow it', () => {
    fs.writeFileSync(p('xt'), '');
    fs.symlinkSync('xt', p('xl'));
    const buf = Buffer.alloc(64);
    assert.equal(sys.lsetxattr(p('xl'), 'trusted.who', Buffer.from('link')), 0);
    assert.equal(sys.setxattr(p('xl'), 'trusted.who', Buffer.from('target')), 0);
    assert.equal(buf.toString('utf8', 0, sys.lgetxattr(p('xl'), 'trusted.who', buf)), 'link');
    assert.equal(buf.toString('utf8', 0, sys.getxattr(p('xl'), 'trusted.who', buf)), 'target');
    assert.equal(sys.lgetxattr(p('xl'), 'trusted.who', null), 4);
    assert.equal(sys.lgetxattr(p('xl'), 'trusted.who', buf, 2), -E.ERANGE);
    assert.equal(sys.lgetxattr(p('xl'), 'trusted.none', buf), -E.ENODATA);
    // user.* is not allowed on symlinks.
    assert.equal(sys.lsetxattr(p('xl'), 'user.x', Buffer.from('v')), -E.EPERM);
    const n = sys.llistxattr(p('xl'), buf);
    assert.deepEqual(sys.splitXattrList(buf, n).map(String), ['trusted.who']);
    assert.equal(sys.listxattr(p('xl'), null), 'trusted.who\0'.length);
    assert.equal(sys.lremovexattr(p('xl'), 'trusted.who'), 0);
    assert.equal(sys.lgetxattr(p('xl'), 'trusted.who', null), -E.ENODATA);
    assert.equal(sys.getxattr(p('xl'), 'trusted.who', null), 6);
    assert.equal(sys.removexattr(p('xl'), 'trusted.who'), 0);
    assert.equal(sys.lgetxattr(p('nope'), 'user.x', null), -E.ENOENT);
  });

  it('*xattrat: O_PATH + "" + AT_EMPTY_PATH is EBADF; parent+name and /proc/self/fd/N work', () => {
    fs.writeFileSync(p('xr'), '');
    fs.mkdirSync(p('xd'));
    fs.symlinkSync('xr', p('xs'));
    const buf = Buffer.alloc(64);
    const F = sys.AT_EMPTY_PATH | sys.AT_SYMLINK_NOFOLLOW;
    for (const name of ['xr', 'xd', 'xs']) {
      const v = Buffer.from(`v-${name}`);
      // by parent dir fd + name, not following the final symlink
      assert.equal(sys.setxattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, 'trusted.t', v), 0, name);
      assert.equal(sys.getxattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, 'trusted.t', null), v.length);
      assert.equal(sys.getxattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, 'trusted.t', buf, 2), -E.ERANGE);
      assert.equal(sys.getxattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, 'trusted.nope', buf), -E.ENODATA);
      assert.equal(sys.getxattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, 'trusted.t', buf), v.length);
      assert.ok(buf.subarray(0, v.length).equals(v));
      const n = sys.listxattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, buf);
      assert.ok(sys.splitXattrList(buf, n).map(String).includes('trusted.t'));
      assert.equal(sys.setxattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, 'trusted.t', v, sys.XATTR_CREATE), -E.EEXIST);

      const opath = sys.openat(dfd, name, sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC);
      // Linux 6.18: an O_PATH fd with an empty path is refused by every *xattrat call.
      assert.equal(sys.getxattrat(opath, '', F, 'trusted.t', buf), -E.EBADF, name);
      assert.equal(sys.setxattrat(opath, '', F, 'trusted.u', v), -E.EBADF);
      assert.equal(sys.listxattrat(opath, '', F, buf), -E.EBADF);
      assert.equal(sys.removexattrat(opath, '', F, 'trusted.t'), -E.EBADF);
      assert.equal(sys.fgetxattr(opath, 'trusted.t', buf), -E.EBADF);
      // ...but following the /proc/self/fd magic link reaches the inode itself,
      // for a symlink too (the link's own xattrs, not its target's).
      const proc = `/proc/self/fd/${opath}`;
      assert.equal(sys.getxattr(proc, 'trusted.t', buf), v.length);
      assert.ok(buf.subarray(0, v.length).equals(v));
      assert.equal(sys.getxattrat(sys.AT_FDCWD, proc, 0, 'trusted.t', buf), v.length);
      assert.equal(sys.setxattr(proc, 'trusted.u', v), 0);
      assert.equal(sys.lgetxattr(p(name), 'trusted.u', null), v.length);
      assert.equal(sys.removexattr(proc, 'trusted.u'), 0);
      // lgetxattr on the magic link itself hits procfs.
      assert.equal(sys.lgetxattr(proc, 'trusted.t', buf), -E.EOPNOTSUPP);
      sys.close(opath);

      // With a regular (non-O_PATH) fd the empty-path form works.
      if (name !== 'xs') {
        const rfd = sys.openat(dfd, name, sys.O_RDONLY | sys.O_CLOEXEC);
        assert.equal(sys.getxattrat(rfd, '', F, 'trusted.t', buf), v.length);
        assert.equal(sys.setxattrat(rfd, '', F, 'trusted.w', v), 0);
        assert.equal(sys.removexattrat(rfd, '', F, 'trusted.w'), 0);
        sys.close(rfd);
      }
      assert.equal(sys.removexattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, 'trusted.t'), 0);
      assert.equal(sys.removexattrat(dfd, name, sys.AT_SYMLINK_NOFOLLOW, 'trusted.t'), -E.ENODATA);
    }
  });
});

describe('fcntl, locks, ioctl', () => {
  it('fcntl F_GETFL/F_SETFL, cloexec helpers', () => {
    const fd = mkfile('fl');
    assert.equal(sys.fcntl(fd, sys.F_GETFL) & sys.O_ACCMODE, sys.O_RDWR);
    assert.equal(sys.fcntl(fd, sys.F_SETFL, sys.O_APPEND | sys.O_NONBLOCK), 0);
    assert.ok(sys.fcntl(fd, sys.F_GETFL) & sys.O_APPEND);
    assert.equal(sys.fcntl(fd, sys.F_GETFD), sys.FD_CLOEXEC);
    assert.equal(sys.clearCloexec(fd), 0);
    assert.equal(sys.fcntl(fd, sys.F_GETFD), 0);
    assert.equal(sys.setCloexec(fd), 0);
    assert.equal(sys.fcntl(fd, sys.F_GETFD), sys.FD_CLOEXEC);
    const dup = sys.fcntl(fd, sys.F_DUPFD_CLOEXEC, 100);
    assert.ok(dup >= 100);
    sys.close(dup);
    assert.equal(sys.fcntl(-1, sys.F_GETFD), -E.EBADF);
    assert.equal(sys.clearCloexec(-1), -E.EBADF);
    sys.close(fd);
  });

  it('flock conflict between two open files -> EWOULDBLOCK', () => {
    fs.writeFileSync(p('lock'), '');
    const a = sys.openat(dfd, 'lock', sys.O_RDWR | sys.O_CLOEXEC);
    const b = sys.openat(dfd, 'lock', sys.O_RDWR | sys.O_CLOEXEC);
    assert.equal(sys.flock(a, sys.LOCK_EX), 0);
    assert.equal(sys.flock(b, sys.LOCK_EX | sys.LOCK_NB), -E.EWOULDBLOCK);
    assert.equal(sys.flock(b, sys.LOCK_SH | sys.LOCK_NB), -E.EWOULDBLOCK);
    assert.equal(sys.flock(a, sys.LOCK_UN), 0);
    assert.equal(sys.flock(b, sys.LOCK_SH | sys.LOCK_NB), 0);
    assert.equal(sys.flock(a, sys.LOCK_SH | sys.LOCK_NB), 0);
    assert.equal(sys.flock(-1, sys.LOCK_SH), -E.EBADF);
    sys.close(a);
    sys.close(b);
  });

  it('fcntlLock: OFD locks conflict, GETLK reports the holder', () => {
    fs.writeFileSync(p('ofd'), 'x'.repeat(100));
    const a = sys.openat(dfd, 'ofd', sys.O_RDWR | sys.O_CLOEXEC);
    const b = sys.openat(dfd, 'ofd', sys.O_RDWR | sys.O_CLOEXEC);
    assert.equal(sys.fcntlLock(a, sys.F_OFD_SETLK, sys.F_WRLCK, sys.SEEK_SET, 10n, 20n), 0);
    assert.equal(sys.fcntlLock(b, sys.F_OFD_SETLK, sys.F_RDLCK, sys.SEEK_SET, 0n, 15n), -E.EAGAIN);
    const info: sys.FlockInfo = { type: -1, whence: -1, start: -1n, len: -1n, pid: 0 };
    assert.equal(sys.fcntlLock(b, sys.F_OFD_GETLK, sys.F_RDLCK, sys.SEEK_SET, 0n, 0n, 0, info), 0);
    assert.deepEqual(info, { type: sys.F_WRLCK, whence: sys.SEEK_SET, start: 10n, len: 20n, pid: -1 });
    assert.equal(sys.fcntlLock(b, sys.F_OFD_GETLK, sys.F_RDLCK, sys.SEEK_SET, 50n, 0n, 0, info), 0);
    assert.equal(info.type, sys.F_UNLCK);
    assert.equal(sys.fcntlLock(b, sys.F_OFD_SETLK, sys.F_WRLCK, sys.SEEK_SET, 30n, 10n), 0);
    assert.equal(sys.fcntlLock(a, sys.F_OFD_SETLK, sys.F_UNLCK, sys.SEEK_SET, 0n, 0n), 0);
    assert.equal(sys.fcntlLock(b, sys.F_OFD_SETLK, sys.F_RDLCK, sys.SEEK_SET, 0n, 15n), 0);
    // OFD and classic POSIX locks conflict with each other, even in one process.
    assert.equal(sys.fcntlLock(a, sys.F_SETLK, sys.F_WRLCK, sys.SEEK_SET, 0n, 0n), -E.EAGAIN);
    assert.equal(sys.fcntlLock(b, sys.F_OFD_SETLK, sys.F_UNLCK, sys.SEEK_SET, 0n, 0n), 0);
    // Classic POSIX locks: a process never conflicts with itself.
    assert.equal(sys.fcntlLock(a, sys.F_SETLK, sys.F_WRLCK, sys.SEEK_SET, 0n, 0n), 0);
    assert.equal(sys.fcntlLock(b, sys.F_SETLK, sys.F_WRLCK, sys.SEEK_SET, 0n, 0n), 0);
    assert.equal(sys.fcntlLock(a, sys.F_GETLK, sys.F_WRLCK, sys.SEEK_SET, 0n, 0n, 0, info), 0);
    assert.equal(info.type, sys.F_UNLCK);
    assert.equal(sys.fcntlLock(b, sys.F_OFD_GETLK, sys.F_WRLCK, sys.SEEK_SET, 0n, 0n, 0, info), 0);
    assert.equal(info.type, sys.F_WRLCK);
    assert.equal(info.pid, process.pid); // a POSIX lock reports its owner's pid
    assert.equal(sys.fcntlLock(a, sys.F_OFD_SETLK, sys.F_RDLCK, sys.SEEK_SET, 0n, 0n, 1234), -E.EINVAL); // OFD needs pid 0
    assert.equal(sys.fcntlLock(-1, sys.F_SETLK, sys.F_WRLCK, sys.SEEK_SET, 0n, 0n), -E.EBADF);
    sys.close(a);
    sys.close(b);
  });

  it('ioctl on /dev/fuse (nothing mounted): errors come back as -errno', () => {
    const fd = sys.open('/dev/fuse', sys.O_RDWR | sys.O_CLOEXEC);
    assert.ok(fd >= 0, sys.errnoName(fd));
    const r = sys.ioctl(fd, 0x1234, 0);
    assert.ok(r < 0);
    assert.equal(r, -E.ENOTTY);
    // FUSE ioctls need an initialised connection: refused, but as a clean errno.
    const other = sys.open('/dev/fuse', sys.O_RDWR | sys.O_CLOEXEC);
    const u32 = Buffer.alloc(4);
    u32.writeUInt32LE(other, 0);
    assert.ok(sys.ioctl(fd, sys.FUSE_DEV_IOC_CLONE, u32) < 0);
    const map = Buffer.alloc(16);
    map.writeInt32LE(dfd, 0);
    assert.ok(sys.ioctl(fd, sys.FUSE_DEV_IOC_BACKING_OPEN, map) < 0);
    assert.ok(sys.ioctl(fd, sys.FUSE_DEV_IOC_BACKING_CLOSE, u32) < 0);
    // A request built with `|` (negative int32) is reinterpreted as unsigned long.
    assert.equal(sys.ioctl(fd, 0x8004e500 | 0, u32), sys.ioctl(fd, sys.FUSE_DEV_IOC_CLONE, u32));
    assert.equal(sys.ioctl(-1, 0x1234, 0), -E.EBADF);
    sys.close(other);
    sys.close(fd);
  });

  it('mount/umount2 errors (nothing is mounted)', () => {
    assert.equal(sys.umount2(dir, 0), -E.EINVAL); // not a mount point
    assert.equal(sys.umount2(p('nope'), sys.MNT_DETACH), -E.ENOENT);
    assert.equal(sys.mount('none', p('nope'), 'tmpfs', sys.MS_NOSUID | sys.MS_NODEV, 'size=1m'), -E.ENOENT);
  });
});

describe('sockets, poll, eventfd', () => {
  it('socketpair + sendFd/recvFd', async () => {
    const pair = sys.socketpair();
    assert.ok(Array.isArray(pair));
    const [s0, s1] = pair;
    assert.equal(sys.fcntl(s0, sys.F_GETFD), sys.FD_CLOEXEC);
    const fd = mkfile('passed', 'via socket');
    assert.equal(sys.sendFd(s0, fd), 1);
    const got = sys.recvFd(s1);
    assert.ok(got >= 0, sys.errnoName(got));
    assert.notEqual(got, fd);
    assert.equal(sys.fcntl(got, sys.F_GETFD), sys.FD_CLOEXEC);
    const a = Buffer.alloc(256);
    const b = Buffer.alloc(256);
    sys.statx(fd, '', sys.AT_EMPTY_PATH, sys.STATX_INO, a);
    sys.statx(got, '', sys.AT_EMPTY_PATH, sys.STATX_INO, b);
    assert.equal(sys.decodeStatx(a).ino, sys.decodeStatx(b).ino);
    sys.close(got);
    // The async form, sender after the receiver started waiting.
    const pending = sys.recvFdAsync(s1);
    setTimeout(() => sys.sendFd(s0, fd), 20);
    const got2 = await pending;
    assert.ok(got2 >= 0);
    sys.close(got2);
    // Plain data without an fd, then EOF.
    assert.equal(sys.write(s0, Buffer.from('x'), 1), 1);
    assert.equal(sys.recvFd(s1), -E.EPROTO);
    sys.close(s0);
    assert.equal(sys.recvFd(s1), -E.ECONNRESET);
    sys.close(s1);
    sys.close(fd);
    assert.equal(sys.recvFd(-1), -E.EBADF);
    assert.equal(sys.socketpair(sys.AF_UNIX, 12345), -E.EINVAL);
  });

  it('poll and pollAsync', async () => {
    const pair = sys.socketpair() as [number, number];
    const rev: number[] = [];
    assert.equal(sys.poll([pair[0], pair[1]], sys.POLLIN, 0, rev), 0);
    assert.equal(sys.poll([pair[0]], sys.POLLOUT, 0, rev), 1);
    assert.ok(rev[0]! & sys.POLLOUT);
    sys.write(pair[1], Buffer.from('hi'), 2);
    assert.equal(sys.poll([pair[0], pair[1]], [sys.POLLIN, sys.POLLIN], 100, rev), 1);
    assert.equal(rev[0], sys.POLLIN);
    assert.equal(rev[1], 0);
    assert.equal(await sys.pollAsync(pair[1], sys.POLLIN, 10), 0); // timeout
    const out = { revents: 0 };
    assert.equal(await sys.pollAsync(pair[0], sys.POLLIN, 1000, out), 1);
    assert.equal(out.revents, sys.POLLIN);
    // Readiness arriving while the async poll waits.
    const waiting = sys.pollAsync(pair[1], sys.POLLIN, 2000);
    setTimeout(() => sys.write(pair[0], Buffer.from('y'), 1), 30);
    assert.equal(await waiting, 1);
    sys.close(pair[0]);
    sys.close(pair[1]);
    assert.equal(sys.poll([-1], sys.POLLIN, 0, rev), 0); // negative fds are ignored
    assert.equal(sys.poll([99999], sys.POLLIN, 0, rev), 1);
    assert.equal(rev[0], sys.POLLNVAL);
  });

  it('eventfd', () => {
    const fd = sys.eventfd(3, sys.EFD_CLOEXEC | sys.EFD_NONBLOCK);
    assert.ok(fd >= 0);
    assert.equal(sys.eventfdWrite(fd, 4n), 0);
    assert.equal(sys.eventfdRead(fd), 7n);
    assert.equal(sys.eventfdRead(fd), -BigInt(E.EAGAIN));
    assert.equal(sys.eventfdWrite(fd, 0xfffffffffffffffen), 0);
    assert.equal(sys.eventfdWrite(fd, 1), -E.EAGAIN); // would overflow
    sys.close(fd);
    assert.equal(sys.eventfd(0, 0x12345678), -E.EINVAL);
  });
});

describe('credentials, limits, ids', () => {
  it('ids', () => {
    assert.equal(sys.geteuid(), process.geteuid!());
    assert.equal(sys.getuid(), process.getuid!());
    assert.equal(sys.getegid(), process.getegid!());
    assert.equal(sys.getgid(), process.getgid!());
    assert.equal(sys.getpid(), process.pid);
    assert.equal(sys.gettid(), process.pid); // main thread
    assert.equal(sys.schedYield(), 0);
    assert.equal(sys.getfsuid(), sys.geteuid());
    assert.deepEqual(sys.readOverflowIds(), {
      uid: Number(fs.readFileSync('/proc/sys/kernel/overflowuid', 'utf8')),
      gid: Number(fs.readFileSync('/proc/sys/kernel/overflowgid', 'utf8')),
    });
  });

  it('rlimits', () => {
    const lim = sys.raiseNofileLimit();
    assert.equal(lim.soft, lim.hard);
    const r = sys.getrlimit(sys.RLIMIT_NOFILE);
    assert.ok(typeof r !== 'number');
    assert.equal(Number(r.soft), lim.soft);
    assert.equal(sys.setrlimit(sys.RLIMIT_NOFILE, r.hard + 1n, r.hard + 1n) <= 0, true);
    assert.equal(sys.setrlimit(sys.RLIMIT_NOFILE, 10n, 5n), -E.EINVAL);
    assert.equal(sys.getrlimit(12345), -E.EINVAL);
  });

  it('setThreadName in a Worker names only that thread; more than 15 bytes is ERANGE', async () => {
    const mainName = fs.readFileSync('/proc/thread-self/comm', 'utf8');
    const res = (await inWorker(`
      const r = sys.setThreadName('tsfuse-test');
      const name = fs.readFileSync('/proc/thread-self/comm', 'utf8');
      return { r, name, long: sys.setThreadName('x'.repeat(16)) };
    `)) as Record<string, unknown>;
    assert.deepEqual(res, { r: 0, name: 'tsfuse-test\n', long: -E.ERANGE });
    assert.equal(fs.readFileSync('/proc/thread-self/comm', 'utf8'), mainName);
  });

  it('setfsuid/setfsgid in a Worker change only that thread', async () => {
    const mainBefore = statusLine('Uid:');
    const res = (await inWorker(`
      const prevU = sys.setfsuid(1234);
      const prevG = sys.setfsgid(4321);
      const uid = status('Uid:'), gid = status('Gid:');
      const fsuid = sys.getfsuid(), tid = sys.gettid();
      sys.setfsuid(prevU); sys.setfsgid(prevG);
      // koffi's async calls work from a worker too.
      const [a, b] = sys.socketpair();
      const idle = await sys.pollAsync(a, sys.POLLIN, 10);
      sys.write(b, Buffer.from('x'), 1);
      const ready = await sys.pollAsync(a, sys.POLLIN, 1000);
      sys.close(a); sys.close(b);
      return { prevU, prevG, uid, gid, fsuid, tid, after: status('Uid:'), idle, ready };
    `)) as Record<string, unknown>;
    assert.equal(res.prevU, 0);
    assert.equal(res.prevG, 0);
    assert.equal(res.uid, '0 0 0 1234'); // real, effective, saved, fs
    assert.equal(res.gid, '0 0 0 4321');
    assert.equal(res.fsuid, 1234);
    assert.notEqual(res.tid, process.pid);
    assert.equal(res.after, '0 0 0 0');
    assert.equal(res.idle, 0);
    assert.equal(res.ready, 1);
    assert.equal(statusLine('Uid:'), mainBefore);
    assert.equal(statusLine('Gid:'), '0 0 0 0');
  });

  it('setgroupsThread and setresgidThread in a Worker change only that thread', async () => {
    const mainGroups = statusLine('Groups:');
    const res = (await inWorker(`
      const r = sys.setgroupsThread([1, 2, 3, 70000]);
      const groups = status('Groups:');
      const got = sys.getgroups();
      const g = sys.setresgidThread(-1, 4242, -1);
      const gid = status('Gid:');
      const egid = sys.getegid();
      sys.setresgidThread(-1, 0, -1);
      const r2 = sys.setgroupsThread([]);
      const u = sys.setresuidThread(-1, -1, -1);
      return { r, groups, got, g, gid, egid, r2, u, groupsAfter: status('Groups:') };
    `)) as Record<string, unknown>;
    assert.equal(res.r, 0);
    assert.equal(res.groups, '1 2 3 70000');
    assert.deepEqual(res.got, [1, 2, 3, 70000]);
    assert.equal(res.g, 0);
    assert.equal(res.gid, '0 4242 0 4242');
    assert.equal(res.egid, 4242);
    assert.equal(res.r2, 0);
    assert.equal(res.u, 0);
    assert.equal(res.groupsAfter, '');
    assert.equal(statusLine('Groups:'), mainGroups);
    assert.equal(statusLine('Gid:'), '0 0 0 0');
    assert.deepEqual(sys.getgroups(), mainGroups === '' ? [] : mainGroups.split(' ').map(Number));
  });
});
