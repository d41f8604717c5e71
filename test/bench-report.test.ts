// The benchmark's arithmetic: medians, the ratios printed in its tables and
// the targets it checks. docs/benchmarks.md quotes these figures, so a slip
// here (a median of an even count, a ratio the wrong way round, a boundary
// the wrong side) would put wrong numbers in the docs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonTable, detailLines, mainTable, stat, targets, variantTable } from '../bench/lib/report.ts';
import type { RowResult, Sample } from '../bench/lib/report.ts';
import type { RowDef } from '../bench/lib/workloads.ts';

const samples = (...values: number[]): Sample[] => values.map((value, rep) => ({ rep, value }));

function row(kind: RowDef['kind'], better: RowDef['better'], values: Record<string, number[]>, failed: string[] = []): RowResult {
  const def: RowDef = { id: `r-${kind}`, label: `row ${kind}`, unit: better === 'lower' ? 's' : 'MiB/s', better, kind };
  const s: RowResult['samples'] = {};
  for (const [peer, v] of Object.entries(values)) s[peer] = samples(...v);
  return { row: def, group: kind, samples: s, failed };
}

test('stat: median of odd and even counts, min and max; NaN and infinities left out', () => {
  assert.deepEqual(stat([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.deepEqual(stat([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, n: 4 });
  assert.deepEqual(stat([5, NaN, Infinity, 1]), { median: 3, min: 1, max: 5, n: 2 });
  assert.equal(stat([NaN]), undefined);
  assert.equal(stat([]), undefined);
});

test('targets: times against bindfs (at most 0.7×, the boundary met), throughputs against native and bindfs', () => {
  const t = targets([
    row('metadata', 'lower', { native: [1], bindfs: [10, 10, 10], tsfuse: [7, 6, 8], 'tsfuse-nopt': [9] }),
    row('tree', 'lower', { bindfs: [10], tsfuse: [7.01] }),
    row('seq', 'higher', { native: [1000], bindfs: [400], tsfuse: [900], 'tsfuse-nopt': [599] }),
    row('random', 'higher', { bindfs: [100, 300], tsfuse: [1], 'tsfuse-nopt': [200] }),
    row('roundtrip', 'lower', { bindfs: [30], tsfuse: [10] }),
  ]);
  const byRow = t.map((c) => [c.row, c.target, c.ratio === undefined ? undefined : Number(c.ratio.toFixed(4)), c.met]);
  assert.deepEqual(byRow, [
    ['row metadata', 'tsfuse time ≤ 0.7× bindfs', 0.7, true],
    ['row tree', 'tsfuse time ≤ 0.7× bindfs', 0.701, false],
    ['row seq', 'tsfuse (passthrough) ≥ 0.9× native MiB/s', 0.9, true],
    ['row seq', 'tsfuse-nopt ≥ 1.5× bindfs MiB/s', 1.4975, false],
    ['row random', 'tsfuse-nopt ≥ 1.0× bindfs', 1, true],
  ]);
  // A peer with no sample gives no ratio, and the target is neither met nor missed.
  const none = targets([row('metadata', 'lower', { bindfs: [1] })]);
  assert.deepEqual(none.map((c) => [c.ratio, c.met]), [[undefined, undefined]]);
});

test('tables: each cell the median (min–max), ratios tsfuse over the other, failed runs marked', () => {
  const r = row('metadata', 'lower', { native: [1, 1, 1], bindfs: [4, 2, 3], tsfuse: [1.5, 1.25, 1], 'tsfuse-nopt': [3] }, ['tsfuse-nopt']);
  const lines = mainTable([r]).split('\n');
  assert.equal(lines.length, 3);
  const cells = lines[2]!.split('|').map((c) => c.trim()).filter((c) => c !== '');
  assert.deepEqual(cells, ['row metadata', 's ↓', '1.00 (1.00–1.00)', '3.00 (2.00–4.00)', '1.25 (1.00–1.50)', '3.00 (+error)', '1.25×', '0.42×', '3.00×', '1.00×']);
  const v = variantTable([{ ...r, samples: { ...r.samples, 'tsfuse-base': samples(2.5) } }], ['native', 'bindfs', 'tsfuse', 'tsfuse-base'])!;
  const vcells = v.split('\n')[2]!.split('|').map((c) => c.trim()).filter((c) => c !== '');
  // tsfuse-base: its value, its ratio to bindfs, and tsfuse's to it (the change measured against its base).
  assert.deepEqual(vcells.slice(-3), ['2.50', '0.83×', '0.50×']);
  assert.equal(variantTable([r], ['native', 'bindfs', 'tsfuse', 'tsfuse-nopt']), undefined);
});

test('daemon table: CPU and context switches of the FUSE peers, then the machine idle time of every peer, medians', () => {
  const r = row('metadata', 'lower', { native: [1], bindfs: [2], tsfuse: [3] });
  r.samples.native = [{ rep: 0, value: 1, idleCpu: 0.5 }, { rep: 1, value: 1, idleCpu: 0.25 }];
  r.samples.bindfs = [{ rep: 0, value: 2, daemonCpu: 1.5, daemonCtxsw: 100, idleCpu: 0.75 }];
  r.samples.tsfuse = [{ rep: 0, value: 3, daemonCpu: 0.75, daemonCtxsw: 7 }];
  const lines = daemonTable([r], ['native', 'bindfs', 'tsfuse']).split('\n');
  const head = lines[0]!.split('|').map((c) => c.trim()).filter((c) => c !== '');
  assert.deepEqual(head, ['workload', 'bindfs CPU s', 'tsfuse CPU s', 'bindfs ctx switches', 'tsfuse ctx switches', 'native idle s', 'bindfs idle s', 'tsfuse idle s']);
  const cells = lines[2]!.split('|').map((c) => c.trim()).filter((c) => c !== '');
  // native's idle median of two samples; tsfuse has no idle sample: a dash.
  assert.deepEqual(cells, ['row metadata', '1.50', '0.750', '100', '7', '0.375', '0.750', '–']);
});

test('details: one line per row and peer whose samples carry them, each figure the median; stall rows have no target', () => {
  const r = row('stall', 'lower', { native: [1], bindfs: [40, 50, 60], tsfuse: [2] });
  r.samples.bindfs = [
    { rep: 0, value: 40, detail: { 'call ms': 100, probes: 3 } },
    { rep: 1, value: 50, detail: { 'call ms': 300, probes: 1 } },
    { rep: 2, value: 60, detail: { 'call ms': 200, probes: 2 } },
  ];
  r.samples.tsfuse = [{ rep: 0, value: 2, detail: { 'call ms': 45.21, probes: 900 } }];
  assert.deepEqual(detailLines([r], ['native', 'bindfs', 'tsfuse']), [
    '  row stall, bindfs: call ms 200, probes 2.00',
    '  row stall, tsfuse: call ms 45.2, probes 900',
  ]);
  assert.deepEqual(detailLines([row('metadata', 'lower', { bindfs: [1] })], ['bindfs']), []);
  assert.deepEqual(targets([r]), []);
});
