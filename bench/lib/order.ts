// The order in which the peers run within each repetition.
//
// A run may leave the machine in a state the next peer pays for: here the
// peer right after bindfs ran ls -l and unlink 3-28% slower than the same
// build elsewhere, in four runs out of four (a fifth did not show it;
// docs/benchmarks.md, 2026-11-27). With one fixed order the same peer would
// always pay. So the order
// follows a Williams design (a Latin square balanced for carry-over): over a
// full cycle of repetitions every peer runs right after every other peer
// equally often, and in every position.

/**
 * Row `k` of the Williams square for `n` treatments: n rows when n is even,
 * 2n (each row, then the rows reversed) when n is odd; `k` wraps around.
 */
export function williamsRow(n: number, k: number): number[] {
  // First row 0, 1, n-1, 2, n-2, ...; row r adds r (mod n) to each.
  const first: number[] = [];
  for (let i = 0; i < n; i++) first.push(i === 0 ? 0 : i % 2 === 1 ? (i + 1) / 2 : n - i / 2);
  const cycle = n % 2 === 0 ? n : 2 * n;
  const r = ((k % cycle) + cycle) % cycle;
  const row = first.map((a) => (a + r) % n);
  return r < n ? row : first.map((a) => (a + r - n) % n).reverse();
}

/** The peers in the order of repetition `rep` (1-based). */
export function peerOrder<T>(peers: readonly T[], rep: number): T[] {
  return williamsRow(peers.length, rep - 1).map((i) => peers[i]!);
}

/** Repetitions after which every peer has followed every other equally often. */
export function balancedAfter(n: number): number {
  return n % 2 === 0 ? n : 2 * n;
}
