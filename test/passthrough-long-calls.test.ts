// Calls that can take seconds on the host, through the passthrough, must not
// hold up the mount's other clients (natively one process's fsync or big
// copy does not delay another's stat; the session serves requests one at a
// time, so such a call done inline held up everyone: 3.8 s for the fsync of
// 1 GiB and 0.36-0.64 s for a 1 GiB copy_file_range on this machine, ad hoc).
//
// fsync: the session hands it to its io_uring (a kernel worker thread waits
// for the disk) and goes on serving. Here the source is a TestMemFs mount
// whose fsync of "gated" waits until a lookup of "open-gate": a sync that
// never ends by itself, so the test needs no timing. Through the passthrough,
// other requests must be answered while it waits.
//
// A truncate that drops a megabyte or more: the session makes it through its
// io_uring too, and answers with the attributes once it completed. Here the
// source's SETATTR of "gated" waits for "open-gate" in the same way.
//
// copy_file_range: each request copies at most 16 MiB; the caller gets a
// short count and asks for the rest, as copy_file_range(2) allows.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { mountFs, mountMemFs, mountPassthrough, openFdFlags, tmpdir, unmountFs, waitsOnFuse, withMount } from './helpers.js';
import type { TestMemFsOptions } from './fixtures/test-memfs.js';

type Mounted = Awaited<ReturnType<typeof mountFs>>;

/** A client process: its output after "waiting" so far, and when it ended. */
interface Client { done: Promise<string>; out: () => string; kill: () => void }

/** Opens argv[1], says "waiting", fsyncs it, says "ok". */
const FSYNC_CLIENT = 'import os, sys\nfd = os.open(sys.argv[1], os.O_RDONLY)\nprint("waiting", flush=True)\nos.fsync(fd)\nprint("ok", flush=True)';

/**
 * Starts a python client (`code`, which says "waiting" just before its call)
 * on `file`; resolves once that call's request is queued in the kernel (the
 * client waits in request_wait_answer), so that every later request comes
 * after it.
 */
async function gatedCall(code: string, file: string, started: Client[]): Promise<Client> {
  const p = spawn('python3', ['-c', code, file]);
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const after = (): string => out.replace(/^waiting\n/, '');
  const done = new Promise<string>((r) => p.on('close', () => r(after())));
  const client = { done, out: after, kill: () => p.kill('SIGKILL') };
  started.push(client);
  const until = Date.now() + 10_000;
  for (;;) {
    if (out.startsWith('waiting') && waitsOnFuse(p.pid!)) break;
    if (Date.now() > until) throw new Error(`the client never got to wait in its call: the mount did not answer it (output: ${JSON.stringify(out)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return client;
}

/**
 * Whatever failed, lets the gated calls end first (a mount cannot be taken
 * down while its daemon waits on the other), then unmounts both.
 */
async function openGateAndUnmount(src: Mounted, m: Mounted | undefined, clients: Client[]): Promise<void> {
  spawnSync('stat', [path.join(src.dir, 'open-gate')], { timeout: 10_000 });
  const ended = Promise.all(clients.map((c) => c.done));
  if (await Promise.race([ended.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]) === false) {
    for (const c of clients) c.kill();
    await ended;
  }
  if (m) await unmountFs(m);
  await unmountFs(src);
}

/**
 * Mounts a TestMemFs source with `faults`, and the passthrough of it
 * (`passthrough`: kernel passthrough on or off, or the passthrough's
 * options); runs `f` with the source's directory, the mount's, and a list
 * for the gated clients it starts; whatever happens, opens the gate and
 * unmounts both.
 */
async function withGatedSource(
  faults: TestMemFsOptions, passthrough: boolean | Record<string, unknown>, f: (src: string, mnt: string, clients: Client[]) => Promise<void>,
): Promise<void> {
  const src = await mountMemFs(faults);
  let m: Mounted | undefined;
  const clients: Client[] = [];
  try {
    m = await mountPassthrough(src.dir, typeof passthrough === 'boolean' ? { passthrough } : passthrough);
    await f(src.dir, m.dir, clients);
  } finally {
    await openGateAndUnmount(src, m, clients);
  }
}

// Prints "ok", or the errno name of the failure, for each sync asked for.
const SYNC = `
import errno, os, sys
def sync(path, how):
    fd = os.open(path, os.O_RDONLY)
    try:
        (os.fdatasync if how == 'data' else os.fsync)(fd)
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        os.close(fd)
print(' '.join(sync(p, how) for p, how in zip(sys.argv[1::2], sys.argv[2::2])), flush=True)
`;

// no_open and no_opendir: the kernel sends no OPEN, so an FSYNC comes
// without a file handle, and the passthrough opens an fd for it.
const SYNC_CONFIGS: [string, Record<string, unknown>][] = [
  ['kernel passthrough', { passthrough: true }],
  ['nopassthrough', { passthrough: false }],
  ['no_open, no_opendir', { noOpen: true, noOpendir: true, cache: 'always' }],
];
for (const [label, options] of SYNC_CONFIGS) {
  test(`an fsync waiting for the disk does not hold up other clients; its result reaches the caller (${label})`, { timeout: 60_000 }, async () => {
    await withGatedSource({ syncs: true }, options, async (src, mnt, clients) => {
      fs.writeFileSync(path.join(src, 'gated'), 'data');
      fs.mkdirSync(path.join(src, 'dir'));
      fs.mkdirSync(path.join(src, 'dir', 'gated'));
      fs.writeFileSync(path.join(src, 'bad-disk'), 'x');
      fs.writeFileSync(path.join(src, 'only-datasync'), 'x');
      // A file's fsync and a directory's, both waiting on the gate.
      const file = await gatedCall(FSYNC_CLIENT, path.join(mnt, 'gated'), clients);
      const dir = await gatedCall(FSYNC_CLIENT, path.join(mnt, 'dir', 'gated'), clients);
      // Meanwhile other clients are served: a stat, a listing, other fsyncs.
      for (let i = 0; i < 3; i++) {
        const st = spawnSync('stat', ['-c', '%s', path.join(mnt, 'gated')], { encoding: 'utf8', timeout: 10_000 });
        assert.equal(st.stdout.trim(), '4', `stat while the fsyncs wait: ${st.stderr}${st.error ?? ''}`);
        const ls = spawnSync('ls', [path.join(mnt, 'dir')], { encoding: 'utf8', timeout: 10_000 });
        assert.equal(ls.stdout.trim(), 'gated', `ls while the fsyncs wait: ${ls.stderr}${ls.error ?? ''}`);
        // Other syncs are answered too, each with its own result.
        const others = spawnSync('python3', ['-c', SYNC, path.join(mnt, 'bad-disk'), 'full', path.join(mnt, 'only-datasync'), 'full', path.join(mnt, 'only-datasync'), 'data'], { encoding: 'utf8', timeout: 10_000 });
        assert.equal(others.stdout.trim(), 'EIO EINVAL ok', `other fsyncs while the gated ones wait: ${others.stderr}${others.error ?? ''}`);
      }
      assert.equal(file.out(), '', 'the gated file fsync still waits');
      assert.equal(dir.out(), '', 'the gated directory fsync still waits');
      // Open the gate on the source directly: both syncs end, successfully.
      const gate = spawnSync('stat', [path.join(src, 'open-gate')], { encoding: 'utf8', timeout: 10_000 });
      assert.match(gate.stderr, /No such file/);
      assert.equal((await file.done).trim(), 'ok');
      assert.equal((await dir.done).trim(), 'ok');
      // The daemon (this process) keeps no fd of them but their O_PATH ones:
      // those of files and directories opened for a sync alone (no_open) are
      // closed once synced; open ones at RELEASE, which follows the close.
      const held = (): number[] => [path.join(src, 'gated'), path.join(src, 'dir', 'gated')].flatMap((p) => openFdFlags(p).filter((f) => !(f & 0o10000000)));
      for (let i = 0; i < 100 && held().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(held(), [], 'fds left open on the synced file and directory');
    });
  });
}

/** Truncates argv[1] to 1000 bytes and prints the size fstat then sees. */
const TRUNCATE_CLIENT = 'import os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\nprint("waiting", flush=True)\nos.ftruncate(fd, 1000)\nprint(os.fstat(fd).st_size, "ok", flush=True)';

for (const passthrough of [true, false]) {
  const label = passthrough ? 'kernel passthrough' : 'nopassthrough';
  test(`a truncate that drops megabytes does not hold up other clients; the caller sees the new size (${label})`, { timeout: 60_000 }, async () => {
    await withGatedSource({ gatedTruncates: true }, passthrough, async (src, mnt, clients) => {
      const big = Buffer.alloc(3 << 20, 'g');
      fs.writeFileSync(path.join(src, 'gated'), big);
      fs.writeFileSync(path.join(src, 'other'), big);
      fs.writeFileSync(path.join(src, 'small'), 'small file');
      const gated = await gatedCall(TRUNCATE_CLIENT, path.join(mnt, 'gated'), clients);
      // Meanwhile: a listing, a small truncate (made inline) and a large one (on the ring).
      const ls = spawnSync('ls', [mnt], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(ls.stdout.trim(), 'gated\nother\nsmall', `ls while the truncate waits: ${ls.stderr}${ls.error ?? ''}`);
      const others = spawnSync('python3', ['-c', `
import os, sys
for name, size in (('small', 5), ('other', 4096)):
    fd = os.open(os.path.join(sys.argv[1], name), os.O_RDWR)
    os.ftruncate(fd, size)
    print(name, os.fstat(fd).st_size, os.stat(os.path.join(sys.argv[2], name)).st_size)
    os.close(fd)
`, mnt, src], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(others.stdout, 'small 5 5\nother 4096 4096\n', `other truncates while the gated one waits: ${others.stderr}${others.error ?? ''}`);
      assert.equal(gated.out(), '', 'the gated truncate still waits');
      assert.equal(fs.statSync(path.join(src, 'gated')).size, 3 << 20);
      spawnSync('stat', [path.join(src, 'open-gate')], { timeout: 10_000 });
      assert.equal((await gated.done).trim(), '1000 ok');
      assert.equal(fs.statSync(path.join(src, 'gated')).size, 1000);
      assert.equal(fs.statSync(path.join(mnt, 'gated')).size, 1000);
      assert.ok(fs.readFileSync(path.join(mnt, 'gated')).equals(big.subarray(0, 1000)));
    });
  });
}

/** Opens argv[1] with O_TRUNC, prints the size fstat then sees, writes "new". */
const OTRUNC_CLIENT = 'import os, sys\nprint("waiting", flush=True)\nfd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)\nprint(os.fstat(fd).st_size, "ok", flush=True)\nos.write(fd, b"new")';
/** The same read-only: Linux truncates all the same (the caller needs write access). */
const OTRUNC_RDONLY_CLIENT = 'import os, sys\nprint("waiting", flush=True)\nfd = os.open(sys.argv[1], os.O_RDONLY | os.O_TRUNC)\nprint(os.fstat(fd).st_size, "ok", flush=True)';

for (const passthrough of [true, false]) {
  const label = passthrough ? 'kernel passthrough' : 'nopassthrough';
  test(`an open with O_TRUNC (writable, read-only, or of a set-id file) that drops megabytes does not hold up other clients; the file opened is empty (${label})`, { timeout: 60_000 }, async () => {
    await withGatedSource({ gatedTruncates: true }, passthrough, async (src, mnt, clients) => {
      fs.writeFileSync(path.join(src, 'gated'), Buffer.alloc(3 << 20, 'g'));
      fs.mkdirSync(path.join(src, 'dir'));
      fs.writeFileSync(path.join(src, 'dir', 'gated'), Buffer.alloc(3 << 20, 'g'));
      fs.writeFileSync(path.join(src, 'small'), 'small file');
      // A set-id file as well (its bits are the caller's business: root keeps them).
      fs.mkdirSync(path.join(src, 'setid'));
      fs.writeFileSync(path.join(src, 'setid', 'gated'), Buffer.alloc(3 << 20, 'g'));
      fs.chmodSync(path.join(src, 'setid', 'gated'), 0o6777);
      // The opens wait in the source's SETATTR: the truncate is made apart from the open.
      const gated = await gatedCall(OTRUNC_CLIENT, path.join(mnt, 'gated'), clients);
      const gatedRo = await gatedCall(OTRUNC_RDONLY_CLIENT, path.join(mnt, 'dir', 'gated'), clients);
      const gatedSetId = await gatedCall(OTRUNC_CLIENT, path.join(mnt, 'setid', 'gated'), clients);
      const ls = spawnSync('ls', [mnt], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(ls.stdout.trim(), 'dir\ngated\nsetid\nsmall', `ls while the opens wait: ${ls.stderr}${ls.error ?? ''}`);
      // A small file's O_TRUNC open meanwhile: truncated within the open.
      const small = spawnSync('sh', ['-c', 'printf x > "$1" && cat "$1"', 'sh', path.join(mnt, 'small')], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(small.stdout, 'x', `> of a small file while the open waits: ${small.stderr}${small.error ?? ''}`);
      assert.equal(gated.out(), '', 'the O_TRUNC open still waits');
      assert.equal(gatedRo.out(), '', 'the O_RDONLY|O_TRUNC open still waits');
      assert.equal(gatedSetId.out(), '', 'the set-id file\'s O_TRUNC open still waits');
      assert.equal(fs.statSync(path.join(src, 'gated')).size, 3 << 20);
      spawnSync('stat', [path.join(src, 'open-gate')], { timeout: 10_000 });
      assert.equal((await gated.done).trim(), '0 ok');
      assert.equal((await gatedRo.done).trim(), '0 ok');
      assert.equal((await gatedSetId.done).trim(), '0 ok');
      assert.equal(fs.readFileSync(path.join(src, 'setid', 'gated'), 'utf8'), 'new');
      assert.equal((fs.statSync(path.join(src, 'setid', 'gated')).mode & 0o7777).toString(8), '6777', 'root\'s truncate keeps the set-id bits, as natively');
      assert.equal(fs.readFileSync(path.join(src, 'gated'), 'utf8'), 'new');
      assert.equal(fs.readFileSync(path.join(mnt, 'gated'), 'utf8'), 'new');
      assert.equal(fs.statSync(path.join(src, 'dir', 'gated')).size, 0);
      // The writable fd the read-only open's truncate used is closed; the open file's at RELEASE.
      const held = (): number[] => openFdFlags(path.join(src, 'dir', 'gated')).filter((f) => !(f & 0o10000000));
      for (let i = 0; i < 100 && held().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(held(), [], 'fds left open on the truncated file');
    });
  });
}

/** Allocates 8 MiB of argv[1] (posix_fallocate: FALLOCATE mode 0), prints the size fstat then sees. */
const FALLOCATE_CLIENT = 'import os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\nprint("waiting", flush=True)\nos.posix_fallocate(fd, 0, 8 << 20)\nprint(os.fstat(fd).st_size, "ok", flush=True)';

for (const passthrough of [true, false]) {
  const label = passthrough ? 'kernel passthrough' : 'nopassthrough';
  test(`an fallocate of megabytes does not hold up other clients; the caller sees the new size (${label})`, { timeout: 60_000 }, async () => {
    await withGatedSource({ gatedFallocates: true }, passthrough, async (src, mnt, clients) => {
      fs.writeFileSync(path.join(src, 'gated'), 'g');
      fs.writeFileSync(path.join(src, 'small'), 's');
      const gated = await gatedCall(FALLOCATE_CLIENT, path.join(mnt, 'gated'), clients);
      const ls = spawnSync('ls', [mnt], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(ls.stdout.trim(), 'gated\nsmall', `ls while the fallocate waits: ${ls.stderr}${ls.error ?? ''}`);
      // A small fallocate meanwhile (made inline), and one the source refuses (its errno comes back).
      const others = spawnSync('python3', ['-c', `
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
os.posix_fallocate(fd, 0, 4096)
print(os.fstat(fd).st_size, os.stat(sys.argv[2]).st_size)
# KEEP_SIZE | PUNCH_HOLE of 4 MiB (made on the ring): this source has no hole punching.
print('ok' if libc.fallocate(fd, 3, 0, 4 << 20) == 0 else errno.errorcode[ctypes.get_errno()])
`, path.join(mnt, 'small'), path.join(src, 'small')], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(others.stdout, '4096 4096\nENOTSUP\n', `other fallocates while the gated one waits: ${others.stderr}${others.error ?? ''}`);
      assert.equal(gated.out(), '', 'the gated fallocate still waits');
      assert.equal(fs.statSync(path.join(src, 'gated')).size, 1);
      spawnSync('stat', [path.join(src, 'open-gate')], { timeout: 10_000 });
      assert.equal((await gated.done).trim(), `${8 << 20} ok`);
      assert.equal(fs.statSync(path.join(src, 'gated')).size, 8 << 20);
      assert.equal(fs.statSync(path.join(mnt, 'gated')).size, 8 << 20);
    });
  });
}

// Prints the errno name of an open of argv[1] with O_WRONLY|O_APPEND|O_TRUNC, or "ok".
const APPEND_TRUNC = `
import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_TRUNC))
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
`;

test('an O_TRUNC open whose truncate fails gets the errno the host gives, and leaves no file open', { timeout: 60_000 }, async () => {
  const src = tmpdir();
  const file = path.join(src, 'append-only');
  fs.writeFileSync(file, Buffer.alloc(2 << 20, 'a'));
  // Append-only: opening for appending is allowed, truncating it is not (EPERM).
  assert.equal(spawnSync('chattr', ['+a', file]).status, 0, 'chattr +a');
  try {
    const native = spawnSync('python3', ['-c', APPEND_TRUNC, file], { encoding: 'utf8' }).stdout.trim();
    assert.equal(native, 'EPERM');
    await withMount(src, {}, {}, async (m) => {
      for (let i = 0; i < 3; i++) {
        const r = spawnSync('python3', ['-c', APPEND_TRUNC, path.join(m.dir, 'append-only')], { encoding: 'utf8', timeout: 10_000 });
        assert.equal(r.stdout.trim(), native, r.stderr);
      }
      assert.equal(fs.statSync(file).size, 2 << 20);
      // The daemon (this process) holds no fd of the file but its O_PATH one.
      assert.deepEqual(openFdFlags(file).filter((f) => !(f & 0o10000000)), [], 'fds left open on the host file');
    });
  } finally {
    spawnSync('chattr', ['-a', file]);
  }
});

test('without the ring (noring), a truncate or O_TRUNC open that drops megabytes is made inline, with the same answer', { timeout: 60_000 }, async () => {
  const src = tmpdir();
  const data = Buffer.alloc(3 << 20, 'r');
  fs.writeFileSync(path.join(src, 'big'), data);
  await withMount(src, {}, { ring: false }, async (m) => {
    const code = 'import os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\nos.ftruncate(fd, 1000)\nprint(os.fstat(fd).st_size)\nos.ftruncate(fd, 5000)\nprint(os.fstat(fd).st_size)';
    const r = spawnSync('python3', ['-c', code, path.join(m.dir, 'big')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '1000\n5000\n');
    const host = fs.readFileSync(path.join(src, 'big'));
    assert.equal(host.length, 5000);
    assert.ok(host.subarray(0, 1000).equals(data.subarray(0, 1000)) && host.subarray(1000).every((b) => b === 0));
    // An O_TRUNC open of a big file, as the shell's `>` makes it.
    const again = path.join(src, 'again');
    fs.writeFileSync(again, data);
    const sh = spawnSync('sh', ['-c', 'printf new > "$1" && cat "$1"', 'sh', path.join(m.dir, 'again')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(sh.stdout, 'new', sh.stderr);
    assert.equal(fs.readFileSync(again, 'utf8'), 'new');
  });
});

// The kernel keeps a file's mode for the attribute timeout. Set-id bits set on
// the host meanwhile are unknown to it, so another user's ftruncate comes as
// a SETATTR of the size alone, with no bits to clear. The host's own rule
// must still apply: the truncate is made with the daemon's credentials (on
// the ring or inline), and then once more as the caller, which clears them.
for (const ring of [true, false]) {
  test(`a big truncate by another user of a file made set-id behind the kernel's back clears the bits, as natively (${ring ? 'ring' : 'noring'})`, { timeout: 60_000 }, async () => {
    const src = tmpdir();
    fs.chmodSync(src, 0o777);
    await withMount(src, { attrTimeout: 3600, entryTimeout: 3600 }, { ring, allowOther: true }, async (m) => {
      const f = path.join(m.dir, 'f');
      fs.writeFileSync(f, Buffer.alloc(2 << 20, 'x'), { mode: 0o666 });
      fs.chmodSync(f, 0o666);
      assert.equal(fs.statSync(f).mode & 0o7777, 0o666);
      fs.chmodSync(path.join(src, 'f'), 0o6777);
      assert.equal(fs.statSync(f).mode & 0o7777, 0o666, 'the kernel still has the old mode');
      const code = 'import os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\nos.ftruncate(fd, 0)\nprint("ok")';
      const r = spawnSync('python3', ['-c', code, f], { encoding: 'utf8', timeout: 30_000, uid: 1000, gid: 1000 });
      assert.equal(r.stdout.trim(), 'ok', r.stderr);
      const host = fs.statSync(path.join(src, 'f'));
      assert.equal(host.size, 0);
      assert.equal((host.mode & 0o7777).toString(8), '777', 'suid and sgid (group-executable) cleared, as a truncate by that user clears them natively');
    });
  });
}

for (const ring of [true, false]) {
  test(`rm of a big file through the mount: the daemon lets go of it, so its space comes back (${ring ? 'ring' : 'noring'}; the outcome, not which thread closed it)`, { timeout: 60_000 }, async () => {
    const src = tmpdir();
    for (const name of ['big', 'small']) fs.writeFileSync(path.join(src, name), Buffer.alloc(name === 'big' ? 8 << 20 : 1000, 'b'));
    await withMount(src, {}, { ring }, async (m) => {
      // Looked up and read through the mount: the daemon holds an fd of each.
      for (const name of ['big', 'small']) assert.equal(fs.readFileSync(path.join(m.dir, name)).length, name === 'big' ? 8 << 20 : 1000);
      const held = (): string[] => fs.readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const t = fs.readlinkSync(`/proc/self/fd/${fd}`);
          return t.startsWith(src + '/') ? [t] : [];
        } catch {
          return [];
        }
      });
      // (An open file's fd may be held too until its RELEASE, which the kernel sends after close() returned.)
      assert.deepEqual([...new Set(held())].sort(), [path.join(src, 'big'), path.join(src, 'small')]);
      const r = spawnSync('rm', [path.join(m.dir, 'big'), path.join(m.dir, 'small')], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 0, r.stderr);
      // The kernel forgets the inodes after the unlinks; the closes follow.
      const until = Date.now() + 10_000;
      while (held().length > 0 && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual(held(), [], 'fds of the removed files still held');
      assert.deepEqual(fs.readdirSync(src), []);
      // The mount serves on.
      fs.writeFileSync(path.join(m.dir, 'after'), 'x');
      assert.equal(fs.readFileSync(path.join(src, 'after'), 'utf8'), 'x');
    });
  });
}

test('a large copy_file_range is answered 16 MiB at a time, and the caller\'s loop copies the whole file exactly', { timeout: 60_000 }, async () => {
  const src = tmpdir();
  // 40 MiB and a bit, not a multiple of the step; every 4 KiB block different.
  const size = (40 << 20) + 12345;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) data.writeUInt32LE(i, i);
  fs.writeFileSync(path.join(src, 'big'), data);
  await withMount(src, {}, {}, async (m) => {
    const code = `
import os, sys
a = os.open(sys.argv[1], os.O_RDONLY)
b = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
counts = []
while True:
    n = os.copy_file_range(a, b, 1 << 30)
    if n == 0: break
    counts.append(n)
print(' '.join(map(str, counts)))
`;
    const r = spawnSync('python3', ['-c', code, path.join(m.dir, 'big'), path.join(m.dir, 'copy')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const step = 16 << 20;
    assert.deepEqual(r.stdout.trim().split(' ').map(Number), [step, step, size - 2 * step]);
    assert.ok(fs.readFileSync(path.join(src, 'copy')).equals(data), 'the copy on the host is the file');
  });
});
