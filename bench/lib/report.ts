// Statistics, the printed tables and the targets.

import type { PeerName } from './peers.ts';
import { referenceOf } from './peers.ts';
import type { RowDef } from './workloads.ts';

export interface Sample {
  rep: number;
  value: number;
  /** Daemon CPU seconds (user+sys) during the step; undefined for native. */
  daemonCpu?: number;
  /** Daemon context switches (voluntary + involuntary) during the step. */
  daemonCtxsw?: number;
  /** Idle CPU seconds of the whole machine during the step (all CPUs; see machineIdle). */
  idleCpu?: number;
  /** Named figures the client reported beside the value (e.g. a long call's own time). */
  detail?: Record<string, number>;
}

export interface RowResult {
  row: RowDef;
  group: string;
  samples: Record<PeerName, Sample[]>;
  /** Peers whose run failed at least once (their cells say so). */
  failed: PeerName[];
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(values: number[]): Stat | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

export function fmt(x: number): string {
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

function cell(s: Stat | undefined, failed: boolean): string {
  const mark = failed ? ' (+error)' : '';
  if (!s) return failed ? 'error' : '–';
  if (s.n === 1) return fmt(s.median) + mark;
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})${mark}`;
}

function ratio(a: Stat | undefined, b: Stat | undefined): number | undefined {
  if (!a || !b || b.median === 0) return undefined;
  return a.median / b.median;
}

const r2 = (x: number | undefined): string => (x === undefined ? '–' : `${x.toFixed(2)}×`);

function pad(rows: string[][], header: string[]): string {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c + ' '.repeat(w[i]! - [...c].length)).join(' | ')} |`;
  return [line(header), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function medians(r: RowResult): Record<PeerName, Stat | undefined> {
  const out: Record<PeerName, Stat | undefined> = {};
  for (const p of Object.keys(r.samples)) out[p] = stat(r.samples[p]!.map((s) => s.value));
  return out;
}

const MAIN: PeerName[] = ['native', 'bindfs', 'tsfuse', 'tsfuse-nopt'];

/** The main table: median (min–max) per peer and tsfuse's ratios. */
export function mainTable(results: RowResult[]): string {
  const header = [
    'workload', 'unit', 'native', 'bindfs', 'tsfuse', 'tsfuse-nopt',
    'tsfuse/native', 'tsfuse/bindfs', 'nopt/native', 'nopt/bindfs',
  ];
  const rows = results.map((r) => {
    const m = medians(r);
    const unit = `${r.row.unit} ${r.row.better === 'lower' ? '↓' : '↑'}`;
    return [
      r.row.label, unit, ...MAIN.map((p) => cell(m[p], r.failed.includes(p))),
      r2(ratio(m.tsfuse, m.native)), r2(ratio(m.tsfuse, m.bindfs)), r2(ratio(m['tsfuse-nopt'], m.native)), r2(ratio(m['tsfuse-nopt'], m.bindfs)),
    ];
  });
  return pad(rows, header);
}

/** Peers run beyond the main four (tsfuse variants, passthrough_hp): value, ratio to bindfs and to its reference. */
export function variantTable(results: RowResult[], peers: PeerName[]): string | undefined {
  const extra = peers.filter((p) => !MAIN.includes(p));
  if (!extra.length) return undefined;
  // Each further peer is also compared with the default it varies (tsfuse for passthrough_hp).
  const header = ['workload', 'unit', 'bindfs', 'tsfuse', 'tsfuse-nopt', ...extra.flatMap((p) => [p, `${p}/bindfs`, `${referenceOf(p)}/${p}`])];
  const rows = results.map((r) => {
    const m = medians(r);
    const unit = `${r.row.unit} ${r.row.better === 'lower' ? '↓' : '↑'}`;
    return [
      r.row.label, unit, ...['bindfs', 'tsfuse', 'tsfuse-nopt'].map((p) => cell(m[p], r.failed.includes(p))),
      ...extra.flatMap((p) => [cell(m[p], r.failed.includes(p)), r2(ratio(m[p], m.bindfs)), r2(ratio(m[referenceOf(p)], m[p]))]),
    ];
  });
  return pad(rows, header);
}

/**
 * Daemon CPU seconds and context switches per step (medians), FUSE peers
 * only; then the machine's idle CPU seconds during the step, every peer.
 */
export function daemonTable(results: RowResult[], peers: PeerName[]): string {
  const fusePeers: PeerName[] = peers.filter((p) => p !== 'native');
  const header = ['workload', ...fusePeers.map((p) => `${p} CPU s`), ...fusePeers.map((p) => `${p} ctx switches`), ...peers.map((p) => `${p} idle s`)];
  const rows = results.map((r) => {
    const cpu = fusePeers.map((p) => {
      const s = stat((r.samples[p] ?? []).map((x) => x.daemonCpu ?? NaN));
      return s ? fmt(s.median) : '–';
    });
    const cs = fusePeers.map((p) => {
      const s = stat((r.samples[p] ?? []).map((x) => x.daemonCtxsw ?? NaN));
      return s ? s.median.toFixed(0) : '–';
    });
    const idle = peers.map((p) => {
      const s = stat((r.samples[p] ?? []).map((x) => x.idleCpu ?? NaN));
      return s ? fmt(s.median) : '–';
    });
    return [r.row.label, ...cpu, ...cs, ...idle];
  });
  return pad(rows, header);
}

/** One line per row and peer whose samples carry details: each figure's median. */
export function detailLines(results: RowResult[], peers: PeerName[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    for (const p of peers) {
      const samples = (r.samples[p] ?? []).filter((x) => x.detail);
      if (!samples.length) continue;
      const keys = Object.keys(samples[0]!.detail!);
      const figures = keys.map((k) => `${k} ${fmt(stat(samples.map((x) => x.detail![k] ?? NaN))?.median ?? NaN)}`);
      out.push(`  ${r.row.label}, ${p}: ${figures.join(', ')}`);
    }
  }
  return out;
}

export interface TargetCheck {
  row: string;
  target: string;
  ratio: number | undefined;
  met: boolean | undefined;
}

/** The targets of the brief, checked on medians. */
export function targets(results: RowResult[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const r of results) {
    const m = medians(r);
    const k = r.row.kind;
    const check = (target: string, x: number | undefined, ok: (x: number) => boolean): void => {
      out.push({ row: r.row.label, target, ratio: x, met: x === undefined ? undefined : ok(x) });
    };
    if (k === 'metadata' || k === 'tree') {
      check('tsfuse time ≤ 0.7× bindfs', ratio(m.tsfuse, m.bindfs), (x) => x <= 0.7);
    } else if (k === 'seq') {
      check('tsfuse (passthrough) ≥ 0.9× native MiB/s', ratio(m.tsfuse, m.native), (x) => x >= 0.9);
      check('tsfuse-nopt ≥ 1.5× bindfs MiB/s', ratio(m['tsfuse-nopt'], m.bindfs), (x) => x >= 1.5);
    } else if (k === 'random') {
      check('tsfuse-nopt ≥ 1.0× bindfs', ratio(m['tsfuse-nopt'], m.bindfs), (x) => x >= 1.0);
    }
  }
  return out;
}

export function targetsText(t: TargetCheck[]): string {
  const rows = t.map((c) => [c.met === undefined ? 'n/a' : c.met ? 'met' : 'MISSED', c.row, c.target, r2(c.ratio)]);
  return pad(rows, ['', 'workload', 'target', 'ratio']);
}
