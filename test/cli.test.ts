// The tsfuse command, run for real as a child process against real mounts:
// background and foreground serving, signals, unmount (also of dead mounts),
// mount(8)/mount.fuse3, and every class of bad input with its message and
// exit status. Every mount is taken off and every daemon stopped, also when
// a test fails.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OPTIONS } from '../src/cli/options.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const MAIN = path.join(REPO, 'dist', 'cli', 'main.js');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

// ---------------------------------------------------------------- harness

const dirs: string[] = [];
const mountpoints = new Set<string>();
const children = new Set<ChildProcess>();

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

/** A source with a file in it, and an empty mount point (remembered for cleanup). */
function fixture(): { src: string; mnt: string } {
  const src = tmp('tsfuse-cli-src-');
  fs.writeFileSync(path.join(src, 'hello.txt'), 'hello from the source\n');
  const mnt = tmp('tsfuse-cli-mnt-');
  mountpoints.add(mnt);
  return { src, mnt };
}

function mountEntry(mnt: string): string | undefined {
  return fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt);
}

const isMounted = (mnt: string): boolean => mountEntry(mnt) !== undefined;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is dead for our purposes.
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pid of the background daemon serving `mnt` (found from /proc/PID/cmdline). */
function daemonPid(mnt: string): number | undefined {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv.includes('--_daemon') && argv.includes(mnt)) return Number(p);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

interface Result { status: number | null; stdout: string; stderr: string }

/** Runs `tsfuse args...` to completion. */
function tsfuse(args: string[], opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): Result {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60000, uid: opts.uid, gid: opts.gid, env: opts.env });
  // stderr without its final newline, so that /^...$/ matches a one-line message.
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trimEnd() };
}

function sh(cmd: string, env?: NodeJS.ProcessEnv): Result {
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', timeout: 60000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** sh() without blocking this process's event loop (which reads the daemons' stderr). */
function shAsync(cmd: string): Promise<Result> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', cmd], { encoding: 'utf8', timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Starts `tsfuse args...` (foreground), collecting stderr. */
function start(args: string[]): { child: ChildProcess; stderr: () => string; exit: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stderr: () => err, exit };
}

/** Background mount that must succeed; returns the daemon pid. */
async function mountBackground(src: string, mnt: string, extra: string[] = []): Promise<number> {
  const r = tsfuse(['passthrough', src, mnt, ...extra]);
  assert.equal(r.status, 0, `tsfuse failed: ${r.stderr}`);
  assert.ok(isMounted(mnt), 'mounted once the command returned');
  const pid = daemonPid(mnt);
  assert.ok(pid, 'the daemon is running');
  return pid;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

before(() => {
  const stale = !fs.existsSync(MAIN) || newest(path.join(REPO, 'src')) > fs.statSync(MAIN).mtimeMs;
  if (stale) {
    const r = spawnSync('npm', ['run', 'build'], { cwd: REPO, encoding: 'utf8', timeout: 300000 });
    // tsc still emits when another part of the tree has type errors; only a missing CLI is fatal.
    if (r.status !== 0) console.error(`npm run build exited ${r.status}:\n${r.stdout}${r.stderr}`);
  }
  assert.ok(fs.existsSync(MAIN), `${MAIN} was not built`);
});

after(async () => {
  for (const mnt of mountpoints) {
    if (isMounted(mnt)) spawnSync('umount', ['-l', mnt]);
  }
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) c.kill('SIGKILL');
  for (const mnt of mountpoints) {
    const pid = daemonPid(mnt);
    if (pid) process.kill(pid, 'SIGKILL');
  }
  for (const d of dirs.reverse()) {
    if (isMounted(d)) continue; // never walk into a mount
    fs.rmSync(d, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- help

test('--version and --help: the version, every option with its default', () => {
  const v = tsfuse(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout, `tsfuse ${VERSION}\n`);
  for (const args of [['--help'], ['passthrough', '--help'], ['help', 'passthrough']]) {
    const h = tsfuse(args);
    assert.equal(h.status, 0, h.stderr);
    for (const o of OPTIONS) for (const n of o.names) assert.ok(h.stdout.includes(n), `help (${args.join(' ')}) lists ${n}`);
    assert.match(h.stdout, /entry_timeout=SECONDS {2}\(default: 5\)/);
    assert.match(h.stdout, /cache=never\|none\|metadata\|auto\|always {2}\(default: auto\)/);
    assert.match(h.stdout, /threads=N {2}\(default: 1\)\n.*no effect/);
    assert.match(h.stdout, /fuse\.tsfuse/);
  }
  const u = tsfuse(['unmount', '--help']);
  assert.equal(u.status, 0);
  assert.match(u.stdout, /-z, --lazy/);
  assert.match(u.stdout, /-f, --force +for a daemon that hangs/);
  assert.match(u.stdout, /^Usage: tsfuse unmount \[-z\|--lazy\] \[-f\|--force\] <mountpoint>$/m);
});

// ---------------------------------------------------------------- background

test('background: exits 0 once the mount is live; the daemon outlives the command and its process group', async () => {
  const { src, mnt } = fixture();
  // The command in its own process group, like a shell job; SIGHUP to that group is a closing terminal.
  const cmd = spawn(process.execPath, [MAIN, src, mnt], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let err = '';
  cmd.stderr!.on('data', (d) => (err += d));
  cmd.stdout!.resume();
  const code = await new Promise<number | null>((r) => cmd.on('exit', (c) => r(c)));
  assert.equal(code, 0, err);
  assert.ok(isMounted(mnt), 'live as soon as the command returned');
  assert.equal(fs.readFileSync(path.join(mnt, 'hello.txt'), 'utf8'), 'hello from the source\n');
  const pid = daemonPid(mnt)!;
  assert.ok(pid);
  // setsid: its own session, so the terminal's SIGHUP never reaches it.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  assert.equal(Number(stat[3]), pid, 'the daemon leads its own session');
  assert.notEqual(Number(stat[1]), process.pid, 'the daemon is not a child of the test');
  try {
    process.kill(-cmd.pid!, 'SIGHUP');
  } catch {
    /* the group is already empty */
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(alive(pid));
  fs.writeFileSync(path.join(mnt, 'new.txt'), 'written through the mount');
  assert.equal(fs.readFileSync(path.join(src, 'new.txt'), 'utf8'), 'written through the mount');
  // `tsfuse unmount` of a live mount: gone, and the daemon exits.
  const u = tsfuse(['unmount', mnt]);
  assert.equal(u.status, 0, u.stderr);
  assert.ok(!isMounted(mnt));
  await waitFor(() => !alive(pid), 'the daemon to exit after unmount');
});

test('background: SIGTERM to the daemon unmounts; an outside fusermount3 -u ends it too', async () => {
  const { src, mnt } = fixture();
  const logFile = path.join(tmp('tsfuse-cli-log-'), 'daemon.log');
  let pid = await mountBackground(src, mnt, ['-o', `log=${logFile}`]);
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !isMounted(mnt) && !alive(pid), 'SIGTERM to unmount and stop the daemon');
  const log = fs.readFileSync(logFile, 'utf8');
  assert.match(log, /serving .* on /);
  assert.match(log, /SIGTERM: unmounting/);
  assert.match(log, /unmounted/);
  pid = await mountBackground(src, mnt);
  const r = sh(`fusermount3 -u ${mnt}`);
  assert.equal(r.status, 0, r.stderr);
  await waitFor(() => !alive(pid), 'the daemon to exit once unmounted from outside');
});

test('kill -9 of the daemon leaves a dead mount (ENOTCONN); tsfuse unmount removes it', async () => {
  const { src, mnt } = fixture();
  const pid = await mountBackground(src, mnt);
  process.kill(pid, 'SIGKILL');
  // The fd closes with the last thread, after the main thread already shows as dead: wait for the connection.
  const statError = (p: string): string | undefined => {
    try {
      fs.statSync(p);
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code;
    }
  };
  await waitFor(() => !alive(pid) && statError(mnt) === 'ENOTCONN', 'the mount to be dead');
  assert.equal(statError(path.join(mnt, 'hello.txt')), 'ENOTCONN');
  assert.match(sh(`stat ${mnt}/hello.txt 2>&1`).stdout, /Transport endpoint is not connected/);
  assert.ok(isMounted(mnt), 'the dead mount stays');
  const again = tsfuse([src, mnt]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /is a dead FUSE mount .*run 'tsfuse unmount /);
  const u = tsfuse(['unmount', mnt]);
  assert.equal(u.status, 0, u.stderr);
  assert.ok(!isMounted(mnt));
  assert.deepEqual(fs.readdirSync(mnt), []);
});

test('-o auto_unmount: kill -9 of the daemon takes the mount off (fusermount3 watches)', async () => {
  const { src, mnt } = fixture();
  const pid = await mountBackground(src, mnt, ['-o', 'auto_unmount']);
  assert.equal(fs.readFileSync(path.join(mnt, 'hello.txt'), 'utf8'), 'hello from the source\n');
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !isMounted(mnt), 'fusermount3 to unmount after the daemon died');
});

test('tsfuse unmount: busy names the holder; -z detaches; not a FUSE mount / not mounted are errors', async () => {
  const { src, mnt } = fixture();
  const pid = await mountBackground(src, mnt);
  const holder = spawn('sleep', ['60'], { cwd: mnt, stdio: 'ignore' });
  children.add(holder);
  try {
    await waitFor(() => { try { return fs.readlinkSync(`/proc/${holder.pid}/cwd`) === mnt; } catch { return false; } }, 'sleep to sit in the mount');
    const busy = tsfuse(['unmount', mnt]);
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, new RegExp(`^tsfuse: ${mnt} is busy \\(held by sleep \\(pid ${holder.pid}\\)\\); use -z`));
    assert.ok(isMounted(mnt));
    const lazy = tsfuse(['unmount', '-z', mnt]);
    assert.equal(lazy.status, 0, lazy.stderr);
    assert.ok(!isMounted(mnt));
  } finally {
    holder.kill('SIGKILL');
  }
  await waitFor(() => !alive(pid), 'the daemon to exit once the lazily detached mount is no longer used');
  const notMounted = tsfuse(['unmount', mnt]);
  assert.equal(notMounted.status, 1);
  assert.match(notMounted.stderr, /is not a mount point/);
  const proc = tsfuse(['unmount', '/proc']);
  assert.equal(proc.status, 1);
  assert.match(proc.stderr, /\/proc is not a FUSE mount \(it is proc\)/);
});

// ---------------------------------------------------------------- foreground

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`foreground: ${sig} unmounts and exits 0`, async () => {
    const { src, mnt } = fixture();
    const p = start(['passthrough', src, mnt, '-f']);
    await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the foreground mount');
    assert.equal(fs.readFileSync(path.join(mnt, 'hello.txt'), 'utf8'), 'hello from the source\n');
    p.child.kill(sig);
    const { code } = await p.exit;
    assert.equal(code, 0, p.stderr());
    assert.ok(!isMounted(mnt));
  });
}

test('foreground: unmounted from outside, the command exits 0', async () => {
  const { src, mnt } = fixture();
  const p = start([src, mnt, '--foreground']);
  await waitFor(() => isMounted(mnt), 'the foreground mount');
  const r = sh(`umount ${mnt}`);
  assert.equal(r.status, 0, r.stderr);
  const { code } = await p.exit;
  assert.equal(code, 0, p.stderr());
});

test('foreground: SIGTERM while busy detaches lazily and exits when the last user leaves', async () => {
  const { src, mnt } = fixture();
  const p = start([src, mnt, '-f']);
  await waitFor(() => isMounted(mnt), 'the foreground mount');
  const holder = spawn('sleep', ['60'], { cwd: mnt, stdio: 'ignore' });
  children.add(holder);
  await waitFor(() => { try { return fs.readlinkSync(`/proc/${holder.pid}/cwd`) === mnt; } catch { return false; } }, 'sleep to sit in the mount');
  p.child.kill('SIGTERM');
  await waitFor(() => p.stderr().includes('detaching lazily'), 'the lazy fallback');
  await waitFor(() => !isMounted(mnt), 'the mount to be detached');
  assert.equal(p.child.exitCode, null, 'still serving the open directory');
  holder.kill('SIGKILL');
  const { code } = await p.exit;
  assert.equal(code, 0, p.stderr());
});

test('-d: create, write and close of a file: CREATE, WRITE (no kernel passthrough) and RELEASE, but no FLUSH (opens reply NOFLUSH)', async () => {
  const { src, mnt } = fixture();
  const p = start([src, mnt, '-d', '-o', 'nopassthrough']);
  await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
  fs.writeFileSync(path.join(mnt, 'new.txt'), 'written through the mount\n');
  assert.equal(fs.readFileSync(path.join(mnt, 'new.txt'), 'utf8'), 'written through the mount\n');
  await waitFor(() => /^\d+ > RELEASE ino=\d+/m.test(p.stderr()), 'a RELEASE line');
  assert.match(p.stderr(), /^\d+ > CREATE ino=1 "new.txt"/m);
  assert.match(p.stderr(), /^\d+ > WRITE ino=\d+/m);
  assert.match(p.stderr(), /^\d+ > OPEN ino=\d+/m);
  assert.doesNotMatch(p.stderr(), / > FLUSH /);
  p.child.kill('SIGINT');
  assert.equal((await p.exit).code, 0);
  assert.equal(fs.readFileSync(path.join(src, 'new.txt'), 'utf8'), 'written through the mount\n');
});

test('-d: without kernel passthrough, -o splice_read splices large READs from the host file, small ones (and all, without it) are read into the reply', async () => {
  for (const splice of [true, false]) {
    const { src, mnt } = fixture();
    const data = randomBytes(3 << 20);
    fs.writeFileSync(path.join(src, 'big'), data);
    fs.writeFileSync(path.join(src, 'small'), data.subarray(0, 10_000));
    const p = start([src, mnt, '-d', '-o', splice ? 'nopassthrough,splice_read' : 'nopassthrough']);
    await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
    assert.ok(fs.readFileSync(path.join(mnt, 'big')).equals(data));
    assert.ok(fs.readFileSync(path.join(mnt, 'small')).equals(data.subarray(0, 10_000)));
    p.child.kill('SIGINT');
    assert.equal((await p.exit).code, 0);
    const replies = p.stderr().split('\n').filter((l) => / < READ OK \d+ bytes/.test(l));
    const spliced = replies.filter((l) => l.includes('(spliced)'));
    if (splice) assert.ok(spliced.length > 0 && spliced.every((l) => Number(/OK (\d+) bytes/.exec(l)![1]) >= 65536), `spliced READ replies: ${spliced.length} of ${replies.length}`);
    else assert.ok(spliced.length === 0 && replies.some((l) => Number(/OK (\d+) bytes/.exec(l)![1]) >= 65536), `without splice_read: ${spliced.length} of ${replies.length} spliced`);
    assert.ok(replies.some((l) => !l.includes('(spliced)') && Number(/OK (\d+) bytes/.exec(l)![1]) < 65536), 'the small file is read into the reply');
  }
});

test('-d: without kernel passthrough, READs of 4 parallel O_DIRECT readers go through io_uring by default; -o ring_always sends READs of data not in the host\'s page cache through it, -o noring none; the bytes are the file\'s', async () => {
  for (const mode of ['ring', 'ring_always', 'noring']) {
    const { src, mnt } = fixture();
    const data = randomBytes(3 << 20);
    fs.writeFileSync(path.join(src, 'big'), data);
    // Out of the host's page cache: a read that would wait.
    const evict = spawnSync('python3', ['-c', 'import os,sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)', path.join(src, 'big')]);
    assert.equal(evict.status, 0, String(evict.stderr));
    const p = start([src, mnt, '-d', '-o', mode === 'ring' ? 'nopassthrough' : `nopassthrough,${mode}`]);
    await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
    if (mode === 'ring') {
      // Overlapping reads: 4 processes, each 200 O_DIRECT 4 KiB reads at random offsets, checked against the file.
      const reader = 'import mmap, os, random, sys\nfd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)\nwant = open(sys.argv[2], "rb").read()\nbuf = mmap.mmap(-1, 4096)\nfor i in range(200):\n    off = random.randrange(len(want) // 4096) * 4096\n    assert os.preadv(fd, [buf], off) == 4096 and buf[:] == want[off:off + 4096], off\n';
      const runs = [0, 1, 2, 3].map(() => new Promise<number | null>((resolve) => spawn('python3', ['-c', reader, path.join(mnt, 'big'), path.join(src, 'big')], { stdio: 'inherit' }).on('exit', resolve)));
      assert.deepEqual(await Promise.all(runs), [0, 0, 0, 0]);
      // Quiet for 200 ms, the session lets the ring's slot buffers go.
      await waitFor(() => /idle: \d+ KiB of ring buffers let go/.test(p.stderr()), 'the ring buffers let go', 5000);
    } else {
      assert.ok(fs.readFileSync(path.join(mnt, 'big')).equals(data));
    }
    p.child.kill('SIGINT');
    assert.equal((await p.exit).code, 0);
    const replies = p.stderr().split('\n').filter((l) => / < READ OK \d+ bytes/.test(l));
    const ring = replies.filter((l) => l.includes('(ring)'));
    assert.ok(replies.length > 0, 'READ replies logged');
    if (mode !== 'noring') assert.ok(ring.length > 0, `${mode}: READs through the ring: ${ring.length} of ${replies.length}`);
    else assert.equal(ring.length, 0, 'no READ through the ring');
  }
});

test('dd oflag=direct of a file whose size is not a multiple of the block (the last block written after dd drops O_DIRECT) copies every byte, with kernel passthrough and without', async () => {
  for (const opts of [[], ['-o', 'nopassthrough']]) {
    const { src, mnt } = fixture();
    const data = randomBytes(1_000_000);
    fs.writeFileSync(path.join(src, 'in'), data);
    const r = tsfuse([src, mnt, ...opts]);
    assert.equal(r.status, 0, r.stderr);
    const dd = spawnSync('dd', [`if=${path.join(src, 'in')}`, `of=${path.join(mnt, 'out')}`, 'oflag=direct', 'bs=65536'], { encoding: 'utf8' });
    assert.equal(dd.status, 0, `${opts.join(' ')}: ${dd.stderr}`);
    assert.ok(fs.readFileSync(path.join(src, 'out')).equals(data), opts.join(' '));
    assert.equal(tsfuse(['unmount', mnt]).status, 0);
  }
});

test('-d: -o ring_always still answers a READ whose data is in the host\'s page cache at once (preadv2 RWF_NOWAIT), not through the ring', async () => {
  const { src, mnt } = fixture();
  const data = randomBytes(1 << 20);
  fs.writeFileSync(path.join(src, 'cached'), data);
  // Make sure it is all in the host's page cache.
  assert.ok(fs.readFileSync(path.join(src, 'cached')).equals(data));
  const p = start([src, mnt, '-d', '-o', 'nopassthrough,ring_always']);
  await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
  assert.ok(fs.readFileSync(path.join(mnt, 'cached')).equals(data));
  p.child.kill('SIGINT');
  assert.equal((await p.exit).code, 0);
  const replies = p.stderr().split('\n').filter((l) => / < READ OK \d+ bytes/.test(l));
  assert.ok(replies.length > 0, 'READ replies logged');
  assert.deepEqual(replies.filter((l) => l.includes('(ring)')), [], 'no READ of cached data through the ring');
});

test('-d: without kernel passthrough, O_DIRECT opens allow parallel writes: WRITEs of 4 parallel O_DIRECT writers (not root) to one file go through io_uring by default, none with -o noring; the host file holds every block', async () => {
  for (const mode of ['ring', 'noring']) {
    const { src, mnt } = fixture();
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(1 << 20));
    // A writer without CAP_FSETID: the kernel asks each of its direct writes
    // to clear set-id bits (FUSE_WRITE_KILL_SUIDGID); the file has none, so
    // the daemon may still write it on the ring.
    fs.chownSync(path.join(src, 'big'), 1000, 1000);
    const p = start([src, mnt, '-d', '-o', mode === 'ring' ? 'nopassthrough,allow_other' : 'nopassthrough,noring,allow_other']);
    await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
    // Writer k writes blocks k, k+4, ...: each block filled with its own number, 4 rounds.
    const writer = 'import mmap, os, sys\nk = int(sys.argv[2])\nfd = os.open(sys.argv[1], os.O_WRONLY | os.O_DIRECT)\nbuf = mmap.mmap(-1, 4096)\nfor r in range(4):\n    for i in range(k, 256, 4):\n        buf.seek(0); buf.write(bytes([i]) * 4096)\n        assert os.pwrite(fd, buf, i * 4096) == 4096, i\n';
    const runs = [0, 1, 2, 3].map((k) => new Promise<number | null>((resolve) => spawn('python3', ['-c', writer, path.join(mnt, 'big'), String(k)], { stdio: 'inherit', uid: 1000, gid: 1000 }).on('exit', resolve)));
    assert.deepEqual(await Promise.all(runs), [0, 0, 0, 0]);
    p.child.kill('SIGINT');
    assert.equal((await p.exit).code, 0);
    const host = fs.readFileSync(path.join(src, 'big'));
    for (let i = 0; i < 256; i++) assert.ok(host.subarray(i * 4096, (i + 1) * 4096).equals(Buffer.alloc(4096, i)), `block ${i}`);
    const log = p.stderr().split('\n');
    const replies = log.filter((l) => / < WRITE OK 8 bytes/.test(l));
    const ring = replies.filter((l) => l.includes('(ring)'));
    assert.ok(replies.length >= 1024, `WRITE replies logged: ${replies.length}`);
    if (mode === 'ring') {
      assert.ok(ring.length > 0, `WRITEs through the ring: ${ring.length} of ${replies.length}`);
      // With WRITEs on the ring the thread reads the next request before the
      // last is answered, but the kernel sends a second WRITE to the file
      // before the first is answered only when the open allowed parallel writes.
      let inFlight = 0;
      let most = 0;
      for (const l of log) {
        if (/^\d+ > WRITE /.test(l)) most = Math.max(most, ++inFlight);
        else if (/^\d+ < WRITE /.test(l)) inFlight--;
      }
      assert.ok(most >= 2, `at most ${most} WRITE in flight at once`);
    }
    else assert.equal(ring.length, 0, 'no WRITE through the ring');
  }
});

test('-d: a name under a directory not everyone may search is cached unless allow_other lets other users in', async () => {
  for (const allowOther of [false, true]) {
    const { src, mnt } = fixture();
    fs.mkdirSync(path.join(src, 'private'), { mode: 0o700 });
    fs.writeFileSync(path.join(src, 'private', 'f'), 'x');
    const p = start([src, mnt, '-d', ...(allowOther ? ['-o', 'allow_other'] : [])]);
    await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
    // The root of the source is 0755; 'private' is 0700: without allow_other only
    // root uses the mount, and root passes any search check, so its entry may be
    // cached; with allow_other every walk through it must come back to be checked.
    for (let i = 0; i < 3; i++) assert.equal(fs.statSync(path.join(mnt, 'private', 'f')).size, 1);
    p.child.kill('SIGINT');
    assert.equal((await p.exit).code, 0);
    const lookups = p.stderr().split('\n').filter((l) => / > LOOKUP ino=\d+ "f"/.test(l)).length;
    if (allowOther) assert.ok(lookups >= 3, `allow_other: ${lookups} LOOKUPs of private/f for 3 stats`);
    else assert.equal(lookups, 1, 'without allow_other the entry is cached');
  }
});

test('-d: negative_timeout: a missing name is looked up once, but every time under a directory other users may not search (allow_other)', async () => {
  const { src, mnt } = fixture();
  fs.mkdirSync(path.join(src, 'private'), { mode: 0o700 });
  const p = start([src, mnt, '-d', '-o', 'allow_other,negative_timeout=30']);
  await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
  for (let i = 0; i < 3; i++) {
    assert.throws(() => fs.statSync(path.join(mnt, 'absent')), { code: 'ENOENT' });
    assert.throws(() => fs.statSync(path.join(mnt, 'private', 'absent2')), { code: 'ENOENT' });
  }
  p.child.kill('SIGINT');
  assert.equal((await p.exit).code, 0);
  const count = (n: string): number => p.stderr().split('\n').filter((l) => new RegExp(` > LOOKUP ino=\\d+ "${n}"`).test(l)).length;
  assert.equal(count('absent'), 1, 'the absence of a name in a searchable directory is remembered');
  assert.equal(count('absent2'), 3, 'under a 0700 directory every lookup comes back to be checked');
});

test('-d: implies foreground and logs LOOKUP and GETATTR for a stat through the mount', async () => {
  const { src, mnt } = fixture();
  const p = start([src, mnt, '-d', '-o', 'attr_timeout=0']);
  await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
  assert.equal(p.child.exitCode, null, '-d stays in the foreground');
  const r = sh(`stat -c %s ${mnt}/hello.txt`);
  assert.equal(r.stdout.trim(), '22');
  await waitFor(() => /^\d+ > LOOKUP ino=1 "hello.txt"/m.test(p.stderr()) && /^\d+ > GETATTR ino=\d+/m.test(p.stderr()), 'LOOKUP and GETATTR lines');
  assert.match(p.stderr(), /^\d+ < LOOKUP OK \d+ bytes [\d.]+us$/m);
  assert.match(p.stderr(), /^\d+ < GETATTR OK \d+ bytes [\d.]+us$/m);
  // An open's reply shows the flags sent: kernel passthrough (root may) with its backing id.
  assert.equal(sh(`cat ${mnt}/hello.txt`).status, 0);
  await waitFor(() => / < OPEN OK /.test(p.stderr()), 'an OPEN reply line');
  assert.match(p.stderr(), /^\d+ < OPEN OK 16 bytes fh=\d+ open_flags=\S*PASSTHROUGH\S* backing_id=\d+ [\d.]+us$/m);
  p.child.kill('SIGINT');
  assert.equal((await p.exit).code, 0);
  assert.ok(!isMounted(mnt));

  // -o debug is the same as -d.
  const q = start([src, mnt, '-o', 'debug']);
  await waitFor(() => isMounted(mnt) && / > INIT /.test(q.stderr()), 'the -o debug mount');
  q.child.kill('SIGTERM');
  assert.equal((await q.exit).code, 0);
});

test('-d: a log reader that falls behind loses no line: the session waits for room in the pipe', async () => {
  const { src, mnt } = fixture();
  const p = start([src, mnt, '-d']);
  try {
    await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the debug mount');
    // 3,000 lookups log about 300 KiB, several times what the pipe holds.
    p.child.stderr!.pause();
    const client = shAsync(`python3 -c "import os\nfor i in range(3000): os.path.exists('${mnt}/missing-%d' % i)"`);
    const paused = await Promise.race([client.then(() => 'finished'), new Promise((r) => setTimeout(() => r('waiting'), 1500))]);
    assert.equal(paused, 'waiting', 'the client waits while the log is full');
    p.child.stderr!.resume();
    assert.equal((await client).status, 0);
    await waitFor(() => / > LOOKUP ino=1 "missing-2999"/.test(p.stderr()), 'the last LOOKUP in the log');
    for (let i = 0; i < 3000; i++) assert.ok(p.stderr().includes(` > LOOKUP ino=1 "missing-${i}" `), `missing-${i} logged`);
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal((await p.exit).code, 0);
});

// ---------------------------------------------------------------- options

test('-o uidmapping/gidmapping: files owned by root show as 1000', async () => {
  const { src, mnt } = fixture();
  await mountBackground(src, mnt, ['-o', 'uidmapping=0:1000:1,gidmapping=0:1000:1']);
  try {
    assert.equal(sh(`stat -c '%u %g' ${mnt}/hello.txt`).stdout.trim(), '1000 1000');
    assert.equal(sh(`stat -c '%u %g' ${src}/hello.txt`).stdout.trim(), '0 0');
  } finally {
    assert.equal(tsfuse(['unmount', mnt]).status, 0);
  }
});

test('-o nofile_handles,fd_budget=64: 400 files listed and read through the mount, the daemon holding at most 64 fds on the source besides its root', async () => {
  const { src, mnt } = fixture();
  for (let d = 0; d < 4; d++) {
    fs.mkdirSync(path.join(src, `d${d}`));
    for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(src, `d${d}`, `f${i}`), `d${d}/f${i}\n`);
  }
  const pid = await mountBackground(src, mnt, ['-o', 'nofile_handles,fd_budget=64,entry_timeout=3600,attr_timeout=0']);
  const onSource = () => fs.readdirSync(`/proc/${pid}/fd`).filter((f) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${f}`).startsWith(src);
    } catch {
      return false;
    }
  }).length;
  try {
    // The kernel keeps all 400 names: the daemon has more live inodes than its budget.
    assert.equal(sh(`ls -lR ${mnt} | grep -c '^-'`).stdout.trim(), '401');
    const r = sh(`cd ${mnt} && cat d*/f* | sort | md5sum; cd ${src} && cat d*/f* | sort | md5sum`);
    const [a, b] = r.stdout.trim().split('\n');
    assert.equal(a, b);
    // The budget's 64, and the source's root and mount fds, which it does not count.
    assert.ok(onSource() <= 66, `the daemon holds ${onSource()} fds on the source`);
  } finally {
    assert.equal(tsfuse(['unmount', mnt]).status, 0);
  }
});

// du lists a directory of 601 entries and then stats each: an entry whose
// listing carried its attributes needs no LOOKUP. The kernel reads a listing
// 32 KiB at a time (glibc's getdents buffer): about 180 entries with
// attributes, 580 without. Counted in the daemon's debug log.
for (const policy of ['auto', 'always', 'never'] as const) {
  test(`-o readdirplus=${policy}: which reads of a listing carry attributes, and what du then looks up`, async () => {
    const { src, mnt } = fixture();
    for (let i = 0; i < 600; i++) fs.writeFileSync(path.join(src, `entry-with-a-long-name-${String(i).padStart(4, '0')}`), 'x'.repeat(i));
    const p = start([src, mnt, '-f', '-o', `debug,readdirplus=${policy}`]);
    let du: Result;
    try {
      await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the foreground mount');
      // Asynchronously: the daemon's log waits for this process to read it.
      du = await shAsync(`du -s --apparent-size --block-size=1 ${mnt}`);
    } finally {
      p.child.kill('SIGTERM');
    }
    assert.equal((await p.exit).code, 0, p.stderr());
    assert.equal(du.status, 0, du.stderr);
    // 0 + 1 + ... + 599 bytes, the fixture's hello.txt and the directory itself.
    assert.equal(Number(du.stdout.split(/\s/)[0]), (599 * 600) / 2 + fs.statSync(path.join(src, 'hello.txt')).size + fs.statSync(src).size);
    const log = p.stderr();
    const count = (re: RegExp) => (log.match(re) ?? []).length;
    const plus = count(/> READDIRPLUS ino=1 /g);
    const names = count(/> READDIR ino=1 /g);
    const lookups = count(/> LOOKUP ino=1 "(entry-with-a-long-name-|hello)/g);
    const seen = `READDIRPLUS ${plus}, READDIR ${names}, LOOKUP ${lookups}`;
    if (policy === 'always') {
      assert.ok(plus >= 4 && names === 0 && lookups === 0, seen);
    } else if (policy === 'auto') {
      // The kernel asks for attributes with the first read only (nobody looked a name up in between).
      assert.ok(plus === 1 && names >= 2 && lookups > 300 && lookups < 601, seen);
    } else {
      assert.ok(plus === 0 && names >= 2 && lookups === 601, seen);
    }
  });
}

// A listing need not statx a name whose entry and attributes the kernel was
// given within the timeouts and has not dropped since (as far as the daemon
// can tell: an open, a changed xattr, a listing of the directory itself):
// such entries go with node id 0, which the kernel takes as "keep what you
// have". Counted in the daemon's debug log, which says how many entries of
// each READDIRPLUS reply carry attributes.
test('a listing leaves out the attributes the kernel was given within the timeouts, and carries them again once opened or expired', async () => {
  const { src, mnt } = fixture();
  fs.mkdirSync(path.join(src, 'sub'));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(src, `f${i}`), 'x'.repeat(i));
  // nokeep_listings: every listing reaches the daemon (a kept one would not, and its names' attributes
  // would come by GETATTR; test/passthrough-listings.test.ts covers that).
  const p = start([src, mnt, '-f', '-o', 'debug,readdirplus=always,entry_timeout=4,attr_timeout=4,nokeep_listings']);
  const carried: number[] = [];
  const listings: string[] = [];
  try {
    await waitFor(() => isMounted(mnt) && p.stderr().includes('serving'), 'the foreground mount');
    // Lists the root as `stat` sees each entry; returns how many entries the READDIRPLUS replies carried attributes for.
    const list = async () => {
      const from = p.stderr().length;
      const r = await shAsync(`cd ${mnt} && stat -c '%n %s %a %h' -- * | sort`);
      assert.equal(r.status, 0, r.stderr);
      listings.push(r.stdout);
      let n = 0;
      for (const m of p.stderr().slice(from).matchAll(/< READDIRPLUS OK \d+ bytes \((\d+) entries, (\d+) with attributes\)/g)) n += Number(m[2]);
      carried.push(n);
    };
    await list(); // every name looked up and given to the kernel
    await list(); // within the timeouts: nothing to carry
    // Opened (read), written, an xattr set, the directory listed: the kernel drops what it had of those.
    assert.equal((await shAsync(`cat ${mnt}/f7 > /dev/null && echo more >> ${mnt}/f9 && setfattr -n user.x -v 1 ${mnt}/f8 && ls ${mnt}/sub`)).status, 0);
    await list();
    await new Promise((r) => setTimeout(r, 4500)); // past the timeouts
    await list();
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal((await p.exit).code, 0, p.stderr());
  const native = spawnSync('sh', ['-c', `cd ${src} && stat -c '%n %s %a %h' -- * | sort`], { encoding: 'utf8' }).stdout;
  assert.equal(listings[3], native, 'what the kernel kept is what the host has');
  assert.match(listings[2]!, /^f9 14 /m, 'the size written through the mount');
  // 300 files, hello.txt and sub/ in the root.
  assert.ok(carried[0]! >= 302, `first listing: ${carried.join(', ')}`);
  assert.equal(carried[1], 0, `second listing, within the timeouts: ${carried.join(', ')}`);
  assert.equal(carried[2], 4, `after f7, f8, f9 and sub/ were opened or changed: ${carried.join(', ')}`);
  assert.ok(carried[3]! >= 302, `past the timeouts: ${carried.join(', ')}`);
});

test('-o ro: writes fail with EROFS; reads work', async () => {
  const { src, mnt } = fixture();
  await mountBackground(src, mnt, ['-o', 'ro']);
  try {
    assert.match(mountEntry(mnt)!, / ro,/);
    assert.equal(fs.readFileSync(path.join(mnt, 'hello.txt'), 'utf8'), 'hello from the source\n');
    assert.throws(() => fs.writeFileSync(path.join(mnt, 'new'), 'x'), { code: 'EROFS' });
    assert.throws(() => fs.appendFileSync(path.join(mnt, 'hello.txt'), 'x'), { code: 'EROFS' });
    assert.match(sh(`touch ${mnt}/t 2>&1`).stdout, /Read-only file system/);
  } finally {
    assert.equal(tsfuse(['unmount', mnt]).status, 0);
  }
});

test('-o values with units and mount options reach the mount; warnings are printed, not fatal', async () => {
  const { src, mnt } = fixture();
  const r = tsfuse([
    src, mnt,
    '-o', 'entry_timeout=500ms,attr_timeout=0.5,dir_entry_timeout=1m,dir_attr_timeout=2s,max_write=128K,cache=none',
    '-o', 'noxattr,threads=4,dev,suid,noatime,fsname=clitest,subtype=tsfusetest,no_open,nofail,_netdev,x-systemd.automount,comment=x,defaults,user,rw',
  ]);
  assert.equal(r.status, 0, r.stderr);
  try {
    assert.match(r.stderr, /^tsfuse: warning: threads=4 has no effect/m);
    assert.match(r.stderr, /^tsfuse: warning: no_open only works with cache=always/m);
    const entry = mountEntry(mnt)!;
    assert.match(entry, /^clitest \S+ fuse\.tsfusetest rw,noatime[, ]/);
    assert.doesNotMatch(entry, /nosuid|nodev/);
    assert.equal(fs.readFileSync(path.join(mnt, 'hello.txt'), 'utf8'), 'hello from the source\n');
    // xattr=off answers ENOSYS, which the kernel reports as EOPNOTSUPP.
    assert.match(sh(`getfattr -n user.x ${mnt}/hello.txt 2>&1`).stdout, /Operation not supported/);
  } finally {
    assert.equal(tsfuse(['unmount', mnt]).status, 0);
  }
});

// ---------------------------------------------------------------- mount(8)

function wrapperDir(): string {
  const bin = tmp('tsfuse-cli-bin-');
  fs.writeFileSync(path.join(bin, 'tsfuse'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} "$@"\n`, { mode: 0o755 });
  return bin;
}

test('mount.fuse3 -t fuse.tsfuse (what mount -t fuse.tsfuse and fstab run) finds tsfuse in PATH; umount takes it off', async () => {
  const { src, mnt } = fixture();
  const bin = wrapperDir();
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const r = sh(`mount.fuse3 ${src} ${mnt} -t fuse.tsfuse -o ro,allow_other,uidmapping=0:1000:1,users,nofail,_netdev`, env);
  assert.equal(r.status, 0, r.stderr);
  const pid = daemonPid(mnt)!;
  try {
    assert.match(mountEntry(mnt)!, new RegExp(`^${src} ${mnt} fuse\\.tsfuse ro,.*allow_other`));
    assert.equal(fs.readFileSync(path.join(mnt, 'hello.txt'), 'utf8'), 'hello from the source\n');
    assert.equal(sh(`stat -c %u ${mnt}/hello.txt`).stdout.trim(), '1000');
    assert.throws(() => fs.writeFileSync(path.join(mnt, 'x'), 'x'), { code: 'EROFS' });
  } finally {
    const u = sh(`umount ${mnt}`);
    assert.equal(u.status, 0, u.stderr);
  }
  assert.ok(!isMounted(mnt));
  await waitFor(() => !alive(pid), 'the daemon to exit after umount');
});

test('mount(8) -t fuse with the helper#source form runs tsfuse through mount.fuse3; umount takes it off', async () => {
  // mount(8) clears PATH before it runs mount.fuse3, so `-t fuse.tsfuse` only finds a tsfuse installed in
  // /usr/local/bin, /usr/bin, ...; the helper#source form names the program by its path instead.
  const { src, mnt } = fixture();
  const bin = wrapperDir();
  const r = sh(`mount -t fuse '${bin}/tsfuse#${src}' ${mnt} -o allow_other,gidmapping=0:1000:1,nofail,x-systemd.requires=foo,comment=bar,noauto,defaults`);
  assert.equal(r.status, 0, r.stderr);
  const pid = daemonPid(mnt)!;
  try {
    assert.match(mountEntry(mnt)!, / fuse\.tsfuse rw,.*allow_other/);
    assert.equal(sh(`stat -c %g ${mnt}/hello.txt`).stdout.trim(), '1000');
    fs.writeFileSync(path.join(mnt, 'via-mount8'), 'ok');
    assert.equal(fs.readFileSync(path.join(src, 'via-mount8'), 'utf8'), 'ok');
  } finally {
    const u = sh(`umount ${mnt}`);
    assert.equal(u.status, 0, u.stderr);
  }
  await waitFor(() => !alive(pid), 'the daemon to exit after umount');
});

// ---------------------------------------------------------------- bad input

test('usage errors: one line naming the problem and the accepted form, exit 2, nothing mounted', () => {
  const { src, mnt } = fixture();
  const cases: [string[], RegExp][] = [
    [['-o', 'entry_timout=1'], /^tsfuse: unknown option 'entry_timout'; did you mean 'entry_timeout'\?$/],
    [['-o', 'alow_other'], /^tsfuse: unknown option 'alow_other'; did you mean 'allow_other'\?$/],
    [['-o', 'frobnicate'], /^tsfuse: unknown option 'frobnicate'; see 'tsfuse passthrough --help'/],
    [['-o', 'attr_timeout=soon'], /^tsfuse: bad value 'soon' for option 'attr_timeout': expected seconds >= 0, fractions allowed/],
    [['-o', 'entry_timeout=-1'], /^tsfuse: bad value '-1' for option 'entry_timeout': expected seconds >= 0/],
    [['-o', 'max_write=12Q'], /^tsfuse: bad value '12Q' for option 'max_write': expected a number of bytes, optionally with a suffix k, M or G/],
    [['-o', 'readdirplus=sometimes'], /^tsfuse: bad value 'sometimes' for option 'readdirplus': expected one of auto, always, never$/],
    [['-o', 'max_write=2M'], /^tsfuse: bad value '2M' for option 'max_write': expected a size from 4K to 1M/],
    [['-o', 'max_write=1K'], /^tsfuse: bad value '1K' for option 'max_write': expected a size from 4K to 1M/],
    [['-o', 'max_mmap_size=big'], /^tsfuse: bad value 'big' for option 'max_mmap_size': expected a number of bytes/],
    [['-o', 'fd_budget=8'], /^tsfuse: bad value '8' for option 'fd_budget': expected a whole number from 16 to 1073741824/],
    [['-o', 'cache=sometimes'], /^tsfuse: bad value 'sometimes' for option 'cache': expected one of never, none, metadata, auto, always$/],
    [['-o', 'xattr=maybe'], /^tsfuse: bad value 'maybe' for option 'xattr': expected on or off/],
    [['-o', 'uidmapping=0:1000:0'], /^tsfuse: bad value '0:1000:0' for option 'uidmapping': range 0:1000:0 has length 0; expected uidmapping=HOST:CLIENT:LENGTH/],
    [['-o', 'gidmapping=0:1000'], /^tsfuse: bad value '0:1000' for option 'gidmapping': '0:1000' is not a list of triples; expected gidmapping=HOST:CLIENT:LENGTH/],
    [['-o', 'uidmapping=a:b:c'], /^tsfuse: bad value 'a:b:c' for option 'uidmapping': .*not an id/],
    [['-o', 'uidmapping='], /^tsfuse: bad value '' for option 'uidmapping': expected uidmapping=HOST:CLIENT:LENGTH/],
    [['-o', 'threads=0'], /^tsfuse: bad value '0' for option 'threads': expected a positive integer$/],
    [['-o', 'threads=two'], /^tsfuse: bad value 'two' for option 'threads': expected a positive integer$/],
    [['-o', 'fsname=a b'], /^tsfuse: bad value 'a b' for option 'fsname': expected a non-empty name/],
    [['-o', 'fsname=a\\,b'], /^tsfuse: bad value 'a,b' for option 'fsname': expected a non-empty name without spaces or commas$/],
    [['-o', 'ro=1'], /^tsfuse: option 'ro' takes no value \(got 'ro=1'\)$/],
    [['-o', 'fsname'], /^tsfuse: option 'fsname' needs a value: fsname=NAME$/],
    [['-o', 'sync'], /^tsfuse: option 'sync' is not supported: tsfuse cannot mount synchronously/],
    [['-o', 'allow_other,allow_root'], /^tsfuse: options 'allow_other' and 'allow_root' exclude each other/],
    [['-o'], /^tsfuse: -o needs an argument: -o opt\[,opt\.\.\.\]$/],
    [['--forground'], /^tsfuse: unknown flag '--forground'; did you mean '--foreground'\?$/],
    [['-x'], /^tsfuse: unknown flag '-x'; usage: tsfuse passthrough /],
  ];
  for (const [extra, re] of cases) {
    const r = tsfuse(['passthrough', src, mnt, ...extra]);
    assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, extra.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${extra.join(' ')}: ${r.stderr}`);
    assert.ok(!isMounted(mnt));
  }
  const argCases: [string[], RegExp][] = [
    [[], /^tsfuse: missing arguments; usage: tsfuse passthrough </],
    [['passthrough'], /^tsfuse: missing <source> and <mountpoint>; usage: /],
    [['passthrough', src], /^tsfuse: missing <mountpoint>; usage: /],
    [[src], /^tsfuse: missing <mountpoint>; usage: /],
    [['passthrough', src, mnt, 'extra'], /^tsfuse: too many arguments: 'extra'; usage: /],
    [['pasthrough', src, mnt], /^tsfuse: unknown command 'pasthrough'; did you mean 'passthrough'\?$/],
    [['unmout', mnt], /^tsfuse: unknown command 'unmout'; did you mean 'unmount'\?$/],
    [['unmount'], /^tsfuse: missing <mountpoint>; usage: tsfuse unmount /],
    [['unmount', mnt, src], /^tsfuse: too many arguments: /],
    [['unmount', '-q', mnt], /^tsfuse: unknown flag '-q'; usage: tsfuse unmount /],
  ];
  for (const [args, re] of argCases) {
    const r = tsfuse(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('mount failures: exit 1 with the reason; source and mount point checked before mounting', async () => {
  const { src, mnt } = fixture();
  const file = path.join(src, 'hello.txt');
  const cases: [string[], RegExp][] = [
    [[path.join(src, 'missing'), mnt], new RegExp(`^tsfuse: source ${src}/missing does not exist$`)],
    [[file, mnt], new RegExp(`^tsfuse: source ${file} is not a directory$`)],
    [[src, path.join(mnt, 'missing')], new RegExp(`^tsfuse: mount point ${mnt}/missing does not exist$`)],
    [[src, file], new RegExp(`^tsfuse: mount point ${file} is not a directory$`)],
    [['-o', 'log=/nonexistent-dir/x.log', src, mnt], /^tsfuse: cannot open log file \/nonexistent-dir\/x\.log: /],
  ];
  for (const [args, re] of cases) {
    const r = tsfuse(args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.ok(!isMounted(mnt));
  }
  // Already mounted.
  await mountBackground(src, mnt);
  try {
    const r = tsfuse([src, mnt]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^tsfuse: mount point ${mnt} is already a FUSE mount \\(${src}, fuse\\.tsfuse\\)$`));
    const f = tsfuse([src, mnt, '-f']);
    assert.equal(f.status, 1);
    assert.match(f.stderr, /is already a FUSE mount/);
  } finally {
    assert.equal(tsfuse(['unmount', mnt]).status, 0);
  }
});

test('not permitted: allow_other as a user without user_allow_other says what would permit it', (t) => {
  if (/^\s*user_allow_other\s*$/m.test(fs.readFileSync('/etc/fuse.conf', 'utf8'))) return t.skip('user_allow_other is set here');
  if (process.getuid!() !== 0) return t.skip('needs root to run the command as nobody');
  const { src, mnt } = fixture();
  const r = tsfuse([src, mnt, '-o', 'allow_other'], { uid: 65534, gid: 65534 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^tsfuse: not permitted to use 'allow_other' as a user: add a line 'user_allow_other' to \/etc\/fuse\.conf, or mount as root$/);
  assert.ok(!isMounted(mnt));
});

// fusermount3 opens /dev/fuse as the user: Debian's udev rule makes it 0666,
// some machines leave it 0600. Both cases, deterministically.
test('as a user: mounts through fusermount3; with /dev/fuse closed to users, exit 1 and the reason', async (t) => {
  if (process.getuid!() !== 0) return t.skip('needs root to run the command as nobody');
  const { src, mnt } = fixture();
  fs.chownSync(src, 65534, 65534);
  fs.chownSync(mnt, 65534, 65534);
  const old = fs.statSync('/dev/fuse').mode & 0o777;
  try {
    fs.chmodSync('/dev/fuse', 0o600);
    const refused = tsfuse([src, mnt], { uid: 65534, gid: 65534 });
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /^tsfuse: fusermount3: .*failed to open \/dev\/fuse: Permission denied.*mode 0666/);
    assert.equal(refused.stderr.trimEnd().split('\n').length, 1, refused.stderr);
    assert.ok(!isMounted(mnt));
    fs.chmodSync('/dev/fuse', 0o666);
    const r = tsfuse([src, mnt], { uid: 65534, gid: 65534 });
    assert.equal(r.status, 0, r.stderr);
    try {
      assert.match(mountEntry(mnt)!, /user_id=65534/);
      // Without allow_other only the mounting user may enter (root too is refused).
      assert.throws(() => fs.readFileSync(path.join(mnt, 'hello.txt')), { code: 'EACCES' });
      const cat = spawnSync('cat', [path.join(mnt, 'hello.txt')], { uid: 65534, gid: 65534, encoding: 'utf8' });
      assert.equal(cat.stdout, 'hello from the source\n', cat.stderr);
    } finally {
      const u = tsfuse(['unmount', mnt], { uid: 65534, gid: 65534 });
      assert.equal(u.status, 0, u.stderr);
    }
  } finally {
    fs.chmodSync('/dev/fuse', old);
  }
});
