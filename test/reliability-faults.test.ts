// Faults through real mounts: the daemon killed, the source directory and its
// files changed behind the mount's back, a full disk, I/O errors from the
// source, clients interrupted or killed in the middle of requests.
// docs/reliability.md describes each test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir, mountPassthrough, mountMemFs, unmountFs } from './helpers.js';
import { unmountKernel } from '../src/session/mount.js';
import {
  dropCaches, fdCount, isMounted, py, pyStart, run, sleep, smallTmpfs, start, startChildDaemon, waitFor,
} from './reliability-util.js';
import type { Started } from './reliability-util.js';

/** Python preamble: E(name, f) prints "name ok <value>" or "name <ERRNO>", with the time taken. */
const PY = String.raw`
import os, sys, errno, time, json, signal, mmap, shutil, ctypes, fcntl, struct
out = {}
def E(name, f, *a):
    t = time.monotonic()
    try:
        v = f(*a)
        out[name] = 'ok' if v is None else v
    except OSError as e:
        out[name] = errno.errorcode.get(e.errno, str(e.errno))
    out[name + '.s'] = round(time.monotonic() - t, 3)
def slurp(p):
    with open(p, 'rb') as f:
        return f.read().decode('latin1')
`;

function outcome(r: { stdout: string; stderr: string; status: number | null; signal: string | null }): Record<string, unknown> {
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`no JSON outcome (status ${r.status}, signal ${r.signal}): ${r.stdout}\n${r.stderr}`);
  }
}

// ---- the daemon killed ----------------------------------------------------------------------

test('daemon killed with SIGKILL, auto_unmount: the mount disappears; its users get errors, not a hang', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'f'), 'data');
  const d = await startChildDaemon({ fs: 'passthrough', options: { source: src }, mount: { autoUnmount: true } });
  // A user of the mount: cwd inside it and a file open, reading again on "go".
  const holder = pyStart(PY + String.raw`
os.chdir(sys.argv[1])
fd = os.open('f', os.O_RDONLY)
E('first', lambda: os.pread(fd, 4, 0).decode())
print('ready', flush=True)
sys.stdin.readline()
E('pread after kill', lambda: os.pread(fd, 4, 0).decode())
E('stat cwd', lambda: os.stat('.').st_mode)
print(json.dumps(out), flush=True)
`, [d.dir], { timeout: 30_000 });
  try {
    await holder.waitFor('ready');
    assert.ok(isMounted(d.dir));
    d.proc.kill('SIGKILL');
    await d.exited;
    await waitFor(() => !isMounted(d.dir), 10_000, 'auto_unmount to remove the mount');
    assert.ok(fs.statSync(d.dir).isDirectory());
    assert.deepEqual(fs.readdirSync(d.dir), [], 'the mount point is an empty directory again');
    // The process still using the (detached) mount gets errors at once.
    holder.proc.stdin!.end('go\n');
    const r = await holder.done;
    assert.equal(r.timedOut, false, 'the holder hung');
    const o = outcome(r);
    assert.equal(o.first, 'data');
    // Data the kernel can serve without the daemon (page cache, kernel
    // passthrough's backing file) may still be read; anything else fails.
    assert.match(String(o['pread after kill']), /^(ENOTCONN|ECONNABORTED|data)$/);
    assert.ok((o['pread after kill.s'] as number) < 1);
    assert.ok((o['stat cwd.s'] as number) < 1);
  } finally {
    holder.proc.kill('SIGKILL');
    await d.cleanup();
  }
});

test('daemon killed without auto_unmount: every use gets ENOTCONN promptly, unmount cleans up', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'f'), 'data');
  fs.mkdirSync(path.join(src, 'sub'));
  const d = await startChildDaemon({ fs: 'passthrough', options: { source: src } });
  try {
    // A process with its cwd and an open file in the mount, waiting for "go" on stdin.
    const holderCode = PY + String.raw`
os.chdir(os.path.join(sys.argv[1], 'sub'))
fd = os.open('../f', os.O_RDONLY)
assert os.pread(fd, 4, 0) == b'data'
print('ready', flush=True)
sys.stdin.readline()
E('pread', lambda: os.pread(fd, 4, 0).decode())
E('fstat', lambda: os.fstat(fd).st_size)
E('listdir cwd', lambda: os.listdir('.'))
E('close', lambda: os.close(fd))
print(json.dumps(out), flush=True)
`;
    const holder = pyStart(holderCode, [d.dir], { timeout: 30_000 });
    await holder.waitFor('ready');
    d.proc.kill('SIGKILL');
    await d.exited;
    assert.ok(isMounted(d.dir), 'without auto_unmount the dead mount stays');
    // New users: each call returns ENOTCONN at once.
    const r = await py(PY + String.raw`
m = sys.argv[1]
E('stat', lambda: os.stat(m))
E('listdir', lambda: os.listdir(m))
E('open', lambda: os.open(m + '/f', os.O_RDONLY))
E('create', lambda: os.open(m + '/new', os.O_WRONLY | os.O_CREAT))
E('mkdir', lambda: os.mkdir(m + '/d'))
E('statvfs', lambda: os.statvfs(m).f_bsize)
print(json.dumps(out))
`, [d.dir], { timeout: 10_000 });
    const o = outcome(r);
    for (const k of ['stat', 'listdir', 'open', 'create', 'mkdir', 'statvfs']) {
      assert.equal(o[k], 'ENOTCONN', `${k}: ${o[k]}`);
      assert.ok((o[`${k}.s`] as number) < 1, `${k} took ${o[`${k}.s`]} s`);
    }
    // The old user: its open file and cwd answer too (ENOTCONN, or ECONNABORTED for the aborted connection).
    holder.proc.stdin!.end('go\n');
    const hr = await holder.done;
    assert.equal(hr.timedOut, false, 'the holder hung');
    const h = outcome(hr);
    // Cached data and attributes (page cache, kernel passthrough, attr
    // timeout) may still be served by the kernel; a listing needs the daemon.
    assert.match(String(h.pread), /^(ENOTCONN|ECONNABORTED|data)$/, `pread: ${h.pread}`);
    assert.match(String(h.fstat), /^(ENOTCONN|ECONNABORTED|4)$/, `fstat: ${h.fstat}`);
    assert.match(String(h['listdir cwd']), /^(ENOTCONN|ECONNABORTED)$/, `listdir: ${h['listdir cwd']}`);
    for (const k of ['pread', 'fstat', 'listdir cwd', 'close']) assert.ok((h[`${k}.s`] as number) < 1, `${k} took ${h[`${k}.s`]} s`);
    // Unmount cleans the dead mount (the mount point becomes a plain directory again).
    unmountKernel(d.dir);
    assert.ok(!isMounted(d.dir));
    assert.deepEqual(fs.readdirSync(d.dir), []);
    assert.equal(fs.readFileSync(path.join(src, 'f'), 'utf8'), 'data', 'the source is untouched');
  } finally {
    await d.cleanup();
  }
});

test('a process blocked in a read when the daemon dies gets an error promptly', async () => {
  // MemFs in a child daemon, reads delayed by a minute: the reader is parked in the kernel.
  const d = await startChildDaemon({ fs: 'memfs', options: { slowReadMs: 60_000 } });
  try {
    fs.writeFileSync(path.join(d.dir, 'slow'), 'x'.repeat(100));
    const readers = [0, 1, 2].map(() => py(PY + String.raw`
fd = os.open(sys.argv[1], os.O_RDONLY)
print('opened', flush=True)
E('read', lambda: os.read(fd, 100))
print(json.dumps(out))
`, [path.join(d.dir, 'slow')], { timeout: 30_000 }));
    await sleep(1500);
    const t0 = Date.now();
    d.proc.kill('SIGKILL');
    await d.exited;
    for (const r of await Promise.all(readers)) {
      assert.equal(r.timedOut, false, 'the reader hung');
      const o = outcome(r);
      assert.match(String(o.read), /^(ECONNABORTED|ENOTCONN|EIO)$/, `read: ${o.read}`);
    }
    assert.ok(Date.now() - t0 < 5000, `readers took ${Date.now() - t0} ms to return`);
  } finally {
    await d.cleanup();
  }
  assert.ok(!isMounted(d.dir));
});

// ---- the source changed behind the mount's back -------------------------------------------------

test('source directory renamed while mounted: the mount keeps serving that directory', async () => {
  const parent = tmpdir();
  const src = path.join(parent, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'f'), 'one');
  const m = await mountPassthrough(src, { entryTimeout: 0, attrTimeout: 0 });
  try {
    assert.equal(fs.readFileSync(path.join(m.dir, 'f'), 'utf8'), 'one');
    fs.renameSync(src, path.join(parent, 'moved'));
    // Served by the directory's fd, not its path: same files, and new ones land in the moved directory.
    assert.equal(fs.readFileSync(path.join(m.dir, 'f'), 'utf8'), 'one');
    fs.writeFileSync(path.join(m.dir, 'g'), 'two');
    assert.equal(fs.readFileSync(path.join(parent, 'moved', 'g'), 'utf8'), 'two');
    fs.writeFileSync(path.join(parent, 'moved', 'h'), 'three');
    assert.deepEqual(fs.readdirSync(m.dir).sort(), ['f', 'g', 'h']);
    assert.ok(!fs.existsSync(src), 'nothing recreated at the old path');
  } finally {
    await unmountFs(m);
  }
});

test('source directory removed while mounted: ENOENT for names, the daemon keeps serving, unmount works', async () => {
  const parent = tmpdir();
  const src = path.join(parent, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'f'), 'kept open');
  fs.mkdirSync(path.join(src, 'sub'));
  const m = await mountPassthrough(src, { entryTimeout: 0, attrTimeout: 0 });
  try {
    const fd = fs.openSync(path.join(m.dir, 'f'), 'r');
    fs.rmSync(src, { recursive: true });
    const r = await py(PY + String.raw`
m = sys.argv[1]
E('stat f', lambda: os.stat(m + '/f'))
E('listdir', lambda: os.listdir(m))
E('create', lambda: os.open(m + '/new', os.O_WRONLY | os.O_CREAT, 0o644))
E('mkdir', lambda: os.mkdir(m + '/d'))
E('stat root', lambda: os.stat(m).st_nlink)
E('statvfs', lambda: os.statvfs(m).f_bsize > 0)
print(json.dumps(out))
`, [m.dir], { timeout: 10_000 });
    const o = outcome(r);
    assert.equal(o['stat f'], 'ENOENT');
    assert.deepEqual(o.listdir, []);
    assert.equal(o.create, 'ENOENT');
    assert.equal(o.mkdir, 'ENOENT');
    assert.equal(o['stat root'], 0, 'the root is a deleted directory (nlink 0), still served');
    assert.equal(o.statvfs, true);
    // A file opened before still reads, as on the host.
    const b = Buffer.alloc(20);
    assert.equal(fs.readSync(fd, b, 0, 20, 0), 9);
    assert.equal(b.subarray(0, 9).toString(), 'kept open');
    fs.closeSync(fd);
    assert.ok(!fs.existsSync(src), 'nothing recreated at the old path');
  } finally {
    await unmountFs(m);
  }
  assert.ok(!isMounted(m.dir));
});

test('source directory replaced while mounted: the mount keeps the old (deleted) directory, as a bind mount would', async () => {
  const parent = tmpdir();
  const src = path.join(parent, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'old'), 'old');
  const m = await mountPassthrough(src, { entryTimeout: 0, attrTimeout: 0 });
  try {
    fs.rmSync(src, { recursive: true });
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'new'), 'new');
    assert.deepEqual(fs.readdirSync(m.dir), []);
    assert.throws(() => fs.statSync(path.join(m.dir, 'new')), { code: 'ENOENT' });
    assert.throws(() => fs.statSync(path.join(m.dir, 'old')), { code: 'ENOENT' });
    assert.throws(() => fs.writeFileSync(path.join(m.dir, 'x'), 'x'), { code: 'ENOENT' });
    assert.deepEqual(fs.readdirSync(src), ['new'], 'the new directory is untouched');
    // A fresh mount of the path serves the new directory.
    const m2 = await mountPassthrough(src);
    try {
      assert.equal(fs.readFileSync(path.join(m2.dir, 'new'), 'utf8'), 'new');
    } finally {
      await unmountFs(m2);
    }
  } finally {
    await unmountFs(m);
  }
});

// The same script runs natively (client and host paths are one directory)
// and through a mount (client = the mount, host = its source): every outcome
// must be the same.
const BEHIND_BACK = PY + String.raw`
c, h = sys.argv[1], sys.argv[2]
def put(p, data):
    with open(p, 'wb') as f:
        f.write(data.encode())
os.mkdir(c + '/dir')
for n in ['a', 'b', 'c', 'd', 'e']:
    put(c + '/dir/' + n, n * 10)
ino = {n: os.stat(c + '/dir/' + n).st_ino for n in 'abcde'}
E('read a', slurp, c + '/dir/a')
# changed on the host: same size, then bigger, then smaller
put(h + '/dir/a', 'A' * 10)
E('read a same size', slurp, c + '/dir/a')
put(h + '/dir/a', 'B' * 5000)
E('read a grown', lambda: (lambda s: (len(s), s[:3]))(slurp(c + '/dir/a')))
put(h + '/dir/a', 'C' * 3)
E('read a shrunk', slurp, c + '/dir/a')
# renamed on the host: old name gone, new name is the same file (held open,
# so the kernel keeps its inode: node ids are only stable while the kernel
# remembers the file, unless use_host_ino)
bfd = os.open(c + '/dir/b', os.O_PATH)  # pins the inode without an OPEN
os.rename(h + '/dir/b', h + '/dir/b2')
E('stat b', lambda: os.stat(c + '/dir/b'))
E('read b2', slurp, c + '/dir/b2')
E('b2 same inode', lambda: os.stat(c + '/dir/b2').st_ino == ino['b'] == os.fstat(bfd).st_ino)
os.close(bfd)
# deleted on the host while open through the client: the open file still reads
fd = os.open(c + '/dir/c', os.O_RDONLY)
os.unlink(h + '/dir/c')
E('stat c', lambda: os.stat(c + '/dir/c'))
E('open c', lambda: os.open(c + '/dir/c', os.O_RDONLY))
E('read open c', lambda: os.pread(fd, 100, 0).decode())
E('fstat open c nlink', lambda: os.fstat(fd).st_nlink)
os.close(fd)
# replaced on the host: a new file under the old name
os.unlink(h + '/dir/d')
put(h + '/dir/d', 'new d')
E('read d', slurp, c + '/dir/d')
E('d is a new inode', lambda: os.stat(c + '/dir/d').st_ino != ino['d'])
# a file turned into a directory and back
os.unlink(h + '/dir/e')
os.mkdir(h + '/dir/e')
E('e is a dir', lambda: os.path.isdir(c + '/dir/e'))
put(h + '/dir/e/inner', 'inner')
E('read e/inner', slurp, c + '/dir/e/inner')
# created on the host: visible at once
put(h + '/dir/f', 'host made')
E('read f', slurp, c + '/dir/f')
E('listdir', lambda: sorted(os.listdir(c + '/dir')))
# a directory deleted on the host while a client has its cwd there
os.mkdir(h + '/gone')
os.chdir(c + '/gone')
os.rmdir(h + '/gone')
E('listdir cwd', lambda: os.listdir('.'))
E('create in cwd', lambda: os.open('x', os.O_WRONLY | os.O_CREAT, 0o644))
E('mkdir in cwd', lambda: os.mkdir('y'))
os.chdir('/')
E('stat gone', lambda: os.stat(c + '/gone'))
# the whole tree removed and rebuilt on the host
shutil.rmtree(h + '/dir')
os.mkdir(h + '/dir')
put(h + '/dir/a', 'rebuilt')
E('read rebuilt a', slurp, c + '/dir/a')
E('stat rebuilt b2', lambda: os.stat(c + '/dir/b2'))
print(json.dumps({k: v for k, v in out.items() if not k.endswith('.s')}))
`;

for (const [name, opts] of [['default options', {}], ['kernel passthrough off', { passthrough: false }]] as const) {
  test(`files changed, renamed, deleted, replaced on the host (${name}): clients see the host's current state, as natively`, async () => {
    const native = tmpdir();
    const nat = outcome(await py(BEHIND_BACK, [native, native], { timeout: 20_000 }));
    const src = tmpdir();
    const m = await mountPassthrough(src, { ...opts, entryTimeout: 0, attrTimeout: 0 });
    try {
      const r = await py(BEHIND_BACK, [m.dir, src], { timeout: 20_000 });
      // Whether the host gives the replacing file the old one's inode number
      // is ext4's choice (it reuses freed numbers, but not always: both seen
      // on /tmp here). Through the mount the replacement is always a new node
      // (birth time is part of identity), so that key is checked on its own.
      const o = outcome(r);
      assert.equal(o['d is a new inode'], true, 'the replacing file got the old node id');
      delete o['d is a new inode'];
      delete nat['d is a new inode'];
      assert.deepEqual(o, nat);
      // And still serving afterwards.
      fs.writeFileSync(path.join(m.dir, 'after'), 'ok');
      assert.equal(fs.readFileSync(path.join(src, 'after'), 'utf8'), 'ok');
    } finally {
      await unmountFs(m);
    }
  });
}

test('host deletes files whose inode fds the daemon evicted (fd limit 256): ENOENT, never stale data or a hang; new files are seen', async () => {
  // With RLIMIT_NOFILE 256 the daemon keeps at most 192 fds for inodes and open files, and reopens
  // the others from file handles: the deleted ones fail (ESTALE inside), which
  // the kernel's path walk retries and turns into ENOENT.
  const src = tmpdir();
  const N = 400;
  for (let i = 0; i < N; i++) fs.writeFileSync(path.join(src, `f${i}`), `v1 ${i}`);
  const d = await startChildDaemon(
    { fs: 'passthrough', options: { source: src, entryTimeout: 60, attrTimeout: 0 } },
    { prefix: ['prlimit', '--nofile=256:256', '--'] },
  );
  try {
    const r = await py(PY + String.raw`
m, h, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    assert slurp('%s/f%d' % (m, i)) == 'v1 %d' % i
for i in range(n):
    os.unlink('%s/f%d' % (h, i))
res = {}
for i in range(n):
    try:
        st = os.stat('%s/f%d' % (m, i))
        k = 'ok nlink=%d' % st.st_nlink
    except OSError as e:
        k = errno.errorcode[e.errno]
    res[k] = res.get(k, 0) + 1
out['after delete'] = res
opened = {}
for i in range(n):
    try:
        k = 'read ' + slurp('%s/f%d' % (m, i))[:2]
    except OSError as e:
        k = errno.errorcode[e.errno]
    opened[k] = opened.get(k, 0) + 1
out['open after delete'] = opened
for i in range(n):
    with open('%s/f%d' % (h, i), 'w') as f:
        f.write('v2 %d' % i)
print(json.dumps(out))
`, [d.dir, src, String(N)], { timeout: 60_000 });
    const o = outcome(r);
    const after = o['after delete'] as Record<string, number>;
    // Within the entry timeout the kernel may trust its cached names: a stat
    // then reaches the deleted file itself (nlink 0), as an open fd would.
    for (const k of Object.keys(after)) assert.match(k, /^(ENOENT|ok nlink=0)$/, JSON.stringify(after));
    assert.ok((after.ENOENT ?? 0) > 0, `evicted inodes must report the deletion: ${JSON.stringify(after)}`);
    for (const k of Object.keys(o['open after delete'] as object)) assert.match(k, /^(ENOENT|read v1)$/, JSON.stringify(o['open after delete']));
    // New lookups (names dropped from the kernel's cache) see the new files.
    fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
    const r2 = await py(PY + String.raw`
m, n = sys.argv[1], int(sys.argv[2])
bad = [i for i in range(n) if slurp('%s/f%d' % (m, i)) != 'v2 %d' % i]
print(json.dumps({'bad': bad[:10]}))
`, [d.dir, String(N)], { timeout: 60_000 });
    assert.deepEqual(outcome(r2), { bad: [] });
    assert.ok(isMounted(d.dir));
    d.proc.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.output());
  } finally {
    await d.cleanup();
  }
});

// ---- a full disk --------------------------------------------------------------------------------

const DISK_FULL = PY + String.raw`
m = sys.argv[1]
writeback = sys.argv[2] == '1'
keep = bytes(range(256)) * 4096  # 1 MiB written before the disk fills
with open(m + '/keep', 'wb') as f:
    f.write(keep)
def fill():
    fd = os.open(m + '/fill', os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        # Bounded: with the writeback cache, writes land in the page cache and
        # the error shows at fsync/close.
        for i in range(256):
            os.write(fd, b'x' * 65536)
        os.fsync(fd)
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
E('write until full', fill)
def fa():
    fd = os.open(m + '/fa', os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
        if libc.fallocate(fd, 0, 0, 4 << 20) != 0:
            raise OSError(ctypes.get_errno(), 'fallocate')
    finally:
        os.close(fd)
E('fallocate', fa)
E('posix_fallocate', lambda: os.posix_fallocate(os.open(m + '/pfa', os.O_WRONLY | os.O_CREAT, 0o644), 0, 4 << 20))
def cp():
    shutil.copyfile(m + '/keep', m + '/copy')
    fd = os.open(m + '/copy', os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
E('copy', cp)
def cfr():
    a = os.open(m + '/keep', os.O_RDONLY)
    b = os.open(m + '/cfr', os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        n = 0
        while n < len(keep):
            k = os.copy_file_range(a, b, len(keep) - n)
            if k == 0:
                break
            n += k
        os.fsync(b)
    finally:
        os.close(a)
        os.close(b)
E('copy_file_range', cfr)
# mmap writes in a child: a fault on a full filesystem may be a SIGBUS (as natively on tmpfs)
child = r'''
import os, mmap, sys, errno
fd = os.open(sys.argv[1] + '/mm', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 4 << 20)
m = mmap.mmap(fd, 4 << 20)
try:
    for i in range(0, 4 << 20, 4096):
        m[i:i + 4096] = b'y' * 4096
    m.flush()
    os.fsync(fd)
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
'''
import subprocess
p = subprocess.run([sys.executable, '-c', child, m], capture_output=True, text=True, timeout=60)
out['mmap write'] = p.stdout.strip() or ('signal %d' % -p.returncode if p.returncode < 0 else 'exit %d' % p.returncode)
E('keep intact', lambda: slurp(m + '/keep') == keep.decode('latin1'))
E('listdir', lambda: sorted(os.listdir(m)))
E('mkdir', lambda: os.mkdir(m + '/still-serving'))
E('unlink fill', lambda: os.unlink(m + '/fill'))
def after():
    # The host frees the unlinked file's blocks once the daemon drops its last
    # reference (when the kernel forgets the inode): allow a moment for that.
    for i in range(40):
        try:
            with open(m + '/after', 'wb') as f:
                f.write(b'z' * 100000)
            break
        except OSError as e:
            if e.errno != errno.ENOSPC or i == 39:
                raise
            time.sleep(0.1)
    return slurp(m + '/after') == 'z' * 100000
E('write after freeing', after)
print(json.dumps({k: v for k, v in out.items() if not k.endswith('.s')}))
`;

for (const [name, opts] of [['default options', {}], ['kernel passthrough off', { passthrough: false }], ['writeback', { writeback: true }]] as const) {
  test(`disk full (${name}): ENOSPC for writes, fallocate, copies and mmap writes; data intact; still serving`, async () => {
    const t = smallTmpfs('8m');
    try {
      const m = await mountPassthrough(t.dir, opts);
      try {
        const fds0 = fdCount();
        const r = await py(DISK_FULL, [m.dir, 'writeback' in opts ? '1' : '0'], { timeout: 120_000 });
        const o = outcome(r);
        const full = /^(ENOSPC|EDQUOT)$/;
        for (const k of ['write until full', 'fallocate', 'posix_fallocate', 'copy', 'copy_file_range']) assert.match(String(o[k]), full, `${k}: ${o[k]}`);
        // SIGBUS (7) is what a store into a page the filesystem cannot back gives, natively too.
        assert.match(String(o['mmap write']), /^(ENOSPC|EDQUOT|signal 7)$/, `mmap write: ${o['mmap write']}`);
        assert.equal(o['keep intact'], true);
        assert.equal(o.mkdir, 'ok');
        assert.equal(o['unlink fill'], 'ok');
        assert.equal(o['write after freeing'], true);
        assert.deepEqual(fs.readFileSync(path.join(t.dir, 'keep')), Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => i & 255)));
        await dropCaches();
        assert.ok(fdCount() <= fds0 + 2, `daemon fds ${fds0} -> ${fdCount()}`);
      } finally {
        await unmountFs(m);
      }
    } finally {
      t.unmount();
    }
  });
}

// ---- I/O errors from the source -------------------------------------------------------------------

for (const [name, opts] of [['default options', {}], ['kernel passthrough off', { passthrough: false }]] as const) {
  test(`I/O errors of the source reach the client as EIO, promptly (${name})`, async () => {
    // A MemFs whose files named bad* fail reads and writes with EIO, served
    // again through a passthrough: the host errno must come through unchanged.
    const mem = await mountMemFs({ injectIoErrors: true, timeout: 0 });
    try {
      fs.writeFileSync(path.join(mem.dir, 'good'), 'good data');
      for (const n of ['bad1', 'bad2']) {
        fs.writeFileSync(path.join(mem.dir, n), '');
        fs.truncateSync(path.join(mem.dir, n), 64 << 10); // a size, so reads reach the filesystem
      }
      const m = await mountPassthrough(mem.dir, { ...opts, entryTimeout: 0, attrTimeout: 0 });
      try {
        const r = await py(PY + String.raw`
m = sys.argv[1]
E('read good', slurp, m + '/good')
E('read bad1', slurp, m + '/bad1')
def pread_bad():
    fd = os.open(m + '/bad2', os.O_RDONLY)
    try:
        return os.pread(fd, 10, 4096)
    finally:
        os.close(fd)
E('pread bad2', pread_bad)
def direct_bad():
    fd = os.open(m + '/bad2', os.O_RDONLY | os.O_DIRECT)
    try:
        buf = mmap.mmap(-1, 4096)
        return os.preadv(fd, [buf], 0)
    finally:
        os.close(fd)
E('O_DIRECT read bad2', direct_bad)
def write_bad():
    fd = os.open(m + '/bad1', os.O_WRONLY)
    try:
        os.write(fd, b'abc')
        os.fsync(fd)
    finally:
        os.close(fd)
E('write+fsync bad1', write_bad)
E('copy bad1', lambda: shutil.copyfile(m + '/bad1', m + '/copy'))
child = r'''
import os, mmap, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
mm = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
print(mm[:4])
'''
import subprocess
p = subprocess.run([sys.executable, '-c', child, m + '/bad2'], capture_output=True, text=True, timeout=20)
out['mmap read bad2'] = 'signal %d' % -p.returncode if p.returncode < 0 else p.stdout.strip()
E('read good again', slurp, m + '/good')
E('listdir', lambda: sorted(os.listdir(m)))
print(json.dumps(out))
`, [m.dir], { timeout: 30_000 });
        assert.equal(r.timedOut, false, 'a client hung');
        const o = outcome(r);
        assert.equal(o['read good'], 'good data');
        for (const k of ['read bad1', 'pread bad2', 'O_DIRECT read bad2', 'write+fsync bad1', 'copy bad1']) {
          assert.equal(o[k], 'EIO', `${k}: ${o[k]}`);
          assert.ok((o[`${k}.s`] as number) < 2, `${k} took ${o[`${k}.s`]} s`);
        }
        assert.equal(o['mmap read bad2'], 'signal 7', 'a mapped read of an unreadable page is a SIGBUS');
        assert.equal(o['read good again'], 'good data');
        assert.deepEqual((o.listdir as string[]).filter((n) => n !== 'copy'), ['bad1', 'bad2', 'good']);
      } finally {
        await unmountFs(m);
      }
    } finally {
      await unmountFs(mem);
    }
  });
}

// ---- interrupted and killed clients ----------------------------------------------------------------

test('a client killed in the middle of a slow read leaves the daemon serving', async () => {
  const m = await mountMemFs({ slowReadMs: 3000 });
  try {
    fs.writeFileSync(path.join(m.dir, 'slow'), 'slow data');
    fs.mkdirSync(path.join(m.dir, 'd'));
    const readers = Array.from({ length: 4 }, () => start('cat', [path.join(m.dir, 'slow')], { timeout: 20_000, input: '' }));
    await sleep(500);
    const t0 = Date.now();
    for (const r of readers) r.proc.kill('SIGKILL');
    const rs = await Promise.all(readers.map((r) => r.done));
    for (const r of rs) assert.equal(r.signal, 'SIGKILL');
    assert.ok(Date.now() - t0 < 2500, `killed readers took ${Date.now() - t0} ms to go (the interrupt should end the read)`);
    // Still serving: metadata at once, data after the delay.
    assert.deepEqual(fs.readdirSync(m.dir).sort(), ['d', 'slow']);
    fs.writeFileSync(path.join(m.dir, 'd', 'x'), 'x');
    const r = await run('cat', [path.join(m.dir, 'slow')], { timeout: 20_000 });
    assert.equal(r.stdout, 'slow data');
  } finally {
    await unmountFs(m);
  }
});

test('SIGINT to a process blocked in a slow read: the read is interrupted (EINTR), the handler runs', async () => {
  const m = await mountMemFs({ slowReadMs: 20_000 });
  try {
    fs.writeFileSync(path.join(m.dir, 'slow'), 'slow data');
    const code = PY + String.raw`
libc = ctypes.CDLL(None, use_errno=True)
got = []
signal.signal(signal.SIGINT, lambda s, f: got.append(s))
fd = os.open(sys.argv[1], os.O_RDONLY)
buf = ctypes.create_string_buffer(64)
print('reading', flush=True)
t = time.monotonic()
n = libc.read(fd, buf, 64)
out['read'] = n if n >= 0 else errno.errorcode[ctypes.get_errno()]
out['s'] = round(time.monotonic() - t, 2)
out['handler ran'] = got == [signal.SIGINT]
print(json.dumps(out), flush=True)
`;
    const p = pyStart(code, [path.join(m.dir, 'slow')], { timeout: 30_000, input: '' });
    try {
      await p.waitFor('reading');
      await sleep(500);
      p.proc.kill('SIGINT');
      const r = await p.done;
      assert.equal(r.timedOut, false);
      const o = outcome(r);
      assert.equal(o.read, 'EINTR');
      assert.ok((o.s as number) < 5, `took ${o.s} s`);
      assert.equal(o['handler ran'], true);
    } finally {
      p.proc.kill('SIGKILL');
    }
    assert.deepEqual(fs.readdirSync(m.dir), ['slow']);
  } finally {
    await unmountFs(m);
  }
});

for (const [name, opts] of [['default options', {}], ['kernel passthrough off', { passthrough: false }]] as const) {
  test(`SIGINT to a process blocked in fcntl(F_SETLKW) / flock on a passthrough file returns EINTR (${name})`, async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'locked'), 'x');
    const m = await mountPassthrough(src, opts);
    const kids: Started[] = [];
    try {
      const f = path.join(m.dir, 'locked');
      // The holder: a write lock (fcntl) and an exclusive flock, held until killed.
      const holder = pyStart(String.raw`
import os, sys, fcntl, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print('locked', flush=True)
time.sleep(120)
`, [f], { timeout: 180_000, input: '' });
      kids.push(holder);
      await holder.waitFor('locked');
      for (const how of ['fcntl', 'flock', 'raise']) {
        const code = PY + String.raw`
how = sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
class Interrupted(Exception):
    pass
def handler(s, f):
    if how == 'raise':
        raise Interrupted()
signal.signal(signal.SIGINT, handler)
fd = os.open(sys.argv[1], os.O_RDWR)
print('waiting', flush=True)
t = time.monotonic()
if how == 'fcntl':
    fl = ctypes.create_string_buffer(struct.pack('@hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0), 32)
    r = libc.fcntl(fd, fcntl.F_SETLKW, fl)
    out['result'] = r if r == 0 else errno.errorcode[ctypes.get_errno()]
elif how == 'flock':
    r = libc.flock(fd, fcntl.LOCK_EX)
    out['result'] = r if r == 0 else errno.errorcode[ctypes.get_errno()]
else:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        out['result'] = 'locked'
    except Interrupted:
        out['result'] = 'Interrupted raised'
out['s'] = round(time.monotonic() - t, 2)
print(json.dumps(out), flush=True)
`;
        const w = pyStart(code, [f, how], { timeout: 30_000, input: '' });
        kids.push(w);
        await w.waitFor('waiting');
        await sleep(400);
        w.proc.kill('SIGINT');
        const r = await w.done;
        assert.equal(r.timedOut, false, `${how}: the waiter hung`);
        const o = outcome(r);
        assert.equal(o.result, how === 'raise' ? 'Interrupted raised' : 'EINTR', `${how}: ${JSON.stringify(o)}`);
        assert.ok((o.s as number) < 5);
      }
      holder.proc.kill('SIGKILL');
      await holder.done;
      // The lock goes with its holder: a new locker gets it at once.
      const r = await py(String.raw`
import os, sys, fcntl
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
print('got it')
`, [f], { timeout: 10_000 });
      assert.equal(r.stdout.trim(), 'got it');
    } finally {
      for (const k of kids) k.proc.kill('SIGKILL');
      await Promise.all(kids.map((k) => k.done));
      await unmountFs(m);
    }
  });
}

test('clients killed in the middle of large writes and copies: the daemon serves on and its fds return to the baseline', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(64 << 20, 7));
  for (const opts of [{}, { passthrough: false }]) {
    const m = await mountPassthrough(src, opts);
    try {
      await dropCaches();
      const fds0 = fdCount();
      const kids = [
        start('dd', ['if=/dev/zero', `of=${m.dir}/w1`, 'bs=1M', 'count=100000'], { timeout: 30_000, input: '' }),
        start('dd', [`if=${m.dir}/big`, `of=${m.dir}/w2`, 'bs=64k', 'iflag=direct', 'oflag=direct'], { timeout: 30_000, input: '' }),
        start('cp', [`${m.dir}/big`, `${m.dir}/w3`], { timeout: 30_000, input: '' }),
        start('python3', ['-c', 'import os,sys\nwhile True:\n  os.listdir(sys.argv[1]); os.stat(sys.argv[1] + "/big")', m.dir], { timeout: 30_000, input: '' }),
      ];
      await sleep(300);
      for (const k of kids) k.proc.kill('SIGKILL');
      await Promise.all(kids.map((k) => k.done));
      assert.ok(fs.statSync(path.join(m.dir, 'big')).size === 64 << 20);
      fs.writeFileSync(path.join(m.dir, 'after'), 'still serving');
      assert.equal(fs.readFileSync(path.join(src, 'after'), 'utf8'), 'still serving');
      for (const n of ['w1', 'w2', 'w3', 'after']) fs.rmSync(path.join(m.dir, n), { force: true });
      await dropCaches();
      assert.ok(fdCount() <= fds0 + 1, `daemon fds ${fds0} -> ${fdCount()}`);
    } finally {
      await unmountFs(m);
    }
  }
});


test('the source\'s own filesystem dies under the mount (a FUSE source whose daemon is killed): errors, not hangs; unmount works', async () => {
  // The source is a MemFs served by a child process; the passthrough runs here.
  const d = await startChildDaemon({ fs: 'memfs', options: {} });
  fs.writeFileSync(path.join(d.dir, 'f'), 'from memfs');
  fs.mkdirSync(path.join(d.dir, 'sub'));
  const m = await mountPassthrough(d.dir, { entryTimeout: 0, attrTimeout: 0 });
  try {
    assert.equal(fs.readFileSync(path.join(m.dir, 'f'), 'utf8'), 'from memfs');
    d.proc.kill('SIGKILL');
    await d.exited;
    const r = await py(PY + String.raw`
m = sys.argv[1]
E('stat f', lambda: os.stat(m + '/f').st_size)
E('read f', slurp, m + '/f')
E('listdir', lambda: os.listdir(m))
E('create', lambda: os.open(m + '/new', os.O_WRONLY | os.O_CREAT, 0o644))
E('statvfs', lambda: os.statvfs(m).f_bsize)
print(json.dumps(out))
`, [m.dir], { timeout: 20_000 });
    assert.equal(r.timedOut, false, 'a client hung');
    const o = outcome(r);
    for (const k of ['stat f', 'read f', 'listdir', 'create', 'statvfs']) {
      assert.match(String(o[k]), /^(ENOTCONN|ECONNABORTED|EIO|ESTALE)$/, `${k}: ${o[k]}`);
      assert.ok((o[`${k}.s`] as number) < 2, `${k} took ${o[`${k}.s`]} s`);
    }
  } finally {
    await unmountFs(m);
    await d.cleanup();
  }
  assert.ok(!isMounted(m.dir) && !isMounted(d.dir));
});
