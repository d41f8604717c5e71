import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir, mountMemFs, unmountFs, waitsOnFuse } from './helpers.js';
import { mountKernel, unmountKernel, MountError, mountInfo, parseMountInfo } from '../src/session/mount.js';

// fusermount3 opens /dev/fuse as the calling user: Debian's udev rule makes it
// 0666; some machines (this one) leave it 0600. Give it Debian's mode for the
// non-root tests and put the old one back.
function withUserFuseDevice<T>(f: () => Promise<T> | T): Promise<T> {
  const old = fs.statSync('/dev/fuse').mode & 0o777;
  fs.chmodSync('/dev/fuse', 0o666);
  return Promise.resolve().then(f).finally(() => fs.chmodSync('/dev/fuse', old));
}

const repoRoot = new URL('..', import.meta.url).pathname;
const child = new URL('./fixtures/mount-child.ts', import.meta.url).pathname;
const mounted = (dir: string) => fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('a non-root user mounts and unmounts through fusermount3', () => withUserFuseDevice(() => {
  const dir = tmpdir();
  fs.chownSync(dir, 1000, 1000);
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, dir, 'roundtrip'], {
    uid: 1000, gid: 1000, encoding: 'utf8', timeout: 30000, cwd: repoRoot, env: { ...process.env, HOME: dir },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ok uid 1000 owner=1000$/m);
  assert.ok(!mounted(dir));
}));

// auto_unmount through fusermount3 as root. (For a non-root daemon, Debian's
// fusermount3 3.14 checks the dead mount with euid 0, gets EACCES instead of
// ENOTCONN without allow_other, and leaves the mount: docs/mounting.md.)
test('auto_unmount: the mount goes away when the daemon is killed', async () => {
  const dir = tmpdir();
  const p = spawn(process.execPath, ['--import', 'tsx', child, dir, 'hold', 'auto_unmount'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  try {
    await waitFor(() => out.includes('mounted'), 20000);
    assert.ok(mounted(dir));
    assert.match(fs.readFileSync('/proc/self/mounts', 'utf8'), new RegExp(`${dir} fuse.tsfuse`));
    p.kill('SIGKILL');
    await waitFor(() => !mounted(dir));
  } finally {
    p.kill('SIGKILL');
    if (mounted(dir)) unmountKernel(dir, { lazy: true });
  }
});

test('a killed daemon leaves a dead mount (ENOTCONN) that unmount cleans', async () => {
  const dir = tmpdir();
  const p = spawn(process.execPath, ['--import', 'tsx', child, dir, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  try {
    await waitFor(() => out.includes('mounted'), 20000);
    p.kill('SIGKILL');
    await new Promise((r) => p.on('exit', r));
    assert.throws(() => fs.statSync(dir), { code: 'ENOTCONN' });
    assert.throws(() => mountKernel(dir), /dead FUSE mount/);
    unmountKernel(dir);
    assert.ok(!mounted(dir));
    assert.ok(fs.statSync(dir).isDirectory());
  } finally {
    p.kill('SIGKILL');
    if (mounted(dir)) unmountKernel(dir, { lazy: true });
  }
});

test('mount point checks: missing, not a directory, already mounted', async () => {
  const dir = tmpdir();
  assert.throws(() => mountKernel(`${dir}/missing`), (e: Error) => e instanceof MountError && /does not exist/.test(e.message));
  fs.writeFileSync(`${dir}/file`, '');
  assert.throws(() => mountKernel(`${dir}/file`), /is not a directory/);
  const m = await mountMemFs();
  try {
    assert.throws(() => mountKernel(m.dir), /already a FUSE mount/);
  } finally {
    await unmountFs(m);
  }
  assert.throws(() => unmountKernel(dir), /not a mount point/);
});

test('mount options reach the kernel: ro, fsname, subtype, allow_other, default_permissions', async () => {
  const m = await mountMemFs({}, { readOnly: true, fsname: 'myfs', subtype: 'probe', allowOther: true, defaultPermissions: true });
  try {
    const line = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === m.dir)!;
    const [source, , type, opts] = line.split(' ');
    assert.equal(source, 'myfs');
    assert.equal(type, 'fuse.probe');
    assert.match(opts!, /(^|,)ro(,|$)/);
    assert.match(opts!, /allow_other/);
    assert.match(opts!, /default_permissions/);
    assert.match(opts!, /nosuid/);
    assert.match(opts!, /nodev/);
    assert.throws(() => fs.writeFileSync(`${m.dir}/x`, 'y'), { code: 'EROFS' });
  } finally {
    await unmountFs(m);
  }
});

/** Resolves when `p` exits, with its status, signal and output. */
function exited(p: ReturnType<typeof spawn>): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  p.stderr?.on('data', (d) => (stderr += d));
  return new Promise((r) => p.on('exit', (code) => r({ code, stderr })));
}


test('mountinfo: id, device, unescaped mount point and type of each line; this mount among the live ones', async () => {
  const text = [
    '22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '97 22 0:45 / /tmp/a\\040dir rw,nosuid - fuse.tsfuse tsfuse rw,user_id=0',
    'not a mountinfo line',
    '',
  ].join('\n');
  assert.deepEqual(parseMountInfo(text), [
    { id: 22n, dev: '253:0', target: '/', fsType: 'ext4', source: '/dev/vda' },
    { id: 97n, dev: '0:45', target: '/tmp/a dir', fsType: 'fuse.tsfuse', source: 'tsfuse' },
  ]);
  const m = await mountMemFs();
  try {
    const mine = mountInfo().filter((e) => e.target === m.dir);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.fsType, 'fuse.tsfuse');
    assert.match(mine[0]!.dev, /^0:\d+$/);
  } finally {
    await unmountFs(m);
  }
});

test('a handler that never answers: unmount -f fails the waiting call at once and ends the session', async () => {
  const m = await mountMemFs({ gatedReads: true });
  let client: ReturnType<typeof spawn> | undefined;
  let held: number | undefined;
  try {
    fs.writeFileSync(`${m.dir}/gated`, 'data');
    // A file this process keeps open across the abort.
    fs.writeFileSync(`${m.dir}/held`, 'x');
    held = fs.openSync(`${m.dir}/held`, 'r');
    client = spawn('cat', [`${m.dir}/gated`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const done = exited(client);
    // Its READ waits on a gate nothing opens: the daemon never answers it.
    await waitFor(() => waitsOnFuse(client!.pid!), 10_000);
    // Without force: busy, and the holder named.
    assert.throws(() => unmountKernel(m.dir), new RegExp(`is busy \\(held by this process \\(pid ${process.pid}\\), cat \\(pid ${client.pid}\\)\\)`));
    const t0 = Date.now();
    const ended = unmountFs(m, { force: true }).then(() => true);
    assert.ok(await Promise.race([ended, new Promise((r) => setTimeout(() => r(false), 10_000))]), 'the session ends after the abort');
    const c = await done;
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /Software caused connection abort/);
    assert.ok(Date.now() - t0 < 10_000);
    assert.ok(!mounted(m.dir), 'the mount is off (detached: this process still holds a file on it)');
    // Later calls on files still open fail with ENOTCONN.
    assert.throws(() => fs.readSync(held!, Buffer.alloc(1), 0, 1, 0), { code: 'ENOTCONN' });
  } finally {
    if (held !== undefined) fs.closeSync(held);
    client?.kill('SIGKILL');
    if (mounted(m.dir)) await unmountFs(m, { force: true });
  }
});

test('a mount busy because of this process: the holder named is this process', async () => {
  const m = await mountMemFs();
  let fd: number | undefined;
  try {
    fs.writeFileSync(`${m.dir}/f`, 'x');
    fd = fs.openSync(`${m.dir}/f`, 'r');
    assert.throws(() => unmountKernel(m.dir), new RegExp(`is busy \\(held by this process \\(pid ${process.pid}\\)\\)`));
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    await unmountFs(m);
  }
});

// A daemon stopped (SIGSTOP) answers nothing at all. A non-root user aborts
// it through fusectl's `abort` file; without fusectl the command says what
// it needs.
test('a stopped daemon: tsfuse unmount -f by the non-root user who mounted it (fusectl)', () => withUserFuseDevice(async () => {
  const dir = tmpdir();
  fs.chownSync(dir, 1000, 1000);
  const ctl = tmpdir('tsfuse-fusectl-');
  // HOME outside the mount: nothing the command loads may touch the hung mount.
  const home = tmpdir();
  fs.chownSync(home, 1000, 1000);
  const hadFusectl = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[2] === 'fusectl');
  const daemon = spawn(process.execPath, ['--import', 'tsx', child, dir, 'hold'], {
    uid: 1000, gid: 1000, cwd: repoRoot, env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const daemonDone = exited(daemon);
  let out = '';
  daemon.stdout!.on('data', (d) => (out += d));
  let client: ReturnType<typeof spawn> | undefined;
  let ctlMounted = false;
  const cli = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    uid: 1000, gid: 1000, cwd: repoRoot, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL', env: { ...process.env, HOME: home },
  });
  try {
    await waitFor(() => out.includes('mounted'), 20000);
    daemon.kill('SIGSTOP');
    client = spawn('stat', [`${dir}/x`], { uid: 1000, gid: 1000, stdio: ['ignore', 'ignore', 'pipe'] });
    const clientDone = exited(client);
    await waitFor(() => waitsOnFuse(client!.pid!), 10_000);
    if (!hadFusectl) {
      const refused = cli(['unmount', '-f', dir]);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /cannot abort .*'s connection: that needs root, or fusectl mounted/);
      assert.ok(mounted(dir));
    }
    const r = spawnSync('mount', ['-t', 'fusectl', 'none', ctl], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    ctlMounted = true;
    const forced = cli(['unmount', '-f', dir]);
    assert.equal(forced.status, 0, forced.stderr);
    const c = await clientDone;
    assert.notEqual(c.code, 0);
    assert.match(c.stderr, /Software caused connection abort/);
    assert.ok(!mounted(dir), 'the mount is off');
    // Woken, the daemon finds its connection gone and ends its session.
    daemon.kill('SIGCONT');
    assert.equal((await daemonDone).code, 0);
  } finally {
    client?.kill('SIGKILL');
    daemon.kill('SIGKILL');
    if (mounted(dir)) unmountKernel(dir, { force: true });
    if (ctlMounted) unmountKernel(ctl);
  }
}));
