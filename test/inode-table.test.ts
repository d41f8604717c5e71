// The inode table on its own: numbering (with explicit numbers for
// use_host_ino), reference counts, identity by birth time, fd eviction and
// reopening from file handles, and memory given back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as sys from '../src/sys/index.js';
import { InodeTable } from '../src/fs/passthrough/inode-table.js';
import { tmpdir } from './helpers.js';
import { Rng } from './rng.js';

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

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
  const a = add(0);
  const b = add(1);
  assert.equal(a.nodeid, 2n);
  assert.equal(b.nodeid, 3n);
  const again = t.find('D', a.hostIno, 100, 0)!;
  assert.equal(again.nodeid, 2n);
  again.refs++;
  assert.equal(t.get(2n).refs, 2n);
  t.forget(2n, 1n);
  assert.equal(t.get(2n).refs, 1n);
  t.forget(2n, 1n);
  assert.equal(t.tryGet(2n), undefined);
  assert.throws(() => t.get(2n), { errno: 116 });
  assert.equal(t.size, 2);
  t.forget(1n, 5n);
  assert.equal(t.get(1n), t.root, 'the root is never forgotten');
});

test('birth time is part of identity: a reused inode number is another file', () => {
  const { t, add } = setup(false);
  const a = add(0);
  assert.equal(t.find('D', a.hostIno, 100, 0)?.nodeid, a.nodeid);
  assert.equal(t.find('D', a.hostIno, 100, 1), undefined);
  assert.equal(t.find('E', a.hostIno, 100, 0), undefined);
  assert.equal(t.findByHostIno('D', a.hostIno)?.nodeid, a.nodeid);
});

test('use_host_ino: virtual flag | device (8 bits) | host inode (47 bits), explicit numbers', () => {
  const { t, add, rootFd } = setup(true);
  const a = add(0);
  // 'D' is device index 1 (the root's), so the node id is 1 << 47 | host inode.
  assert.equal(a.nodeid, (1n << 47n) | a.hostIno);
  assert.equal(t.get((1n << 47n) | a.hostIno).slot, a.slot);
  const b = add(1, 'E');
  assert.equal(b.nodeid, (2n << 47n) | b.hostIno);
  // A host inode number above 2^47-1 gets a virtual number with bit 55 set.
  const fd = sys.openat(rootFd, 'f2', sys.O_PATH | sys.O_CLOEXEC);
  const big = t.add(fd, 'D', (1n << 47n) + 5n, 1, 0, S_IFREG, true);
  assert.equal(big.nodeid, (1n << 55n) | 1n);
  assert.equal(t.get((1n << 55n) | 1n).hostIno, (1n << 47n) + 5n);
  // The same host inode number alive twice (reused while the old is known): virtual.
  const fd2 = sys.openat(rootFd, 'f3', sys.O_PATH | sys.O_CLOEXEC);
  const twin = t.add(fd2, 'D', a.hostIno, 999, 0, S_IFREG, true);
  assert.equal(twin.nodeid, (1n << 55n) | 2n);
  assert.equal(t.get(a.nodeid).slot, a.slot);
  assert.equal(t.root.nodeid, 1n);
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
    assert.equal(t.hasHostIno('D', ino(i)), live, `hasHostIno of inode ${i}`);
    assert.equal(t.tryGet(ids[i]!)?.hostIno, live ? ino(i) : undefined, `tryGet of node ${ids[i]}`);
  }
  for (let id = 0n; id < 4n * BigInt(N); id++) void t.tryGet(id);
  // Slots are reused after the drop, and every inode can be found and forgotten.
  const again: bigint[] = [];
  for (let i = FIRST_OF_CHUNK2; i < N; i++) again.push(t.add(-1, 'D', ino(N + i), 1, 0, S_IFREG, false).nodeid);
  for (const id of [...ids.slice(0, FIRST_OF_CHUNK2), ...again]) t.forget(id, 1n);
  assert.equal(t.size, 1);
  for (let i = 0; i < 2 * N; i++) assert.equal(t.hasHostIno('D', ino(i)), false);
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
        assert.ok(t.hasHostIno(m.dev, m.ino), `${where}: hasHostIno ${m.dev}:${m.ino} (seed ${seed})`);
      }
      for (const m of gone) {
        if (!live.has(m.nodeid)) assert.equal(t.tryGet(m.nodeid), undefined, `${where}: forgotten node ${m.nodeid} found (seed ${seed})`);
        if (!hostKeys.has(`${m.dev}:${m.ino}`)) assert.equal(t.hasHostIno(m.dev, m.ino), false, `${where}: forgotten ${m.dev}:${m.ino} found (seed ${seed})`);
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
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'no fd leaked');
});
