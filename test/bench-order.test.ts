// The order of the peers in each repetition of the benchmark
// (bench/lib/order.ts): over a full cycle every peer runs right after every
// other one equally often, and in every position equally often, so that what
// one run leaves behind (docs/benchmarks.md: the peer after bindfs ran slower)
// is not always paid by the same peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedAfter, peerOrder, williamsRow } from '../bench/lib/order.ts';

test('Williams rows for 2 to 9 peers: permutations; over a cycle each ordered pair adjacent, and each peer in each position, equally often', () => {
  for (let n = 2; n <= 9; n++) {
    const cycle = balancedAfter(n);
    const pairs = new Map<string, number>();
    const positions = new Map<string, number>();
    for (let k = 0; k < cycle; k++) {
      const row = williamsRow(n, k);
      assert.deepEqual([...row].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), `n=${n} row ${k} is a permutation: ${row}`);
      row.forEach((p, i) => positions.set(`${p}@${i}`, (positions.get(`${p}@${i}`) ?? 0) + 1));
      for (let i = 1; i < n; i++) pairs.set(`${row[i - 1]}>${row[i]}`, (pairs.get(`${row[i - 1]}>${row[i]}`) ?? 0) + 1);
    }
    const each = cycle / n;
    assert.equal(pairs.size, n * (n - 1), `n=${n}: every ordered pair occurs`);
    for (const [pair, count] of pairs) assert.equal(count, each, `n=${n}: ${pair} adjacent ${count} times`);
    assert.equal(positions.size, n * n);
    for (const [at, count] of positions) assert.equal(count, each, `n=${n}: ${at} ${count} times`);
    // Rows repeat after a cycle.
    assert.deepEqual(williamsRow(n, cycle), williamsRow(n, 0));
  }
});

test('peerOrder: the default four peers, their first four repetitions; nobody runs right after bindfs twice', () => {
  const peers = ['native', 'bindfs', 'tsfuse', 'tsfuse-nopt'];
  const orders = [1, 2, 3, 4].map((rep) => peerOrder(peers, rep));
  assert.deepEqual(orders, [
    ['native', 'bindfs', 'tsfuse-nopt', 'tsfuse'],
    ['bindfs', 'tsfuse', 'native', 'tsfuse-nopt'],
    ['tsfuse', 'tsfuse-nopt', 'bindfs', 'native'],
    ['tsfuse-nopt', 'native', 'tsfuse', 'bindfs'],
  ]);
  const afterBindfs = orders.map((o) => o[o.indexOf('bindfs') + 1]).filter((p) => p !== undefined);
  assert.equal(new Set(afterBindfs).size, afterBindfs.length, `after bindfs: ${afterBindfs}`);
});
