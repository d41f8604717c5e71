// More live inodes than the fd limit (SPEC §3): a C peer keeping one fd per
// inode fails with EMFILE here; tsfuse reopens inodes from file handles. And
// many live inodes coming and going: the inode table's chunks and hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { sh, tmpdir, withMount } from './helpers.js';
import { isMounted, py, startChildDaemon, withUserFuseDevice } from './reliability-util.js';

test('5,000 live inodes under a 1,000 fd limit: every file listed, stated, read', () => {
  const src = tmpdir();
  const mnt = tmpdir('tsfuse-mnt-');
  const r = spawnSync(process.execPath, ['--import', 'tsx', new URL('./fixtures/fdlimit-child.ts', import.meta.url).pathname, src, mnt], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(res.errors, []);
  assert.equal(res.listed, 5000);
  assert.equal(res.stated, 5000);
  assert.equal(res.read, 5000);
  assert.ok(res.maxFds < 1000, `the daemon stayed under its limit: ${res.maxFds} fds`);
  assert.equal(fs.statSync(path.join(src, 'f0')).mode & 0o777, 0o600);
  assert.ok(fs.existsSync(path.join(src, 'renamed')));
});

// Open files and inode fds share the daemon's fd budget: inode fds give way
// to open files. Before, inode fds kept half the limit for themselves, and a
// client holding more files open than the other half got EMFILE from open(2)
// although the daemon had fds to spare.
test('open files push inode fds out (daemon fd limit 1,000): 800 files held open at once, then more than fit: EMFILE, and serving goes on', async () => {
  const src = tmpdir();
  const N = 1200;
  for (let i = 0; i < N; i++) fs.writeFileSync(path.join(src, `f${i}`), `content ${i}`);
  const d = await startChildDaemon(
    { fs: 'passthrough', options: { source: src, entryTimeout: 3600, attrTimeout: 3600 } },
    { prefix: ['prlimit', '--nofile=1000:1000', '--'] },
  );
  try {
    const r = await py(String.raw`
import os, sys, json, errno, resource
m, n, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
out = {}
# The kernel holds every inode (long timeouts): the daemon has more inodes than fds.
for i in range(n):
    os.stat('%s/f%d' % (m, i))
def hold(k):
    fds, err = [], None
    try:
        for i in range(k):
            fds.append(os.open('%s/f%d' % (m, i), os.O_RDONLY))
    except OSError as e:
        err = errno.errorcode[e.errno]
    bad = [i for i, fd in enumerate(fds) if os.pread(fd, 64, 0).decode() != 'content %d' % i]
    daemon_fds = len(os.listdir('/proc/%s/fd' % pid))
    for fd in fds:
        os.close(fd)
    return {'held': len(fds), 'error': err, 'bad': bad[:5], 'daemon_fds': daemon_fds}
out['800'] = hold(800)
out['all'] = hold(n)
out['after'] = [i for i in range(n) if open('%s/f%d' % (m, i)).read() != 'content %d' % i][:5]
print(json.dumps(out))
`, [d.dir, String(N), String(d.pid)], { timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr + d.output());
    const o = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual(o['800'], { held: 800, error: null, bad: [], daemon_fds: o['800'].daemon_fds });
    // Each file the client holds is an fd in the daemon: the 800 are really open there, under its 1,000.
    assert.ok(o['800'].daemon_fds >= 800, JSON.stringify(o));
    // More than the daemon can hold: a clean EMFILE near its limit, the files it did open intact.
    assert.equal(o.all.error, 'EMFILE', JSON.stringify(o));
    assert.ok(o.all.held >= 850 && o.all.held < 1000, JSON.stringify(o));
    assert.deepEqual(o.all.bad, []);
    assert.deepEqual(o.after, [], 'every file reads back after the pressure');
    assert.ok(isMounted(d.dir));
    d.proc.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.output());
  } finally {
    await d.cleanup();
  }
});

// The inode table's hashes grew while a new inode's slot was being filled, and
// entered that slot twice. Once the kernel forgot every inode of that slot's
// chunk (16,384 slots; the chunk is then dropped), a lookup whose probe passed
// the extra entry failed: READDIRPLUS answered EIO, and `rm -rf` of an
// unpacked tree left directories behind. Here the hashes last grow when the
// 32,768th inode is added, one of b/'s files (a/ and b/ are listed in turn);
// b/'s files are all removed, and so forgotten, while keep/ holds host hard
// links to them. Listing keep/ then probes for those very host inodes; the
// freed slots of a/'s removed files take keep/'s new inodes, so the dropped
// chunk stays dropped.
test('36,700 live inodes, a chunk of them forgotten while other names of them remain: those names listed and stated', async () => {
  const src = tmpdir();
  const made = spawnSync('python3', ['-c', `
import os, sys
root = sys.argv[1]
for d, n in (('a', 32700), ('b', 4000)):
    os.mkdir(os.path.join(root, d))
    for k in range(n):
        os.close(os.open(os.path.join(root, d, 'f%05d' % k), os.O_CREAT | os.O_WRONLY, 0o644))
os.mkdir(os.path.join(root, 'keep'))
for k in range(4000):
    os.link(os.path.join(root, 'b', 'f%05d' % k), os.path.join(root, 'keep', 'f%05d' % k))
`, src], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  await withMount(src, { entryTimeout: 3600, attrTimeout: 3600 }, {}, async (m) => {
    const count = (cmd: string): number => {
      const r = sh(cmd, { cwd: m.dir, timeout: 120_000 });
      assert.equal(r.status, 0, `${cmd}: ${r.stderr.slice(0, 500)}`);
      return Number(r.stdout.trim());
    };
    assert.equal(count('ls -l a | grep -c "^-"'), 32700);
    assert.equal(count('ls -l b | grep -c "^-"'), 4000);
    const rm = sh('find b -type f -delete && find a -name "f0[0-4]*" -delete', { cwd: m.dir, timeout: 120_000 });
    assert.equal(rm.status, 0, rm.stderr.slice(0, 500));
    assert.equal(fs.readdirSync(path.join(src, 'a')).length, 27700);
    // The kernel forgets a removed file's inode once its name is gone (a
    // FORGET after the UNLINK's reply): a moment for the last ones.
    await new Promise((r) => setTimeout(r, 500));
    for (let round = 0; round < 2; round++) {
      assert.equal(count('ls -l keep | grep -c "^-"'), 4000);
      assert.equal(count('find keep a -type f -size -1 | wc -l'), 31700);
    }
    const all = sh('rm -rf a b keep', { cwd: m.dir, timeout: 120_000 });
    assert.equal(all.status, 0, all.stderr.slice(0, 500));
    assert.deepEqual(fs.readdirSync(src), []);
  });
});

// A daemon that cannot use file handles (not root: open_by_handle_at needs
// CAP_DAC_READ_SEARCH) reopens inodes by parent directory and name, checked
// against their identity. Before, it kept an fd per live inode, so past its
// fd limit every lookup failed with EMFILE, and before that, SIGTERM could
// not unmount at the limit (spawning fusermount3 -u needs fds). Now only
// open files are bounded by the budget (the limit less a reserve).
test('a non-root daemon (no file handles) under a 300-fd limit: 1,200 files in 12 directories stated, read, renamed, one unlinked while open, one replaced on the host then removed; open files past the budget get EMFILE; SIGTERM unmounts', () => withUserFuseDevice(async () => {
  const src = tmpdir();
  for (let d = 0; d < 12; d++) {
    fs.mkdirSync(path.join(src, `d${d}`));
    for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(src, `d${d}`, `f${i}`), `d${d} f${i}`);
  }
  spawnSync('chown', ['-R', '1000:1000', src]);
  // Names stay cached (the kernel holds every inode and sends no new LOOKUP
  // after a rename); attributes do not, so each stat reaches the daemon.
  const d = await startChildDaemon(
    { fs: 'passthrough', options: { source: src, entryTimeout: 3600, attrTimeout: 0 } },
    { uid: 1000, gid: 1000, prefix: ['prlimit', '--nofile=300:300', '--'] },
  );
  try {
    assert.equal(d.mode, 'no-passthrough');
    const r = await py(String.raw`
import os, sys, json, errno
m, pid, src = sys.argv[1], sys.argv[2], sys.argv[3]
out = {}
def files():
    for d in range(12):
        for i in range(100):
            yield d, i
def stat_all(skip=None):
    n = 0
    for d, i in files():
        p = '%s/d%d/f%d' % (m, d, i)
        if (d, i) == skip:
            continue
        if os.path.exists(p):
            os.stat(p); n += 1
    return n
def content(p):
    with open(p) as f:
        return f.read()
out['stated'] = stat_all()
out['read_wrong'] = [(d, i) for d, i in files() if content('%s/d%d/f%d' % (m, d, i)) != 'd%d f%d' % (d, i)][:5]
out['daemon_fds'] = len(os.listdir('/proc/%s/fd' % pid))
# Renamed (a directory, a file across directories), then every fd pushed out.
# A path that fails with ESTALE is walked again by the kernel (with new
# LOOKUPs), an open fd is not: fchmod on one shows whether the rename was followed.
held = os.open(m + '/d1/f5', os.O_RDONLY)
os.rename(m + '/d0', m + '/d11/moved')
os.rename(m + '/d1/f5', m + '/d2/g5')
stat_all()
os.fchmod(held, 0o640)
os.close(held)
out['renamed'] = [content(m + '/d11/moved/f7'), os.stat(m + '/d11/moved/f8').st_size, content(m + '/d2/g5'), oct(os.stat(m + '/d2/g5').st_mode & 0o777)]
# Unlinked while open, with its fd pushed out before: fchmod still reaches it
# after the fds are pushed out again.
fd = os.open(m + '/d3/f9', os.O_RDWR)
stat_all()
os.unlink(m + '/d3/f9')
stat_all()
os.fchmod(fd, 0o600)
out['unlinked'] = [oct(os.fstat(fd).st_mode & 0o777), os.pread(fd, 64, 0).decode()]
os.close(fd)
# Replaced on the host behind the mount (the kernel still has the old file
# under the name), the old file's fd pushed out, then removed through the
# mount: the name goes, as it would natively. (The daemon lets the removal go
# on although the old file cannot be reopened; were it to answer ESTALE, the
# kernel would look the name up again and retry, so inode-table.test.ts
# checks that part.)
os.rename(src + '/d4/f0', src + '/d4/old0')
with open(src + '/d4/f0', 'w') as f:
    f.write('new')
stat_all(skip=(4, 0))
os.unlink(m + '/d4/f0')
out['replaced'] = [os.path.exists(src + '/d4/f0'), os.path.exists(src + '/d4/old0')]
# Open files cannot be pushed out: past the budget, EMFILE; the reserve stays free.
fds, err = [], None
try:
    for d, i in files():
        if d >= 2 and (d, i) not in ((3, 9), (4, 0)):
            fds.append(os.open('%s/d%d/f%d' % (m, d, i), os.O_RDONLY))
except OSError as e:
    err = errno.errorcode[e.errno]
out['held'] = len(fds)
out['held_error'] = err
out['daemon_fds_holding'] = len(os.listdir('/proc/%s/fd' % pid))
for fd in fds:
    os.close(fd)
out['stated_again'] = stat_all()
print(json.dumps(out))
`, [d.dir, String(d.pid), src], { uid: 1000, gid: 1000, timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr + d.output().slice(-1000));
    const res = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    assert.equal(res.stated, 1200);
    assert.deepEqual(res.read_wrong, []);
    assert.ok((res.daemon_fds as number) <= 300 - 16, `the daemon holds ${res.daemon_fds} of its 300 fds`);
    assert.deepEqual(res.renamed, ['d0 f7', 5, 'd1 f5', '0o640']);
    assert.deepEqual(res.unlinked, ['0o600', 'd3 f9']);
    assert.deepEqual(res.replaced, [false, true]);
    assert.equal(res.held_error, 'EMFILE');
    assert.ok((res.held as number) >= 150, `only ${res.held} files could be held open`);
    assert.ok((res.daemon_fds_holding as number) <= 300 - 16, `holding files open, the daemon holds ${res.daemon_fds_holding} of its 300 fds`);
    assert.equal(res.stated_again, 1200 - 100 - 1 - 1 - 1); // d0 and d1/f5 moved, d3/f9 and d4/f0 unlinked
    d.proc.kill('SIGTERM');
    const end = await Promise.race([d.exited, new Promise<null>((res2) => setTimeout(() => res2(null), 15_000))]);
    assert.ok(end !== null, `SIGTERM did not end the daemon within 15 s: ${d.output().slice(-500)}`);
    assert.equal(end.code, 0, d.output());
    assert.ok(!isMounted(d.dir));
  } finally {
    await d.cleanup();
  }
}));

// File handles reopen only files on the source's own mount (open_by_handle_at
// needs an fd on the file's mount). Files on a mount below the source kept
// their fd for as long as the kernel knew them, outside the budget: a big
// tree on such a mount could exhaust the daemon's fds. They are now reopened
// by parent and name, as in a daemon without handles.
test('a tmpfs mounted inside the source (fd budget 64): 400 files on it and 100 beside it stated, read and renamed, the daemon holding at most the budget', async () => {
  const src = tmpdir();
  const sub = path.join(src, 'sub');
  fs.mkdirSync(sub);
  const mnt = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', sub], { encoding: 'utf8' });
  assert.equal(mnt.status, 0, mnt.stderr);
  try {
    for (let d = 0; d < 4; d++) {
      fs.mkdirSync(path.join(sub, `d${d}`));
      for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(sub, `d${d}`, `f${i}`), `sub d${d} f${i}`);
    }
    for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(src, `g${i}`), `g${i}`);
    const onSource = () => fs.readdirSync('/proc/self/fd').filter((f) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${f}`).startsWith(src);
      } catch {
        return false;
      }
    }).length;
    await withMount(src, { fdBudget: 64, entryTimeout: 3600, attrTimeout: 0 }, {}, (m) => {
      const readAll = () => {
        const wrong: string[] = [];
        for (let d = 0; d < 4; d++) {
          for (let i = 0; i < 100; i++) {
            const p = path.join(m.dir, 'sub', d === 0 ? 'moved' : `d${d}`, `f${i}`);
            if (fs.readFileSync(p, 'utf8') !== `sub d${d} f${i}`) wrong.push(p);
          }
        }
        for (let i = 0; i < 100; i++) if (fs.readFileSync(path.join(m.dir, `g${i}`), 'utf8') !== `g${i}`) wrong.push(`g${i}`);
        return wrong;
      };
      const held = fs.openSync(path.join(m.dir, 'sub', 'd1', 'f1'), 'r');
      try {
        fs.renameSync(path.join(m.dir, 'sub', 'd0'), path.join(m.dir, 'sub', 'moved'));
        assert.deepEqual(readAll(), []);
        assert.ok(onSource() <= 64 + 3, `the daemon holds ${onSource()} fds on the source`);
        // An fd opened before its fds were pushed out still reaches the file.
        fs.fchmodSync(held, 0o640);
        assert.equal(fs.statSync(path.join(sub, 'd1', 'f1')).mode & 0o777, 0o640);
        assert.deepEqual(readAll(), []);
      } finally {
        fs.closeSync(held);
      }
    });
  } finally {
    spawnSync('umount', [sub]);
  }
});

// By name, a record goes stale when the host renames or replaces a name
// behind the mount. Two things keep that from reaching clients: directories
// keep their fds before files do (so a directory renamed on the host, a
// shell's working directory say, still reaches its files), and an inode the
// kernel has open is reopened through that open file, whatever its name is now.
test('by name (no file handles, 64-fd budget): a working directory renamed on the host still works; an open file renamed or replaced on the host still takes fchmod and fstat', async () => {
  const src = tmpdir();
  for (let d = 0; d < 40; d++) {
    fs.mkdirSync(path.join(src, `d${d}`));
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(src, `d${d}`, `f${i}`), `d${d} f${i}`);
  }
  await withMount(src, { fileHandles: false, fdBudget: 64, entryTimeout: 3600, attrTimeout: 0 }, {}, async (m) => {
    const r = await py(String.raw`
import os, sys, json
m, src = sys.argv[1], sys.argv[2]
def push_out():
    # Every file of d4..d39 stated (400 > 64): the other files' fds are pushed out.
    for d in range(4, 40):
        for i in range(10):
            os.stat('%s/d%d/f%d' % (m, d, i))
out = {}
os.chdir(m + '/d2')
held = os.open(m + '/d1/f1', os.O_RDWR)
held2 = os.open(m + '/d3/f3', os.O_RDWR)
for i in range(10):
    os.stat('f%d' % i)
push_out()
os.rename(src + '/d2', src + '/e2')
os.rename(src + '/d1/f1', src + '/d1/g1')
# Replaced: the old file moved where no listing below looks it up again.
os.rename(src + '/d3/f3', src + '/old3')
with open(src + '/d3/f3', 'w') as f:
    f.write('new')
push_out()
with open('f7') as f:
    out['cwd'] = [f.read(), sorted(os.listdir('.'))[:3], os.stat('f8').st_size]
os.fchmod(held, 0o640)
out['renamed_open'] = [oct(os.fstat(held).st_mode & 0o777), os.pread(held, 64, 0).decode()]
# The listing looks f3 up again (READDIRPLUS): the new file takes the name
# (before it, the kernel's cached entry still led to the old file, as with
# file handles), and the old one, open, keeps no name at all.
out['listed'] = sorted(os.listdir(m + '/d3'))[:4]
with open(m + '/d3/f3') as f:
    out['replacing'] = f.read()
push_out()
os.fchmod(held2, 0o604)
out['replaced_open'] = [oct(os.fstat(held2).st_mode & 0o777), os.pread(held2, 64, 0).decode()]
os.close(held)
os.close(held2)
print(json.dumps(out))
`, [m.dir, src], { timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    assert.deepEqual(res.cwd, ['d2 f7', ['f0', 'f1', 'f2'], 'd2 f8'.length]);
    assert.deepEqual(res.renamed_open, ['0o640', 'd1 f1']);
    assert.deepEqual(res.listed, ['f0', 'f1', 'f2', 'f3']);
    assert.equal(res.replacing, 'new');
    assert.deepEqual(res.replaced_open, ['0o604', 'd3 f3']);
    assert.equal(fs.statSync(path.join(src, 'd1', 'g1')).mode & 0o777, 0o640);
    assert.equal(fs.statSync(path.join(src, 'old3')).mode & 0o777, 0o604);
  });
});

// By name, an inode whose fd was pushed out is reopened by its name; a name
// about to be removed (unlink, rmdir, a rename over it) therefore reopens its
// inode first, or nothing could reach it afterwards. Open files are reached
// through themselves; what this covers is an inode the kernel holds without
// one: through a client's O_PATH fd, or as a process's working directory.
// (A path-based stat of another hard link needs no such care: on ESTALE the
// kernel looks the path up again, which names the inode anew.)
test('by name (no file handles, 64-fd budget): an unlinked file, a file renamed over and a removed directory, their fds pushed out before, still answer fstat through a client\'s O_PATH fd and stat of a working directory', async () => {
  const src = tmpdir();
  for (let d = 0; d < 40; d++) {
    fs.mkdirSync(path.join(src, `d${d}`));
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(src, `d${d}`, `f${i}`), `d${d} f${i}`);
  }
  for (let e = 0; e < 100; e++) fs.mkdirSync(path.join(src, `e${e}`));
  fs.mkdirSync(path.join(src, 'd0', 'w'));
  fs.writeFileSync(path.join(src, 'd0', 'new2'), 'replacing f2');
  await withMount(src, { fileHandles: false, fdBudget: 64, entryTimeout: 3600, attrTimeout: 0 }, {}, async (m) => {
    const r = await py(String.raw`
import os, sys, json
m = sys.argv[1]
def push_out():
    # 400 files, then 100 directories twice (past the 64-fd budget): the fds
    # of d0's files, then of d0 and d0/w, are pushed out (directories' last).
    for d in range(4, 40):
        for i in range(10):
            os.stat('%s/d%d/f%d' % (m, d, i))
    for r in range(2):
        for e in range(100):
            os.stat('%s/e%d' % (m, e))
def st(f):
    try:
        s = f()
        return [s.st_nlink, s.st_size]
    except OSError as e:
        return os.strerror(e.errno)
out = {}
p0 = os.open(m + '/d0/f0', os.O_PATH)
p2 = os.open(m + '/d0/f2', os.O_PATH)
os.chdir(m + '/d0/w')
push_out()
os.unlink(m + '/d0/f0')
os.rename(m + '/d0/new2', m + '/d0/f2')
os.rmdir(m + '/d0/w')
push_out()
out['unlinked'] = st(lambda: os.fstat(p0))
out['renamed_over'] = st(lambda: os.fstat(p2))
out['removed_cwd'] = st(lambda: os.stat('.'))
os.close(p0)
os.close(p2)
print(json.dumps(out))
`, [m.dir], { timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    assert.deepEqual(res.unlinked, [0, 'd0 f0'.length]);
    assert.deepEqual(res.renamed_over, [0, 'd0 f2'.length]);
    // A removed directory: no links left (its size is the host filesystem's).
    assert.equal((res.removed_cwd as number[])[0], 0, `stat of the removed working directory: ${JSON.stringify(res.removed_cwd)}`);
  });
});

// The daemon's fd of an open file is mostly not the file's last reference:
// the inode's own O_PATH fd is. When the budget pushed that one out, the
// close at RELEASE is the last, and for a removed big file it frees the
// file (its pages dropped, its blocks freed): that close is handed to the
// session (FileClose), which makes it off its thread with the ring. The
// outcome is checked here, not which thread closed it: no fd of the file is
// left, and the mount serves on.
for (const ring of [true, false]) {
  test(`a big file open through the mount, its inode fd pushed out by the budget (64), removed: after the client closes it the daemon holds no fd of it (${ring ? 'ring' : 'noring'})`, async () => {
    const src = tmpdir();
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(8 << 20, 'b'));
    for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(src, `g${i}`), `g${i}`);
    const O_PATH = 0o10000000;
    // This process's fds on the big file (the daemon runs in it), O_PATH or not.
    const onBig = (): { path: number; other: number } => {
      const r = { path: 0, other: 0 };
      for (const fd of fs.readdirSync('/proc/self/fd')) {
        try {
          if (!fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(path.join(src, 'big'))) continue;
          const flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
          if (flags & O_PATH) r.path++;
          else r.other++;
        } catch {
          // closed meanwhile
        }
      }
      return r;
    };
    await withMount(src, { fdBudget: 64, entryTimeout: 3600, attrTimeout: 0 }, { ring }, async (m) => {
      const client = fs.openSync(path.join(m.dir, 'big'), 'r');
      try {
        // Lookups of other files push inode fds out; the big file's too, at some point.
        for (let i = 0; i < 300 && onBig().path > 0; i++) assert.equal(fs.readFileSync(path.join(m.dir, `g${i}`), 'utf8'), `g${i}`);
        assert.deepEqual(onBig(), { path: 0, other: 1 }, 'only the open file\'s fd is left');
        fs.unlinkSync(path.join(m.dir, 'big'));
      } finally {
        fs.closeSync(client);
      }
      // RELEASE follows the close.
      for (let i = 0; i < 250 && onBig().other > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(onBig(), { path: 0, other: 0 }, 'fds of the removed file still held');
      assert.equal(fs.readFileSync(path.join(m.dir, 'g0'), 'utf8'), 'g0');
    });
  });
}
