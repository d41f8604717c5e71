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
// CAP_DAC_READ_SEARCH) keeps an fd per live inode, so past its fd limit
// lookups fail. Before, they failed only when the process had no fd left at
// all, and then SIGTERM could not unmount: spawning fusermount3 -u needs fds
// ("unmount failed: fusermount3 -u"), and the daemon served on. The budget
// (the limit less a reserve) is now where new fds are refused.
test('a non-root daemon at its fd limit (300): lookups past the budget get EMFILE, the reserve stays free, SIGTERM unmounts', () => withUserFuseDevice(async () => {
  const src = tmpdir();
  const N = 600;
  for (let i = 0; i < N; i++) fs.writeFileSync(path.join(src, `f${i}`), `content ${i}`);
  for (const f of ['.', ...fs.readdirSync(src)]) fs.chownSync(path.join(src, f), 1000, 1000);
  const d = await startChildDaemon(
    { fs: 'passthrough', options: { source: src, entryTimeout: 3600, attrTimeout: 3600 } },
    { uid: 1000, gid: 1000, prefix: ['prlimit', '--nofile=300:300', '--'] },
  );
  try {
    assert.equal(d.mode, 'no-passthrough');
    const r = await py(String.raw`
import os, sys, json, errno
ok = emfile = 0
for i in range(${N}):
    try:
        os.stat(os.path.join(sys.argv[1], 'f%d' % i))
        ok += 1
    except OSError as e:
        if e.errno != errno.EMFILE: raise
        emfile += 1
print(json.dumps({'ok': ok, 'emfile': emfile}))
`, [d.dir], { uid: 1000, gid: 1000, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as { ok: number; emfile: number };
    assert.ok(res.ok >= 150 && res.emfile > 0 && res.ok + res.emfile === N, JSON.stringify(res));
    // The reserve (64 of the 300, of which the runtime's own fds take ~40)
    // keeps fds free: enough to spawn fusermount3.
    const fds = fs.readdirSync(`/proc/${d.pid}/fd`).length;
    assert.ok(fds <= 300 - 16, `the daemon holds ${fds} of its 300 fds`);
    d.proc.kill('SIGTERM');
    const end = await Promise.race([d.exited, new Promise<null>((res2) => setTimeout(() => res2(null), 15_000))]);
    assert.ok(end !== null, `SIGTERM did not end the daemon within 15 s: ${d.output().slice(-500)}`);
    assert.equal(end.code, 0, d.output());
    assert.ok(!isMounted(d.dir));
  } finally {
    await d.cleanup();
  }
}));
