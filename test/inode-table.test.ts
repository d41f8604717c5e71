// The inode table on its own: numbering (with explicit numbers for
// use_host_ino), reference counts, identity by birth time, fd eviction and
// reopening from file handles, and memory given back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as sys from '../src/sys/index.js';
import { InodeTable } from '../src/fs/passthrough/inode-table.js';
import { ByteArena, CHUNK } from '../src/fs/passthrough/inode-chunk.js';
import type { Identity, Inode, ReopenOpen } from '../src/fs/passthrough/inode.js';
import { tmpdir } from './helpers.js';
import { Rng } from './rng.js';

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** Everything forgotten: only the root left, no inode fd open, none leaked (`fdsBefore`: this process's fds before). */
function assertEmpty(t: InodeTable, fdsBefore: number): void {
  assert.equal(t.size, 1);
  assert.equal(t.fdCount, 0);
  assert.equal(t.dirFdCount, 0);
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'no fd leaked');
}

function setup(useHostIno: boolean, maxFds = 1 << 20, n = 10) {
  const dir = tmpdir();
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `f${i}`), String(i));
  const rootFd = sys.open(dir, sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
  const mountFd = sys.open(dir, sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
  const rootIno = BigInt(fs.statSync(dir).ino);
  const t = new InodeTable(rootFd, { devKey: 'D', ino: rootIno, btimeSec: 1, btimeNsec: 2, type: S_IFDIR }, useHostIno, maxFds, true, mountFd);
  const add = (i: number, devKey = 'D') => {
    const fd = sys.openat(rootFd, `f${i}`, sys.O_PATH | sys.O_CLOEXEC);
    const ino = BigInt(fs.statSync(path.join(dir, `f${i}`)).ino);
    return t.add(fd, devKey, ino, 100 + i, 0, S_IFREG, true);
  };
  return { dir, t, add, rootFd, mountFd };
}

test('counter numbering: root is 1, others from 2, same file same number, refs counted', () => {
  const { t, add } = setup(false);
  assert.equal(t.root.nodeid, 1n);
  assert.equal(t.root.stIno, 1n);
  const a = add(0);
  const b = add(1);
  assert.equal(a.stIno, 2n);
  assert.equal(b.stIno, 3n);
  const again = t.find('D', a.hostIno, 100, 0)!;
  assert.equal(again.stIno, 2n);
  assert.equal(again.nodeid, a.nodeid);
  again.refs++;
  assert.equal(t.get(a.nodeid).refs, 2n);
  t.forget(a.nodeid, 1n);
  assert.equal(t.get(a.nodeid).refs, 1n);
  t.forget(a.nodeid, 1n);
  assert.equal(t.tryGet(a.nodeid), undefined);
  assert.throws(() => t.get(a.nodeid), { errno: 116 });
  assert.equal(t.size, 2);
  t.forget(1n, 5n);
  assert.equal(t.get(1n), t.root, 'the root is never forgotten');
});

test('node ids: the slot in the low half, the slot\'s uses above it; a slot taken again gives a node id the kernel never saw', () => {
  const { t, add } = setup(false);
  const a = add(0);
  assert.equal(a.nodeid, (1n << 32n) | BigInt(a.slot + 1));
  assert.equal(a.generation, 1n);
  const slot = a.slot;
  const old = a.nodeid;
  t.forget(old, 1n);
  // Fill the rest of the first chunk: then the next inode must take the freed slot.
  for (let i = 0; i < CHUNK - 2; i++) t.add(-1, 'D', BigInt(1_000_000 + i), i, 0, S_IFREG, false);
  const c = t.add(-1, 'D', 999_999n, 0, 0, S_IFREG, false);
  assert.equal(c.slot, slot, 'the freed slot is taken again');
  assert.equal(c.nodeid, (2n << 32n) | BigInt(slot + 1));
  assert.equal(c.generation, 2n);
  assert.equal(c.stIno, BigInt(2 + CHUNK - 1), 'st_ino keeps counting');
  assert.equal(t.tryGet(old), undefined, 'the old node id is stale');
  assert.equal(t.get(c.nodeid).hostIno, c.hostIno);
  // Node ids that name no live slot: out of range, the root's slot with another count, a free slot.
  for (const id of [0n, 2n, BigInt(slot + 2), (1n << 32n) | 1n, (5n << 32n) | BigInt(slot + 1), (1n << 63n) | BigInt(slot + 1), 2n ** 64n - 1n]) {
    assert.equal(t.tryGet(id), undefined, `node id ${id}`);
  }
});

test('node ids past 2^53: a slot used 2^21 times or more still maps to and from its node id', () => {
  const { t, add } = setup(false);
  const a = add(0);
  const gens = t.chunk(a.slot).gens;
  // Reusing a slot two million times takes long; its count is set as if it had been.
  for (const g of [2 ** 21 - 1, 2 ** 21, 2 ** 21 + 5, 2 ** 32 - 1]) {
    gens[a.slot & (CHUNK - 1)] = g;
    const id = (BigInt(g) << 32n) | BigInt(a.slot + 1);
    assert.equal(a.nodeid, id, `count ${g}`);
    assert.equal(t.get(id).slot, a.slot, `count ${g}: back to the slot`);
    assert.equal(t.tryGet(id + (1n << 32n)), undefined, `count ${g}: the next count names nothing`);
  }
});

test('a lookup count that would overflow 32 bits pins the inode: later forgets never let it go', () => {
  const { t, add } = setup(false);
  const a = add(0);
  a.refs = BigInt(2 ** 32 - 2);
  a.refs++;
  assert.equal(a.refs, BigInt(2 ** 32 - 1));
  a.refs++;
  assert.equal(a.refs, BigInt(2 ** 32 - 1), 'pinned');
  t.forget(a.nodeid, BigInt(2 ** 32 - 1));
  t.forget(a.nodeid, 10n ** 12n);
  assert.equal(t.get(a.nodeid).hostIno, a.hostIno, 'still there');
  const b = add(1);
  b.refs = 5n;
  t.forget(b.nodeid, 4n);
  assert.equal(t.get(b.nodeid).refs, 1n);
  t.forget(b.nodeid, 1n);
  assert.equal(t.tryGet(b.nodeid), undefined, 'an unpinned inode goes at zero');
});

test('birth times before 1970 and after 2106 are told apart as any others', () => {
  const { t, rootFd } = setup(false);
  // Kept modulo 2^32 seconds: only births a multiple of 136 years apart, to the nanosecond, would look the same.
  const births = [-5, 0, 2 ** 32 - 1, 2 ** 32 + 7, 2 ** 40 + 3, -(2 ** 33) + 11];
  const made = births.map((bs, k) => t.add(sys.openat(rootFd, `f${k}`, sys.O_PATH | sys.O_CLOEXEC), 'D', 77n, bs, 1, S_IFREG, true));
  births.forEach((bs, k) => {
    assert.equal(t.find('D', 77n, bs, 1)?.slot, made[k]!.slot, `birth ${bs}`);
    assert.equal(t.find('D', 77n, bs, 2), undefined, `birth ${bs}, other nanoseconds`);
  });
  assert.equal(t.find('D', 77n, -6, 1), undefined);
});

test('d_ino before a lookup: readdir\'s number is the st_ino the lookup then gives; at most 65,536 such promises, the oldest dropped first', () => {
  const { t } = setup(false);
  const first = t.peekIno('D', 5_000_000n);
  assert.equal(t.peekIno('D', 5_000_000n), first, 'asked again: the same number');
  assert.notEqual(t.peekIno('E', 5_000_000n), first, 'another device: another file');
  const huge = t.peekIno('D', 2n ** 60n + 1n);
  assert.equal(t.peekIno('D', 2n ** 60n + 1n), huge, 'host numbers beyond 2^53 too');
  assert.equal(t.add(-1, 'D', 2n ** 60n + 1n, 0, 0, S_IFREG, false).stIno, huge, 'the lookup takes the promised number');
  for (let i = 1; i <= 70_000; i++) t.peekIno('D', 5_000_000n + BigInt(i));
  const last = t.peekIno('D', 5_070_000n);
  assert.equal(t.add(-1, 'D', 5_070_000n, 0, 0, S_IFREG, false).stIno, last);
  const again = t.peekIno('D', 5_000_000n);
  assert.notEqual(again, first, 'the oldest promise was dropped: a new number');
  assert.equal(t.add(-1, 'D', 5_000_000n, 0, 0, S_IFREG, false).stIno, again);
});

test('forget with `late`: a removed file of 1 MiB or more hands its fd over instead of closing it; small, still linked or directory ones are closed', () => {
  const { dir, t, add, rootFd, mountFd } = setup(false, 1 << 20, 4);
  fs.writeFileSync(path.join(dir, 'f0'), Buffer.alloc(2 << 20, 1)); // big, to be removed
  fs.writeFileSync(path.join(dir, 'f1'), Buffer.alloc(2 << 20, 1)); // big, still linked
  // f2: small, removed
  fs.mkdirSync(path.join(dir, 'd'));
  const [big, linked, small] = [add(0), add(1), add(2)];
  const dfd = sys.openat(rootFd, 'd', sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
  const d = t.add(dfd, 'D', BigInt(fs.statSync(path.join(dir, 'd')).ino), 200, 0, S_IFDIR, true);
  const fdsOf = [big, linked, small, d].map((i) => t.fdOf(i));
  fs.rmSync(path.join(dir, 'f0'));
  fs.rmSync(path.join(dir, 'f2'));
  fs.rmdirSync(path.join(dir, 'd'));
  const late: number[] = [];
  for (const i of [big, linked, small, d]) t.forget(i.nodeid, 1n, late);
  assert.deepEqual(late, [fdsOf[0]], 'only the removed big file\'s fd is handed over');
  assert.equal(fs.readlinkSync(`/proc/self/fd/${late[0]}`), `${path.join(dir, 'f0')} (deleted)`, 'still open, for the caller to close');
  assert.equal(t.fdCount, 0, 'no longer counted as the table\'s');
  for (const fd of fdsOf.slice(1)) assert.throws(() => fs.readlinkSync(`/proc/self/fd/${fd}`), { code: 'ENOENT' }, 'closed');
  sys.close(late[0]!);
  sys.close(rootFd);
  sys.close(mountFd);
});

test('birth time is part of identity: a reused inode number is another file', () => {
  const { t, add } = setup(false);
  const a = add(0);
  assert.equal(t.find('D', a.hostIno, 100, 0)?.nodeid, a.nodeid);
  assert.equal(t.find('D', a.hostIno, 100, 1), undefined);
  assert.equal(t.find('E', a.hostIno, 100, 0), undefined);
  // Readdir knows no birth time: by host inode number alone, the live inode's number.
  assert.equal(t.peekIno('D', a.hostIno), a.stIno);
});

test('use_host_ino: virtual flag | device (8 bits) | host inode (47 bits), explicit numbers', () => {
  const { t, add, rootFd } = setup(true);
  const a = add(0);
  // 'D' is device index 1 (the root's), so st_ino is 1 << 47 | host inode.
  assert.equal(a.stIno, (1n << 47n) | a.hostIno);
  assert.equal(t.get(a.nodeid).slot, a.slot);
  const b = add(1, 'E');
  assert.equal(b.stIno, (2n << 47n) | b.hostIno);
  // A host inode number above 2^47-1 gets a virtual number with bit 55 set.
  const fd = sys.openat(rootFd, 'f2', sys.O_PATH | sys.O_CLOEXEC);
  const big = t.add(fd, 'D', (1n << 47n) + 5n, 1, 0, S_IFREG, true);
  assert.equal(big.stIno, (1n << 55n) | 1n);
  assert.equal(t.get(big.nodeid).hostIno, (1n << 47n) + 5n);
  // The same host inode number alive twice (reused while the old is known): virtual.
  const fd2 = sys.openat(rootFd, 'f3', sys.O_PATH | sys.O_CLOEXEC);
  const twin = t.add(fd2, 'D', a.hostIno, 999, 0, S_IFREG, true);
  assert.equal(twin.stIno, (1n << 55n) | 2n);
  assert.equal(t.get(a.nodeid).slot, a.slot);
  assert.equal(t.root.nodeid, 1n);
  // Once the first is gone, the host number is free again.
  t.forget(a.nodeid, 1n);
  const third = t.add(sys.openat(rootFd, 'f3', sys.O_PATH | sys.O_CLOEXEC), 'D', a.hostIno, 1000, 0, S_IFREG, true);
  assert.equal(third.stIno, (1n << 47n) | a.hostIno);
  // Host inode numbers above 2^53 (hashed from BigInt halves) and below it are found exactly.
  const huge = t.add(sys.openat(rootFd, 'f2', sys.O_PATH | sys.O_CLOEXEC), 'D', (1n << 60n) + 7n, 1, 0, S_IFREG, true);
  assert.equal(t.find('D', (1n << 60n) + 7n, 1, 0)?.slot, huge.slot);
  assert.equal(t.find('D', (1n << 60n) + 8n, 1, 0), undefined);
  assert.equal(t.find('D', (1n << 47n) + 5n, 1, 0)?.slot, big.slot);
});

test('at most 254 (device, mount) pairs', () => {
  const { t, rootFd } = setup(true);
  for (let d = 0; d < 253; d++) t.add(sys.openat(rootFd, 'f0', sys.O_PATH | sys.O_CLOEXEC), `dev${d}`, 10n, 0, 0, S_IFREG, false);
  assert.throws(() => t.add(sys.openat(rootFd, 'f0', sys.O_PATH | sys.O_CLOEXEC), 'one-too-many', 10n, 0, 0, S_IFREG, false), { errno: 75 });
});

test('more live inodes than fds: old fds are closed and reopened from file handles', () => {
  const { t, add, dir } = setup(false, 20, 100);
  const nodes = Array.from({ length: 100 }, (_, i) => {
    t.beginOp();
    return add(i);
  });
  assert.ok(t.fdCount <= 20, `fd count ${t.fdCount}`);
  // Every inode still reaches its own file.
  for (let i = 0; i < 100; i++) {
    t.beginOp();
    const fd = t.fdOf(nodes[i]!);
    const st = Buffer.alloc(256);
    assert.equal(sys.statx(fd, '', sys.AT_EMPTY_PATH, sys.STATX_INO, st), 0);
    assert.equal(st.readBigUInt64LE(32), BigInt(fs.statSync(path.join(dir, `f${i}`)).ino));
  }
  assert.ok(t.fdCount <= 20);
  // Within one operation nothing it used is closed (its caller may hold the fds).
  t.beginOp();
  const held = nodes.slice(0, 30).map((n) => t.fdOf(n));
  for (const fd of held) assert.ok(sys.fcntl(fd, sys.F_GETFD, 0) >= 0, 'an fd taken in this operation stayed open');
  for (const n of nodes) t.forget(n.nodeid, 1n);
  assert.equal(t.fdCount, 0);
  assert.equal(t.dirFdCount, 0);
  assert.equal(t.size, 1);
});

test('open files share the fd budget: they push inode fds out; shed() and retryFd() on EMFILE', () => {
  const { t, add } = setup(false, 20, 40);
  const nodes = Array.from({ length: 40 }, (_, i) => {
    t.beginOp();
    return add(i);
  });
  assert.ok(t.fdCount <= 20, `fd count ${t.fdCount}`);
  // 15 open files: inode fds make room, the total stays within the budget.
  for (let k = 0; k < 15; k++) t.holdFd();
  assert.ok(t.fdCount + 15 <= 20, `inode fds ${t.fdCount} + 15 open files`);
  // Open files fill the budget: inodes are still reached (reopened from handles).
  for (let k = 0; k < 10; k++) t.holdFd();
  t.beginOp();
  const st = Buffer.alloc(256);
  assert.equal(sys.statx(t.fdOf(nodes[7]!), '', sys.AT_EMPTY_PATH, sys.STATX_INO, st), 0);
  for (let k = 0; k < 25; k++) t.releaseFd();
  // EMFILE: half of the evictable inode fds go, and the call is made once more.
  for (const n of nodes) {
    t.beginOp();
    t.fdOf(n);
  }
  t.beginOp();
  const before = t.fdCount;
  let calls = 0;
  assert.equal(t.retryFd(() => (++calls === 1 ? -sys.E.EMFILE : 5)), 5);
  assert.equal(calls, 2);
  assert.ok(t.fdCount <= Math.floor(before / 2), `${t.fdCount} of ${before} inode fds left`);
  // Other errors are not retried.
  calls = 0;
  assert.equal(t.retryFd(() => (++calls, -sys.E.ENOENT)), -sys.E.ENOENT);
  assert.equal(calls, 1);
  for (const n of nodes) t.forget(n.nodeid, 1n);
  assert.equal(t.fdCount, 0);
  assert.equal(t.dirFdCount, 0);
});

test('200,000 inodes added then forgotten: about 100 bytes each, and the memory comes back', () => {
  const { t, rootFd } = setup(false);
  const before = process.memoryUsage().arrayBuffers;
  const ids: bigint[] = [];
  for (let i = 0; i < 200_000; i++) {
    ids.push(t.add(-1, 'D', BigInt(1_000_000 + i), i, 0, S_IFREG, false).nodeid);
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 200_000 * 128, `grew ${grown} bytes for 200k inodes`);
  for (const id of ids) t.forget(id, 1n);
  assert.equal(t.size, 1);
  // The emptied chunks are dropped: nothing but the root's chunk stays reachable.
  assert.equal((t as unknown as { chunks: unknown[] }).chunks.filter(Boolean).length, 1);
  void rootFd;
});

test('a chunk emptied and dropped leaves no hash entry behind, also for slots filled while the hashes grew', () => {
  // The hashes grow (rehash) from inside the filling of a slot. That slot was
  // entered twice, once under a stale node id; after its chunk was dropped, a
  // probe through the extra entries read the missing chunk (TypeError, and
  // READDIRPLUS answered EIO: `rm -rf` of an unpacked tree left directories
  // behind). The last growth here happens while slot 32,768 (chunk 2, the
  // 32,768th inode added) is filled; chunk 2 is then emptied.
  const { t } = setup(false, 1 << 20, 0);
  const N = 36_000;
  const FIRST_OF_CHUNK2 = 32_767; // the root is slot 0, so inode i is in slot i + 1
  const ino = (i: number): bigint => BigInt(1_000_000 + i);
  const ids: bigint[] = [];
  for (let i = 0; i < N; i++) ids.push(t.add(-1, 'D', ino(i), 1, 0, S_IFREG, false).nodeid);
  for (let i = FIRST_OF_CHUNK2; i < N; i++) t.forget(ids[i]!, 1n);
  assert.equal((t as unknown as { chunks: unknown[] }).chunks[2], null, 'chunk 2 was dropped');
  for (let i = 0; i < N; i++) {
    const live = i < FIRST_OF_CHUNK2;
    assert.equal(t.find('D', ino(i), 1, 0)?.nodeid, live ? ids[i] : undefined, `find of inode ${i}`);
    assert.equal(t.listed('D', ino(i), false), live, `listed() of inode ${i}`);
    assert.equal(t.tryGet(ids[i]!)?.hostIno, live ? ino(i) : undefined, `tryGet of node ${ids[i]}`);
  }
  for (let id = 0n; id < 4n * BigInt(N); id++) void t.tryGet(id);
  // Slots are reused after the drop, and every inode can be found and forgotten.
  const again: bigint[] = [];
  for (let i = FIRST_OF_CHUNK2; i < N; i++) again.push(t.add(-1, 'D', ino(N + i), 1, 0, S_IFREG, false).nodeid);
  // Their chunk is a new one, yet its slots give node ids the kernel never saw.
  const given = new Set(ids);
  assert.equal(again.filter((id) => given.has(id)).length, 0, 'no node id given twice');
  for (const id of [...ids.slice(0, FIRST_OF_CHUNK2), ...again]) t.forget(id, 1n);
  assert.equal(t.size, 1);
  for (let i = 0; i < 2 * N; i++) assert.equal(t.listed('D', ino(i), false), false);
});

// Random adds, repeated lookups and forgets against a plain Map, in waves
// that grow the table past several chunks and hash sizes and shrink it back
// (chunks dropped, hashes shrunk): every live inode is found by node id and by
// host identity, every forgotten one by neither, after every wave.
for (const useHostIno of [false, true]) {
  test(`random waves of adds and forgets agree with a model (use_host_ino ${useHostIno})`, () => {
    const seed = Number(process.env.TSFUSE_SEED ?? (Date.now() % 1_000_000));
    const rng = new Rng(seed);
    const { t } = setup(useHostIno, 1 << 20, 0);
    interface M { nodeid: bigint; dev: string; ino: bigint; btime: number; refs: number }
    const live = new Map<bigint, M>();
    const hostKeys = new Set<string>();
    const gone: M[] = [];
    let nextIno = 100n;
    const check = (where: string): void => {
      assert.equal(t.size, live.size + 1, `${where}: size (seed ${seed})`);
      for (const m of live.values()) {
        const v = t.tryGet(m.nodeid);
        assert.ok(v, `${where}: node ${m.nodeid} lost (seed ${seed})`);
        assert.equal(v.hostIno, m.ino, `${where}: node ${m.nodeid} host inode (seed ${seed})`);
        assert.equal(v.refs, BigInt(m.refs), `${where}: node ${m.nodeid} refs (seed ${seed})`);
        assert.equal(t.find(m.dev, m.ino, m.btime, 0)?.nodeid, m.nodeid, `${where}: find ${m.dev}:${m.ino} (seed ${seed})`);
        assert.ok(t.listed(m.dev, m.ino, false), `${where}: listed() ${m.dev}:${m.ino} (seed ${seed})`);
      }
      for (const m of gone) {
        if (!live.has(m.nodeid)) assert.equal(t.tryGet(m.nodeid), undefined, `${where}: forgotten node ${m.nodeid} found (seed ${seed})`);
        if (!hostKeys.has(`${m.dev}:${m.ino}`)) assert.equal(t.listed(m.dev, m.ino, false), false, `${where}: forgotten ${m.dev}:${m.ino} found (seed ${seed})`);
      }
    };
    const forgetSome = (m: M): void => {
      const n = rng.chance(0.7) ? m.refs : rng.range(1, m.refs);
      t.forget(m.nodeid, BigInt(n));
      m.refs -= n;
      if (m.refs <= 0) {
        live.delete(m.nodeid);
        hostKeys.delete(`${m.dev}:${m.ino}`);
        gone.push(m);
      }
    };
    for (let wave = 0; wave < 6; wave++) {
      const recent = [...live.values()].slice(0, 5000);
      const target = rng.pick([3_000, 20_000, 40_000, 70_000]);
      while (live.size < target) {
        if (rng.chance(0.1) && recent.length > 0) {
          // A lookup of a known file: one more reference.
          const m = rng.pick(recent);
          const v = t.find(m.dev, m.ino, m.btime, 0)!;
          v.refs++;
          m.refs++;
        } else {
          const dev = rng.chance(0.9) ? 'D' : 'E';
          const ino = nextIno++;
          const m: M = { nodeid: 0n, dev, ino, btime: rng.int(1000), refs: 1 };
          m.nodeid = t.add(-1, dev, ino, m.btime, 0, S_IFREG, false).nodeid;
          assert.ok(!live.has(m.nodeid), `node id ${m.nodeid} given twice (seed ${seed})`);
          live.set(m.nodeid, m);
          if (recent.length < 5000) recent.push(m);
          else recent[rng.int(5000)] = m;
          hostKeys.add(`${dev}:${ino}`);
        }
      }
      check(`wave ${wave} grown to ${live.size}`);
      // Forget: the newest or the oldest part (whole chunks emptied and
      // dropped while the rest stays), or a scattered part.
      const all = [...live.values()];
      const share = rng.pick([0.2, 0.5, 0.9, 1]);
      const cut = Math.floor(all.length * share);
      const how = rng.int(3);
      const victims = how === 0 ? all.slice(all.length - cut) : how === 1 ? all.slice(0, cut) : all.filter(() => rng.chance(share));
      for (const m of victims) while (live.has(m.nodeid)) forgetSome(m);
      check(`wave ${wave} shrunk to ${live.size}`);
    }
    for (const m of [...live.values()]) t.forget(m.nodeid, BigInt(m.refs));
    assert.equal(t.size, 1);
    assert.equal((t as unknown as { chunks: unknown[] }).chunks.filter(Boolean).length, 1);
  });
}

// Random operations on inodes with real fds under a small fd budget: fds are
// closed (clock sweep) and reopened from file handles, open files come and go,
// the handle arena fills with the handles of forgotten inodes and is compacted
// (about once in 60,000 steps). Every fdOf() must reach the inode's own
// file, and no fd may leak.
test('random lookups, fd use, open files and forgets under a 64-fd budget: every fd reaches its own file', () => {
  const seed = Number(process.env.TSFUSE_SEED ?? (Date.now() % 1_000_000));
  const rng = new Rng(seed);
  const N = 1500;
  const { t, add, dir } = setup(false, 64, N);
  const inoOf = Array.from({ length: N }, (_, i) => BigInt(fs.statSync(path.join(dir, `f${i}`)).ino));
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  const live = new Map<number, { nodeid: bigint; refs: number }>();
  let held = 0;
  const st = Buffer.alloc(256);
  for (let step = 0; step < 60_000; step++) {
    t.beginOp();
    const i = rng.int(N);
    const m = live.get(i);
    const r = rng.int(10);
    if (m === undefined) {
      live.set(i, { nodeid: add(i).nodeid, refs: 1 });
    } else if (r < 5) {
      const fd = t.fdOf(t.get(m.nodeid));
      assert.equal(sys.statx(fd, '', sys.AT_EMPTY_PATH, sys.STATX_INO, st), 0, `fdOf of f${i} (seed ${seed})`);
      assert.equal(st.readBigUInt64LE(32), inoOf[i], `fdOf of f${i} reached another file (seed ${seed})`);
    } else if (r < 6) {
      t.find('D', inoOf[i]!, 100 + i, 0)!.refs++;
      m.refs++;
    } else if (r < 8) {
      const n = rng.chance(0.5) ? m.refs : rng.range(1, m.refs);
      t.forget(m.nodeid, BigInt(n));
      m.refs -= n;
      if (m.refs === 0) live.delete(i);
    } else if (r < 9 && held < 50) {
      t.holdFd();
      held++;
    } else if (held > 0) {
      t.releaseFd();
      held--;
    }
    assert.ok(t.fdCount + held <= 64 || t.fdCount === 0, `step ${step}: ${t.fdCount} inode fds + ${held} open files over the budget (seed ${seed})`);
  }
  assert.equal(t.size, live.size + 1);
  for (const m of live.values()) t.forget(m.nodeid, BigInt(m.refs));
  assert.equal(t.fdCount, 0);
  assert.equal(t.dirFdCount, 0);
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'no fd leaked');
});

// ---- without file handles: inodes reopened by parent and name ----

/** What the table checks a reopened file against (every file here on device 'D'), or -errno. */
function idOf(fd: number): Identity | number {
  const st = Buffer.alloc(256);
  const r = sys.statx(fd, '', sys.AT_EMPTY_PATH, sys.STATX_INO | sys.STATX_BTIME, st);
  if (r < 0) return r;
  return { devKey: 'D', ino: st.readBigUInt64LE(32), btimeSec: Number(st.readBigInt64LE(80)), btimeNsec: st.readUInt32LE(88) };
}

/** `lookup(parent, name)` on table `t` as the passthrough does it (each new inode named); `sameMount` as statx would tell. */
function lookupIn(t: InodeTable, sameMount: boolean) {
  return (parent: Inode, name: string): Inode => {
    const fd = sys.openat(t.fdOf(parent), name, sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC);
    assert.ok(fd >= 0, `openat ${name}: ${fd}`);
    const id = idOf(fd) as Identity;
    const known = t.find('D', id.ino, id.btimeSec, id.btimeNsec);
    if (known) {
      t.offerFd(known, fd);
      t.nameSeen(known, parent, Buffer.from(name));
      known.refs++;
      return known;
    }
    const type = fs.statSync(`/proc/self/fd/${fd}`).isDirectory() ? S_IFDIR : S_IFREG;
    return t.add(fd, 'D', id.ino, id.btimeSec, id.btimeNsec, type, sameMount, parent, Buffer.from(name));
  };
}

/** `D` directories d0.. of `n` files f0.. (each holding "<d>/<i>") made in `dir` and looked up. */
function grid(dir: string, t: InodeTable, lookup: (parent: Inode, name: string) => Inode, D: number, n: number) {
  const dirs: Inode[] = [];
  const files: Inode[][] = [];
  for (let d = 0; d < D; d++) {
    fs.mkdirSync(path.join(dir, `d${d}`));
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `d${d}`, `f${i}`), `${d}/${i}`);
    t.beginOp();
    dirs.push(lookup(t.root, `d${d}`));
    files.push(Array.from({ length: n }, (_, i) => { t.beginOp(); return lookup(dirs[d]!, `f${i}`); }));
  }
  return { dirs, files };
}

/** The known inode `name` in `parent` reaches now, found as the passthrough finds it before a removal or rename. */
function reachedBy(t: InodeTable, parent: Inode, name: string): Inode | undefined {
  const fd = sys.openat(t.fdOf(parent), name, sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC);
  if (fd < 0) return undefined;
  const id = idOf(fd);
  sys.close(fd);
  if (typeof id === 'number') return undefined;
  return t.find('D', id.ino, id.btimeSec, id.btimeNsec);
}

/** Unlinks `name` (in host directory `hostDir`, `parent` in the table) as the passthrough does; returns the known inode it reached. */
function unlinkAs(t: InodeTable, parent: Inode, hostDir: string, name: string): Inode | undefined {
  const gone = reachedBy(t, parent, name);
  if (gone !== undefined) t.keepOpen(gone);
  fs.unlinkSync(path.join(hostDir, name));
  if (gone !== undefined) t.unname(gone, parent, Buffer.from(name));
  return gone;
}

/** The name `i` is reopened by, as "<parent node id>/<name>". */
function recorded(t: InodeTable, i: Inode): string | undefined {
  const n = t.nameOf(i);
  return n === undefined ? undefined : `${n.parent}/${n.name.toString()}`;
}

/** A table without handles on a real tree, and `lookup(parent, name)` as the passthrough does it. */
function setupByName(maxFds: number, reopenOpen: ReopenOpen | null = null) {
  const dir = tmpdir();
  const rootFd = sys.open(dir, sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
  const root = idOf(rootFd) as Identity;
  const t = new InodeTable(rootFd, { ...root, type: S_IFDIR }, false, maxFds, false, -1, idOf, reopenOpen);
  const lookup = lookupIn(t, true);
  /** The content of the file `i` stands for, read through the fd the table gives. */
  const read = (i: Inode): string => {
    t.beginOp();
    return fs.readFileSync(`/proc/self/fd/${t.fdOf(i)}`, 'utf8');
  };
  return { dir, t, lookup, read, idOf };
}

test('without file handles: inodes past the budget are reopened by parent and name; renames followed; an unlinked one keeps its fd; a name replaced behind gives ESTALE', () => {
  const { dir, t, lookup, read } = setupByName(20);
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  for (const d of ['a', 'b']) {
    fs.mkdirSync(path.join(dir, d));
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, d, `f${i}`), `${d}${i}`);
  }
  assert.equal(t.wantsName(true), true, 'without handles, every file is given a name');
  const A = lookup(t.root, 'a');
  const B = lookup(t.root, 'b');
  const fa = Array.from({ length: 40 }, (_, i) => { t.beginOp(); return lookup(A, `f${i}`); });
  const fb = Array.from({ length: 40 }, (_, i) => { t.beginOp(); return lookup(B, `f${i}`); });
  const all = () => {
    for (let i = 0; i < 40; i++) {
      if (i < 1 || i > 4) assert.equal(read(fa[i]!), `a${i}`);
      assert.equal(read(fb[i]!), `b${i}`);
      assert.ok(t.fdCount <= 20, `${t.fdCount} inode fds`);
    }
  };
  all();
  assert.ok(t.fdCount <= 20, `${t.fdCount} inode fds over a budget of 20`);

  // Renamed through the mount: the table follows, the file is reached by its new name.
  fs.renameSync(path.join(dir, 'a', 'f1'), path.join(dir, 'b', 'g1'));
  t.renamed(fa[1]!, B, Buffer.from('g1'));
  all();
  assert.equal(read(fa[1]!), 'a1');
  assert.equal(recorded(t, fa[1]!), `${B.nodeid}/g1`);

  // Unlinked through the mount while the kernel still holds it: its fd stays open.
  t.beginOp();
  const gone = unlinkAs(t, A, path.join(dir, 'a'), 'f2')!;
  assert.equal(gone.nodeid, fa[2]!.nodeid);
  assert.equal(recorded(t, gone), undefined);
  all();
  assert.equal(read(fa[2]!), 'a2');

  // Replaced behind the table: the name now reaches another file, which is refused.
  fs.renameSync(path.join(dir, 'a', 'f4'), path.join(dir, 'a', 'old4'));
  fs.writeFileSync(path.join(dir, 'a', 'f4'), 'new4');
  all();
  t.beginOp();
  const new4 = lookup(A, 'f4');
  assert.notEqual(new4.nodeid, fa[4]!.nodeid);
  assert.equal(recorded(t, new4), `${A.nodeid}/f4`);
  t.forget(new4.nodeid, new4.refs);
  fs.renameSync(path.join(dir, 'a', 'f3'), path.join(dir, 'a', 'old3'));
  fs.writeFileSync(path.join(dir, 'a', 'f3'), 'impostor');
  all();
  assert.throws(() => read(fa[3]!), { errno: 116 });
  // The name reaches no known inode: removing it through the mount keeps nothing.
  t.beginOp();
  assert.equal(reachedBy(t, A, 'f3'), undefined);
  // Looked up again, the name reaches the new file, and the old one still gives ESTALE.
  t.beginOp();
  const impostor = lookup(A, 'f3');
  assert.notEqual(impostor.nodeid, fa[3]!.nodeid);
  assert.equal(recorded(t, impostor), `${A.nodeid}/f3`);
  assert.equal(read(impostor), 'impostor');
  assert.throws(() => read(fa[3]!), { errno: 116 });
  t.forget(impostor.nodeid, impostor.refs);

  // A directory forgotten by the kernel stays while its children are known by name.
  t.forget(A.nodeid, A.refs);
  assert.ok(t.tryGet(A.nodeid) !== undefined, 'a/ went while its files are known by name');
  assert.equal(read(fa[0]!), 'a0');
  for (const f of [...fa, ...fb]) t.forget(f.nodeid, f.refs);
  assert.equal(t.tryGet(A.nodeid), undefined, 'a/ stayed after its last child went');
  t.forget(B.nodeid, B.refs);
  assertEmpty(t, fdsBefore);
});

test('without file handles: a path deeper than the budget is reopened holding few fds at once', () => {
  const { dir, t, lookup, read } = setupByName(16);
  const depth = 100;
  let p = dir;
  for (let k = 0; k < depth; k++) fs.mkdirSync((p = path.join(p, 'd')));
  fs.writeFileSync(path.join(p, 'leaf'), 'bottom');
  const chain: Inode[] = [];
  let cur = t.root;
  for (let k = 0; k < depth; k++) {
    t.beginOp();
    chain.push((cur = lookup(cur, 'd')));
  }
  t.beginOp();
  const leaf = lookup(cur, 'leaf');
  // Push every fd out, then reach the leaf: each directory is reopened from its parent.
  for (let k = 0; k < depth; k++) { t.beginOp(); t.fdOf(chain[k]!); }
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 30; k++) { t.beginOp(); t.fdOf(chain[k]!); }
    assert.equal(read(leaf), 'bottom');
    assert.ok(t.fdCount <= 16, `${t.fdCount} inode fds over a budget of 16`);
  }
  for (const i of [leaf, ...chain]) t.forget(i.nodeid, i.refs);
  assert.equal(t.size, 1);
  assert.equal(t.fdCount, 0);
  assert.equal(t.dirFdCount, 0);
});

test('without file handles: random lookups, renames, unlinks, fd use and forgets under a 48-fd budget agree with a model', () => {
  const seed = Number(process.env.TSFUSE_SEED ?? (Date.now() % 1_000_000));
  const rng = new Rng(seed);
  const { dir, t, lookup, idOf } = setupByName(48);
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  const D = 6;
  const dirs: Inode[] = [];
  for (let d = 0; d < D; d++) {
    fs.mkdirSync(path.join(dir, `d${d}`));
    for (let i = 0; i < 60; i++) fs.writeFileSync(path.join(dir, `d${d}`, `f${i}`), '');
    t.beginOp();
    dirs.push(lookup(t.root, `d${d}`));
  }
  // Host files by current path; the model: which live node stands for which host inode, and its name.
  type F = { nodeid: bigint; refs: number; ino: bigint; d: number; name: string | null };
  const live: F[] = [];
  let fresh = 0;
  let held = 0;
  const st = Buffer.alloc(256);
  for (let step = 0; step < 20_000; step++) {
    t.beginOp();
    const r = rng.int(20);
    const f = live.length > 0 ? live[rng.int(live.length)]! : undefined;
    if (r < 5 || f === undefined) {
      const d = rng.int(D);
      const names = fs.readdirSync(path.join(dir, `d${d}`));
      if (names.length === 0) continue;
      const name = names[rng.int(names.length)]!;
      const i = lookup(dirs[d]!, name);
      const known = live.find((x) => x.nodeid === i.nodeid);
      if (known) {
        known.refs++;
        known.name = name;
        known.d = d;
      } else {
        live.push({ nodeid: i.nodeid, refs: 1, ino: (idOf(t.fdOf(i)) as { ino: bigint }).ino, d, name });
      }
    } else if (r < 11) {
      const fd = t.fdOf(t.get(f.nodeid));
      assert.equal(sys.statx(fd, '', sys.AT_EMPTY_PATH, sys.STATX_INO, st), 0);
      assert.equal(st.readBigUInt64LE(32), f.ino, `step ${step}: fdOf reached another file (seed ${seed})`);
    } else if (r < 13 && f.name !== null) {
      const d = rng.int(D);
      const to = `r${fresh++}`;
      const moved = reachedBy(t, dirs[f.d]!, f.name);
      assert.equal(moved?.nodeid, f.nodeid, `step ${step}: ${f.name} reached another inode (seed ${seed})`);
      assert.equal(recorded(t, moved), `${dirs[f.d]!.nodeid}/${f.name}`, `step ${step}: the table lost ${f.name}'s name (seed ${seed})`);
      fs.renameSync(path.join(dir, `d${f.d}`, f.name), path.join(dir, `d${d}`, to));
      t.renamed(moved, dirs[d]!, Buffer.from(to));
      f.d = d;
      f.name = to;
    } else if (r < 14 && f.name !== null) {
      const gone = unlinkAs(t, dirs[f.d]!, path.join(dir, `d${f.d}`), f.name);
      assert.equal(gone?.nodeid, f.nodeid);
      f.name = null;
    } else if (r < 17) {
      const n = rng.chance(0.5) ? f.refs : rng.range(1, f.refs);
      t.forget(f.nodeid, BigInt(n));
      f.refs -= n;
      if (f.refs === 0) live.splice(live.indexOf(f), 1);
    } else if (r < 18 && held < 20) {
      t.holdFd();
      held++;
    } else if (held > 0) {
      t.releaseFd();
      held--;
    }
    const pinned = live.filter((x) => x.name === null).length;
    assert.ok(t.fdCount + held <= Math.max(48, pinned + held + 3), `step ${step}: ${t.fdCount} inode fds + ${held} open files over the budget (seed ${seed})`);
    // Unlinked files keep an fd each: let the model forget them now and then, as the kernel does.
    if (pinned > 10) {
      for (const x of live.filter((y) => y.name === null)) t.forget(x.nodeid, BigInt(x.refs));
      for (let k = live.length - 1; k >= 0; k--) if (live[k]!.name === null) live.splice(k, 1);
    }
  }
  assert.equal(t.size, live.length + D + 1);
  for (const x of live) t.forget(x.nodeid, BigInt(x.refs));
  for (const d of dirs) t.forget(d.nodeid, d.refs);
  for (let k = 0; k < held; k++) t.releaseFd();
  assertEmpty(t, fdsBefore);
});

test('without file handles: removing one name of a hard link keeps the other name the inode is recorded under', () => {
  const { dir, t, lookup, read } = setupByName(8);
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  fs.mkdirSync(path.join(dir, 'a'));
  fs.writeFileSync(path.join(dir, 'a', 'x'), 'linked');
  fs.linkSync(path.join(dir, 'a', 'x'), path.join(dir, 'a', 'y'));
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, 'a', `f${i}`), `${i}`);
  t.beginOp();
  const A = lookup(t.root, 'a');
  t.beginOp();
  const X = lookup(A, 'x');
  // y reaches X, recorded as x: unlinking y leaves that record alone.
  t.beginOp();
  assert.equal(unlinkAs(t, A, path.join(dir, 'a'), 'y')?.nodeid, X.nodeid);
  assert.equal(recorded(t, X), `${A.nodeid}/x`);
  const others = Array.from({ length: 20 }, (_, i) => { t.beginOp(); return lookup(A, `f${i}`); });
  for (let round = 0; round < 3; round++) {
    for (const o of others) read(o);
    assert.equal(read(X), 'linked', 'reopened by x');
    assert.ok(t.fdCount <= 8, `${t.fdCount} inode fds over a budget of 8`);
  }
  for (const i of [X, ...others, A]) t.forget(i.nodeid, i.refs);
  assertEmpty(t, fdsBefore);
});

test('without file handles: a directory with more than 65,535 children known by name stays until the last of them is forgotten', () => {
  const { dir, t, lookup, read } = setupByName(64);
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  const N = 65_540;
  fs.mkdirSync(path.join(dir, 'big'));
  const made = spawnSync('sh', ['-c', `cd "$1" && seq -f 'f%.0f' 1 ${N} | xargs touch`, 'sh', path.join(dir, 'big')]);
  assert.equal(made.status, 0, String(made.stderr));
  t.beginOp();
  const big = lookup(t.root, 'big');
  const kids = Array.from({ length: N }, (_, k) => { t.beginOp(); return lookup(big, `f${k + 1}`); });
  t.forget(big.nodeid, big.refs);
  // Forgotten one by one, the last few past the 16-bit count first.
  for (let k = N - 1; k >= 1; k--) t.forget(kids[k]!.nodeid, kids[k]!.refs);
  assert.ok(t.tryGet(big.nodeid) !== undefined, 'big/ went while one child is known by name');
  assert.equal(read(kids[0]!), '', 'its last child is still reopened through it');
  t.forget(kids[0]!.nodeid, kids[0]!.refs);
  assert.equal(t.tryGet(big.nodeid), undefined, 'big/ stayed after its last child went');
  assertEmpty(t, fdsBefore);
});

test('with file handles, files no handle can reopen (on another mount) are reopened by name, through a parent reopened from its handle', () => {
  const dir = tmpdir();
  for (const d of ['a', 'b']) {
    fs.mkdirSync(path.join(dir, d));
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, d, `f${i}`), `${d}${i}`);
  }
  for (let k = 0; k < 40; k++) fs.mkdirSync(path.join(dir, `x${k}`));
  const rootFd = sys.open(dir, sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
  const mountFd = sys.open(dir, sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
  const root = idOf(rootFd) as Identity;
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  const t = new InodeTable(rootFd, { ...root, type: S_IFDIR }, false, 12, true, mountFd, idOf);
  assert.equal(t.wantsName(true), false, 'with handles, files on the source\'s mount are not given names');
  // sameMount: as the passthrough tells it from statx's mount id.
  const addAt = (parent: Inode, name: string, sameMount: boolean, type: number): Inode => {
    t.beginOp();
    const fd = sys.openat(t.fdOf(parent), name, sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC);
    const id = idOf(fd) as Identity;
    const byName = t.wantsName(sameMount);
    return t.add(fd, 'D', id.ino, id.btimeSec, id.btimeNsec, type, sameMount, byName ? parent : undefined, byName ? Buffer.from(name) : undefined);
  };
  // More directories than the budget: when these are used, directories' fds
  // (a/'s too: the sweep reaches it after them) are pushed out.
  const extra = Array.from({ length: 40 }, (_, k) => addAt(t.root, `x${k}`, true, S_IFDIR));
  const A = addAt(t.root, 'a', true, S_IFDIR);
  const files = Array.from({ length: 40 }, (_, i) => addAt(A, `f${i}`, false, S_IFREG));
  // b/ and its files are on the source's mount: reopened from handles.
  const B = addAt(t.root, 'b', true, S_IFDIR);
  const others = Array.from({ length: 40 }, (_, i) => addAt(B, `f${i}`, true, S_IFREG));
  assert.equal(t.tracksName(A), false, 'a/ is on the source\'s mount: a handle reopens it');
  assert.equal(t.tracksName(files[0]!), true);
  assert.equal(t.tracksName(others[0]!), false);
  const read = (i: Inode): string => {
    t.beginOp();
    const s = fs.readFileSync(`/proc/self/fd/${t.fdOf(i)}`, 'utf8');
    assert.ok(t.fdCount <= 12, `${t.fdCount} inode fds over a budget of 12`);
    return s;
  };
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 40; i++) {
      assert.equal(read(files[i]!), `a${i}`);
      for (let k = 0; k < 12; k++) assert.equal(read(others[(i * 12 + k) % 40]!), `b${(i * 12 + k) % 40}`);
      // These push a/ out too: the next reopen by name starts from a/'s handle.
      for (let k = 0; k < 60; k++) { t.beginOp(); t.fdOf(extra[k % 40]!); }
    }
  }
  t.forget(A.nodeid, A.refs);
  assert.ok(t.tryGet(A.nodeid) !== undefined, 'a/ went while its files are known by name');
  for (const f of [...files, ...others, ...extra, B]) t.forget(f.nodeid, f.refs);
  assertEmpty(t, fdsBefore);
  sys.close(mountFd);
  sys.close(rootFd);
});

test('without file handles: directories keep their fds before files do, so a directory renamed behind the table still reaches its files', () => {
  const { dir, t, lookup, read } = setupByName(24);
  const D = 5;
  const { dirs, files } = grid(dir, t, lookup, D, 20);
  const readAll = () => {
    for (let d = 0; d < D; d++) for (let i = 0; i < 20; i++) assert.equal(read(files[d]![i]!), `${d}/${i}`);
    assert.ok(t.fdCount <= 24, `${t.fdCount} inode fds over a budget of 24`);
  };
  for (let round = 0; round < 3; round++) readAll();
  // Renamed on the host, not through the table: its name is stale, but its
  // fd was never closed, and its files are reopened through it.
  fs.renameSync(path.join(dir, 'd2'), path.join(dir, 'moved'));
  for (let round = 0; round < 3; round++) readAll();
  for (const i of [...files.flat(), ...dirs]) t.forget(i.nodeid, i.refs);
  assert.equal(t.size, 1);
  assert.equal(t.fdCount, 0);
  assert.equal(t.dirFdCount, 0);
});

test('without file handles: an inode the kernel has open is reopened through its open file or directory, whatever happened to its name behind the table', () => {
  // What the passthrough gives: a fresh O_PATH fd through an open file of the inode.
  const opens = new Map<bigint, number>();
  const hook: ReopenOpen = (id) => {
    const open = opens.get(id);
    return open === undefined ? -2 : sys.open(`/proc/self/fd/${open}`, sys.O_PATH | sys.O_CLOEXEC);
  };
  const { dir, t, lookup, read } = setupByName(12, hook);
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  // More directories than the budget: their fds are pushed out too.
  const D = 20;
  const { dirs, files } = grid(dir, t, lookup, D, 4);
  const open = (i: Inode, p: string) => opens.set(i.nodeid, fs.openSync(path.join(dir, p), 'r'));
  open(files[0]![1]!, 'd0/f1');
  open(dirs[3]!, 'd3');
  open(files[5]![2]!, 'd5/f2');
  // Reads the files nothing below touches (pushing the others' fds out).
  const pushOut = () => {
    for (let d = 0; d < D; d++) {
      if (d !== 0 && d !== 3 && d !== 5 && d !== 7) for (let i = 0; i < 4; i++) assert.equal(read(files[d]![i]!), `${d}/${i}`);
    }
    assert.ok(t.fdCount <= 12, `${t.fdCount} inode fds over a budget of 12`);
  };
  pushOut();
  // An open file renamed on the host.
  fs.renameSync(path.join(dir, 'd0', 'f1'), path.join(dir, 'd0', 'g1'));
  // An open directory renamed on the host: its files are reopened from it.
  fs.renameSync(path.join(dir, 'd3'), path.join(dir, 'e3'));
  // A directory renamed on the host that nothing holds open: its files are lost (ESTALE, never another file).
  fs.renameSync(path.join(dir, 'd7'), path.join(dir, 'e7'));
  // An open file replaced on the host, and its name then looked up: it reaches the new file; the old inode, open, is reached through its open file.
  fs.renameSync(path.join(dir, 'd5', 'f2'), path.join(dir, 'd5', 'old2'));
  fs.writeFileSync(path.join(dir, 'd5', 'f2'), 'new');
  for (let round = 0; round < 3; round++) {
    pushOut();
    assert.equal(read(files[0]![1]!), '0/1');
    for (let i = 0; i < 4; i++) assert.equal(read(files[3]![i]!), `3/${i}`);
    assert.throws(() => read(files[7]![0]!), { errno: 116 });
    assert.equal(read(files[5]![2]!), '5/2');
  }
  // The old file's fd pushed out (only the test's own open left on it), then its name taken.
  const onOld = () => fs.readdirSync('/proc/self/fd').filter((f) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${f}`) === path.join(dir, 'd5', 'old2');
    } catch {
      return false;
    }
  }).length;
  for (let round = 0; round < 3 && onOld() > 1; round++) pushOut();
  assert.equal(onOld(), 1, 'the table still holds the replaced file\'s fd');
  t.beginOp();
  const newer = lookup(dirs[5]!, 'f2');
  assert.notEqual(newer.nodeid, files[5]![2]!.nodeid);
  assert.equal(read(newer), 'new');
  assert.equal(recorded(t, newer), `${dirs[5]!.nodeid}/f2`);
  assert.equal(read(files[5]![2]!), '5/2', 'the old inode, through its open file');
  assert.ok(t.fdCount <= 12);
  // Closed: back to names only.
  for (const fd of opens.values()) fs.closeSync(fd);
  opens.clear();
  for (let round = 0; round < 3; round++) pushOut();
  assert.throws(() => read(files[0]![1]!), { errno: 116 });
  // Its name reaches the new file now: the old one, its fd pushed out, gives ESTALE, never the new file's data.
  assert.throws(() => read(files[5]![2]!), { errno: 116 });
  for (const i of [...files.flat(), ...dirs, newer]) t.forget(i.nodeid, i.refs);
  assertEmpty(t, fdsBefore);
});

test('with file handles, a file on another mount unlinked under one name and found under another (a hard link) is reopened by the other', () => {
  const dir = tmpdir();
  fs.mkdirSync(path.join(dir, 'a'));
  fs.writeFileSync(path.join(dir, 'a', 'x'), 'linked');
  fs.linkSync(path.join(dir, 'a', 'x'), path.join(dir, 'a', 'y'));
  for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(dir, 'a', `f${i}`), `${i}`);
  const rootFd = sys.open(dir, sys.O_PATH | sys.O_DIRECTORY | sys.O_CLOEXEC);
  const mountFd = sys.open(dir, sys.O_RDONLY | sys.O_DIRECTORY | sys.O_CLOEXEC);
  const root = idOf(rootFd) as Identity;
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  const t = new InodeTable(rootFd, { ...root, type: S_IFDIR }, false, 10, true, mountFd, idOf);
  // Everything here is "on another mount" (sameMount false): named, not handled.
  const lookup = lookupIn(t, false);
  const lookupAt = (parent: Inode, name: string): Inode => {
    t.beginOp();
    return lookup(parent, name);
  };
  const A = lookupAt(t.root, 'a');
  const X = lookupAt(A, 'x');
  t.beginOp();
  assert.equal(unlinkAs(t, A, path.join(dir, 'a'), 'x')?.nodeid, X.nodeid);
  assert.equal(t.tracksName(X), true, 'still a file no handle can reopen');
  assert.equal(lookupAt(A, 'y').nodeid, X.nodeid);
  assert.equal(recorded(t, X), `${A.nodeid}/y`, 'recorded under the name it was found by');
  // Its fd can now be pushed out with the others', and it is reopened by that name.
  const others = Array.from({ length: 30 }, (_, i) => lookupAt(A, `f${i}`));
  for (let round = 0; round < 3; round++) {
    for (const o of others) { t.beginOp(); t.fdOf(o); }
    t.beginOp();
    assert.equal(fs.readFileSync(`/proc/self/fd/${t.fdOf(X)}`, 'utf8'), 'linked');
    assert.ok(t.fdCount <= 10, `${t.fdCount} inode fds over a budget of 10`);
  }
  for (const i of [X, ...others, A]) t.forget(i.nodeid, i.refs);
  assertEmpty(t, fdsBefore);
  sys.close(mountFd);
  sys.close(rootFd);
});

test('ByteArena: compaction (on a full put, and trim() when mostly garbage) keeps every live entry\'s bytes at its relocated offset, and shrinks', () => {
  const live = new Map<number, { off: number; bytes: Buffer }>();
  let replaced = 0;
  const arena = new ByteArena(() => replaced++, (move) => {
    for (const e of live.values()) e.off = move(e.off, e.bytes.length);
  });
  const check = (): void => {
    for (const [k, e] of live) assert.ok(arena.at(e.off, e.bytes.length).equals(e.bytes), `entry ${k}`);
  };
  // 4,000 entries of 100 bytes (400 KB: the 64 KiB buffer doubles, then compacts on puts once half is garbage).
  for (let k = 0; k < 4000; k++) {
    const bytes = Buffer.alloc(100, k % 251);
    bytes.writeUInt32LE(k, 0);
    live.set(k, { off: arena.put(bytes), bytes });
    if (k % 3 !== 0 && k > 10) {
      const gone = live.get(k - 10);
      if (gone) {
        arena.free(gone.bytes.length);
        live.delete(k - 10);
      }
    }
  }
  check();
  assert.ok(replaced >= 2, `the buffer was replaced ${replaced} times (grown, compacted): the owner is told each time`);
  const e = [...live.values()][0]!;
  assert.ok(arena.equals(e.bytes, e.off));
  // Free all but a few: trim() compacts, and what is left still reads back.
  let n = 0;
  for (const [k, v] of live) {
    if (n++ % 100 === 0) continue;
    arena.free(v.bytes.length);
    live.delete(k);
  }
  const before = live.size;
  const replacedBefore = replaced;
  arena.trim();
  assert.equal(replaced, replacedBefore + 1, 'trim() replaced the buffer');
  check();
  assert.equal(live.size, before);
  assert.equal([...live.values()].reduce((m, v) => Math.max(m, v.off + v.bytes.length), 0), before * 100, 'live bytes packed from offset 0');
});
