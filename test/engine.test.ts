import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { mountMemFs, unmountFs, sh } from './helpers.js';
import { Session } from '../src/session/session.js';
import { FileClose } from '../src/session/filesystem.js';
import type { Filesystem, RequestContext } from '../src/session/filesystem.js';
import { Opcode } from '../src/protocol/kernel.js';

test('memfs: files, directories, symlinks, xattrs through the kernel', async () => {
  const m = await mountMemFs();
  try {
    assert.ok(m.minor >= 31, `minor ${m.minor}`);
    const f = path.join(m.dir, 'hello.txt');
    fs.writeFileSync(f, 'hello world\n');
    assert.equal(fs.readFileSync(f, 'utf8'), 'hello world\n');
    fs.mkdirSync(path.join(m.dir, 'sub'));
    fs.symlinkSync('../hello.txt', path.join(m.dir, 'sub', 'link'));
    assert.equal(fs.readlinkSync(path.join(m.dir, 'sub', 'link')), '../hello.txt');
    assert.equal(fs.readFileSync(path.join(m.dir, 'sub', 'link'), 'utf8'), 'hello world\n');
    assert.deepEqual(fs.readdirSync(m.dir).sort(), ['hello.txt', 'sub']);
    fs.renameSync(f, path.join(m.dir, 'sub', 'moved.txt'));
    assert.deepEqual(fs.readdirSync(path.join(m.dir, 'sub')).sort(), ['link', 'moved.txt']);
    const r = sh(`setfattr -n user.k -v v1 ${m.dir}/sub/moved.txt && getfattr --only-values -n user.k ${m.dir}/sub/moved.txt`);
    assert.equal(r.stdout, 'v1', r.stderr);
    fs.unlinkSync(path.join(m.dir, 'sub', 'moved.txt'));
    assert.throws(() => fs.statSync(path.join(m.dir, 'sub', 'moved.txt')), { code: 'ENOENT' });
  } finally {
    await unmountFs(m);
  }
});

import { isFdOpen, mountFs, tmpdir } from './helpers.js';
const probeModule = new URL('./fixtures/probe-fs.ts', import.meta.url);

test('errors: an errno from a handler (thrown, or a FuseError returned) reaches the caller; a plain exception is EIO', async () => {
  const m = await mountFs({ module: probeModule, exportName: 'ProbeFs' });
  try {
    assert.throws(() => fs.statSync(path.join(m.dir, 'errno-EACCES')), { code: 'EACCES' });
    assert.throws(() => fs.statSync(path.join(m.dir, 'boom')), { code: 'EIO' });
    // An errno the kernel would refuse in a reply (it takes 1-511; refused, the caller would wait for ever) is EIO.
    // In a child process, so that a stat that never ends fails the test instead of hanging it.
    const far = sh(`python3 -c '
import os, sys, errno
for n in ("errno-600", "errno-huge"):
    try:
        os.stat(os.path.join(sys.argv[1], n))
        print(n, "no error")
    except OSError as e:
        print(n, errno.errorcode[e.errno])
' ${m.dir}`, { timeout: 10_000 });
    assert.equal(far.stdout, 'errno-600 EIO\nerrno-huge EIO\n', `stat did not end with EIO: ${JSON.stringify(far)}`);
    assert.throws(() => fs.statSync(path.join(m.dir, 'badresult')), { code: 'EIO' });
    // A FuseError returned or resolved to (not thrown) is the same error reply.
    assert.throws(() => fs.statSync(path.join(m.dir, 'returned-EPERM')), { code: 'EPERM' });
    assert.throws(() => fs.statSync(path.join(m.dir, 'resolved-EROFS')), { code: 'EROFS' });
    const x = sh(`python3 -c '
import os, sys, errno
for n in ("returned", "resolved", "value"):
    try:
        print(n, os.getxattr(sys.argv[1], "user." + n).decode())
    except OSError as e:
        print(n, errno.errorcode[e.errno])
' ${m.dir}/data`);
    assert.equal(x.stdout, 'returned ENODATA\nresolved E2BIG\nvalue v\n', x.stderr);
    // READDIR too, whose reply length is the buffer's, not the handler's value.
    assert.deepEqual(fs.readdirSync(m.dir).sort(), ['ctl', 'data', 'stats']);
    for (const mode of ['sync', 'async']) {
      fs.writeFileSync(path.join(m.dir, 'ctl'), `deny-listing ${mode}`);
      assert.throws(() => fs.readdirSync(m.dir), { code: 'EACCES' }, mode);
    }
    // The daemon is still serving.
    assert.equal(fs.readFileSync(path.join(m.dir, 'data'), 'utf8'), 'AAAA');
  } finally {
    await unmountFs(m);
  }
});

test('FileTruncate from OPEN: the open is answered after the truncate; failed() runs once for each open not answered with its reply', async () => {
  const m = await mountFs({ module: probeModule, exportName: 'ProbeFs' });
  const ctl = (cmd: string) => fs.writeFileSync(path.join(m.dir, 'ctl'), cmd);
  const failed = () => /failed=(\d+)/.exec(fs.readFileSync(path.join(m.dir, 'stats'), 'utf8'))![1];
  const open = () => {
    try {
      fs.closeSync(fs.openSync(path.join(m.dir, 'data'), 'r'));
      return 'ok';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code;
    }
  };
  try {
    const cases: [string, string, string][] = [
      ['ok', 'ok', '0'], ['ebadf', 'EBADF', '1'], ['throw', 'EACCES', '2'], ['failed-throws', 'EBADF', '3'], ['off', 'ok', '3'],
    ];
    for (const [mode, answer, count] of cases) {
      ctl(`trunc ${mode}`);
      assert.equal(open(), answer, mode);
      assert.equal(failed(), count, `failed() calls after "${mode}"`);
      // The scratch file (7 bytes) was truncated by the first open that asked.
      if (mode === 'ok') assert.match(fs.readFileSync(path.join(m.dir, 'stats'), 'utf8'), / scratch=0$/);
    }
    // The daemon is still serving.
    assert.equal(fs.readFileSync(path.join(m.dir, 'data'), 'utf8'), 'AAAA');
  } finally {
    await unmountFs(m);
  }
});

for (const ring of [true, false]) {
  test(`FileClose from FORGET: the session closes the fds the filesystem gives (${ring ? 'ring' : 'noring'})`, async () => {
    const m = await mountFs({ module: probeModule, exportName: 'ProbeFs' }, { ring });
    const scratch = () => / scratch=(\S+)$/.exec(fs.readFileSync(path.join(m.dir, 'stats'), 'utf8'))![1];
    try {
      assert.equal(fs.readFileSync(path.join(m.dir, 'data'), 'utf8'), 'AAAA');
      fs.writeFileSync(path.join(m.dir, 'ctl'), 'close-on-forget');
      assert.equal(scratch(), '7');
      // The kernel forgets the unused inodes it holds (data's among them).
      const until = Date.now() + 10_000;
      while (scratch() !== 'closed' && Date.now() < until) {
        fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(scratch(), 'closed');
    } finally {
      await unmountFs(m);
    }
  });
}

/**
 * A Session fed requests by hand (`send`), its replies written to a file
 * (`replies()`: unique and error of each, in order); INIT done.
 */
function handFedSession(fsys: object, ring = true) {
  const dir = tmpdir();
  const out = path.join(dir, 'replies');
  const dev = fs.openSync(out, 'w+');
  const session = new Session(dev, fsys as Filesystem, { log: () => {}, ring });
  const send = (opcode: number, unique: bigint, body: Buffer, nodeid = 1n): void => {
    const h = Buffer.alloc(40);
    h.writeUInt32LE(40 + body.length, 0);
    h.writeUInt32LE(opcode, 4);
    h.writeBigUInt64LE(unique, 8);
    h.writeBigUInt64LE(nodeid, 16);
    const req = Buffer.concat([h, body]);
    session.dispatch(req, req.length);
  };
  const replies = (): [bigint, number][] => {
    const b = fs.readFileSync(out);
    const r: [bigint, number][] = [];
    for (let at = 0; at + 16 <= b.length; at += b.readUInt32LE(at)) r.push([b.readBigUInt64LE(at + 8), b.readInt32LE(at + 4)]);
    return r;
  };
  send(Opcode.FUSE_INIT, 1n, Buffer.concat([u32(7), u32(45), u32(131072), u32(0), u32(0), Buffer.alloc(44)]));
  const end = (): void => {
    session.stop();
    fs.closeSync(dev);
  };
  return { dir, session, send, replies, end };
}

const u32 = (v: number): Buffer => Buffer.from(new Uint32Array([v]).buffer);
const u64 = (v: bigint): Buffer => Buffer.from(new BigUint64Array([v]).buffer);

test('BATCH_FORGET reaches a filesystem that has only forget(), item by item; the fds of the FileCloses it gives are closed', () => {
  const calls: bigint[][] = [];
  let toClose: number[] = [];
  const only = {
    forget(_ctx: RequestContext, ino: bigint, n: bigint): void | FileClose {
      calls.push([ino, n]);
      if (ino !== 6n) return new FileClose([toClose[ino === 5n ? 0 : 1]!]);
    },
  };
  const s = handFedSession(only);
  toClose = [fs.openSync(path.join(s.dir, 'a'), 'w'), fs.openSync(path.join(s.dir, 'b'), 'w')];
  try {
    // fuse_batch_forget_in (count, dummy), then count × fuse_forget_one (nodeid, nlookup).
    s.send(Opcode.FUSE_BATCH_FORGET, 2n, Buffer.concat([u32(3), u32(0), u64(5n), u64(1n), u64(6n), u64(2n), u64(7n), u64(3n)]));
    assert.ok(s.session.drainRing(5000));
    assert.deepEqual(calls, [[5n, 1n], [6n, 2n], [7n, 3n]]);
    assert.deepEqual(toClose.map(isFdOpen), [false, false]);
  } finally {
    s.end();
    for (const fd of toClose) if (isFdOpen(fd)) fs.closeSync(fd);
  }
});

for (const ring of [true, false]) {
  test(`FileClose from RELEASE: the fd is closed and the release answered; from an op with a reply body, EIO (the fd closed all the same) (${ring ? 'ring' : 'noring'})`, () => {
    let fds: number[] = [];
    const releaser = {
      release: (): FileClose => new FileClose([fds[0]!]),
      getattr: (): FileClose => new FileClose([fds[1]!]),
      // The session makes its ring only for a filesystem that serves READs.
      read: (): number => 0,
    };
    const s = handFedSession(releaser, ring);
    assert.equal((s.session as unknown as { rio?: object }).rio !== undefined, ring, 'the session has a ring exactly when asked');
    fds = [fs.openSync(path.join(s.dir, 'a'), 'w'), fs.openSync(path.join(s.dir, 'b'), 'w')];
    try {
      // fuse_release_in: fh, flags, release_flags, lock_owner.
      s.send(Opcode.FUSE_RELEASE, 2n, Buffer.concat([u64(1n), u32(0), u32(0), u64(0n)]), 5n);
      // fuse_getattr_in: getattr_flags, dummy, fh.
      s.send(Opcode.FUSE_GETATTR, 3n, Buffer.concat([u32(0), u32(0), u64(0n)]), 5n);
      assert.ok(s.session.drainRing(5000));
      assert.deepEqual(s.replies().slice(1), [[2n, 0], [3n, -5 /* EIO */]]);
      assert.deepEqual(fds.map(isFdOpen), [false, false]);
    } finally {
      s.end();
      for (const fd of fds) if (isFdOpen(fd)) fs.closeSync(fd);
    }
  });
}

test('notifications: inval_inode, inval_entry, store, retrieve', async () => {
  const m = await mountFs({ module: probeModule, exportName: 'ProbeFs' });
  const ctl = (cmd: string) => fs.writeFileSync(path.join(m.dir, 'ctl'), cmd);
  const data = () => fs.readFileSync(path.join(m.dir, 'data'), 'utf8');
  const stats = () => fs.readFileSync(path.join(m.dir, 'stats'), 'utf8');
  try {
    assert.equal(data(), 'AAAA');
    // Without a notification the kernel keeps serving its cache.
    ctl('set BBBB');
    assert.equal(data(), 'AAAA');
    ctl('set-inval CCCC');
    assert.equal(data(), 'CCCC');
    // store: put bytes into the page cache; reading them needs no READ.
    const readsBefore = stats();
    ctl('store DDDD');
    assert.equal(data(), 'DDDD');
    assert.equal(stats().split(' ')[0], readsBefore.split(' ')[0]);
    // retrieve: the kernel answers with what it has cached.
    ctl('retrieve');
    let s = '';
    for (let i = 0; i < 50 && !(s = stats()).includes('DDDD'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(s, /retrieved=DDDD/);
    // inval_entry: a cached name goes away.
    ctl('hide');
    assert.ok(fs.existsSync(path.join(m.dir, 'data')), 'entry still cached without a notification');
    ctl('hide-inval');
    assert.ok(!fs.existsSync(path.join(m.dir, 'data')));
  } finally {
    await unmountFs(m);
  }
});

test('async handlers: a slow read does not stall lookups, and an interrupt ends it with EINTR', async () => {
  const m = await mountMemFs({ slowReadMs: 10000 });
  try {
    fs.writeFileSync(path.join(m.dir, 'slow'), 'x'.repeat(100));
    fs.writeFileSync(path.join(m.dir, 'other'), 'y');
    const { spawn } = await import('node:child_process');
    // A reader that gives up on SIGUSR1 (the handler raises, so Python does not retry).
    const py = `
import os, signal, sys, time
class Stop(Exception): pass
def h(*a): raise Stop()
signal.signal(signal.SIGUSR1, h)
fd = os.open(sys.argv[1], os.O_RDONLY)
print('ready', flush=True)
t = time.time()
try:
    os.read(fd, 4096)
    print('read-completed')
except Stop:
    print('interrupted %.2f' % (time.time() - t))
`;
    const child = spawn('python3', ['-c', py, path.join(m.dir, 'slow')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    // While the read is pending, other requests are answered at once.
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) fs.statSync(path.join(m.dir, 'other'));
    assert.equal(fs.readdirSync(m.dir).length, 2);
    assert.ok(Date.now() - t0 < 1000, `lookups took ${Date.now() - t0} ms during a slow read`);
    child.kill('SIGUSR1');
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0);
    const mm = /interrupted ([\d.]+)/.exec(out);
    assert.ok(mm, `reader output: ${out}`);
    assert.ok(Number(mm![1]) < 5, `interrupted after ${mm![1]} s`);
  } finally {
    await unmountFs(m);
  }
});

test('async filesystem: every handler answering through a Promise works the same', async () => {
  const m = await mountMemFs({ async: true });
  try {
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(m.dir, `f${i}`), `content ${i}`);
    for (let i = 0; i < 50; i++) assert.equal(fs.readFileSync(path.join(m.dir, `f${i}`), 'utf8'), `content ${i}`);
    assert.equal(fs.readdirSync(m.dir).length, 50);
    const r = sh(`cd ${m.dir} && for i in 1 2 3 4; do (cat f1 f2 f3 > /dev/null; ls > /dev/null) & done; wait; echo ok`);
    assert.equal(r.stdout.trim(), 'ok');
  } finally {
    await unmountFs(m);
  }
});

test('unmount from outside ends the session; the mount point is free again', async () => {
  const m = await mountMemFs();
  const r = sh(`umount ${m.dir}`);
  assert.equal(r.status, 0, r.stderr);
  await m.closed;
  assert.ok(!fs.readFileSync('/proc/self/mounts', 'utf8').includes(` ${m.dir} `));
  void tmpdir;
});

// A filesystem's code may throw where no handler catches it (in a callback
// of its own): Node ends the session's thread. The main thread then closes the
// device, so that clients get ENOTCONN at once instead of waiting for
// replies that never come, and `closed` says what happened.
test('the session thread ended by an exception outside any handler: its client and the next get ENOTCONN, closed rejects, unmount cleans up', { timeout: 60_000 }, async () => {
  const m = await mountMemFs({ throwLaterOn: 'boom' });
  let unmounted = false;
  try {
    fs.writeFileSync(path.join(m.dir, 'f'), 'x');
    const stat = (p: string): Promise<string> =>
      new Promise((resolve) => execFile('stat', [p], { timeout: 10_000 }, (_e, out, err) => resolve(out + err)));
    // This thread blocked meanwhile (as a synchronous call on the mount would
    // block it): the session thread closes the device itself.
    const boom = sh(`stat ${path.join(m.dir, 'boom')} 2>&1`, { timeout: 10_000 }).stdout;
    assert.match(boom, /Transport endpoint is not connected|Software caused connection abort/);
    await assert.rejects(m.closed, /thrown outside any handler/);
    assert.match(await stat(path.join(m.dir, 'f')), /Transport endpoint is not connected/);
    await assert.rejects(unmountFs(m), /thrown outside any handler/);
    unmounted = true;
    assert.ok(!fs.readFileSync('/proc/self/mounts', 'utf8').includes(` ${m.dir} `), 'unmounted');
  } finally {
    if (!unmounted) await m.unmount({ lazy: true }).catch(() => {});
  }
});
