// Summarizes V8 CPU profiles (.cpuprofile, from node --cpu-prof, which
// `bench/run.ts --profile` passes to the tsfuse daemons): self time per
// function and per source file, the busiest first.
//
//   node --import tsx bench/profile-summary.ts <file.cpuprofile|dir> [--top N]

import * as fs from 'node:fs';
import { summaryArgs } from './lib/summary-args.ts';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface Node { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface Profile { nodes: Node[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] }


function short(url: string): string {
  if (!url) return '(native/vm)';
  const i = url.indexOf('/dist/');
  if (i >= 0) return url.slice(i + 1);
  const j = url.lastIndexOf('node_modules/');
  if (j >= 0) return url.slice(j);
  return url.replace(/^file:\/\//, '');
}

function summarize(file: string, top: number): void {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Self time per node from samples and time deltas (µs).
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'}  ${short(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const fk = cf.url ? short(cf.url) : cf.functionName.startsWith('(') ? cf.functionName : '(native/vm)';
    byFile.set(fk, (byFile.get(fk) ?? 0) + us);
  }
  const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms`;
  process.stdout.write(`\n${file}\n  sampled ${(total / 1000).toFixed(0)} ms over ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms wall\n`);
  process.stdout.write('  self time by function:\n');
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`   ${pct(us)}  ${k}\n`);
  process.stdout.write('  self time by file:\n');
  for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, Math.min(top, 15))) process.stdout.write(`   ${pct(us)}  ${k}\n`);
}

const { top, files } = summaryArgs('profile-summary.ts', '.cpuprofile');
for (const f of files) summarize(f, top);
