// Summarizes `perf record` data of a daemon (from `bench/run.ts --perf`):
// where its CPU time went by binary (kernel, node, JIT code, libc, koffi,
// libfuse...), the hottest symbols, and the inclusive time of JS functions.
//
//   node --import tsx bench/perf-summary.ts <file.perf.data|dir> [--top N]

import { spawnSync } from 'node:child_process';
import { summaryArgs } from './lib/summary-args.ts';


function report(file: string, extra: string[]): string[] {
  const r = spawnSync('perf', ['report', '-i', file, '--stdio', '-g', 'none', '--percent-limit', '0.3', ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return (r.stdout ?? '').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
}

const { top, files } = summaryArgs('perf-summary.ts', '.perf.data');
for (const f of files) {
  process.stdout.write(`\n${f}\n  by binary (self):\n`);
  for (const l of report(f, ['--no-children', '--sort', 'dso']).slice(0, 10)) process.stdout.write(`   ${l.trim()}\n`);
  process.stdout.write('  hottest symbols (self):\n');
  for (const l of report(f, ['--no-children', '--sort', 'sym']).slice(0, top)) process.stdout.write(`   ${l.trim()}\n`);
  const js = report(f, ['--children', '--sort', 'sym']).filter((l) => /JS:|koffi|Error|StackTrace|Deoptimiz/.test(l));
  if (js.length) {
    process.stdout.write('  JS and runtime frames (inclusive, self):\n');
    for (const l of js.slice(0, top)) process.stdout.write(`   ${l.trim()}\n`);
  }
}
