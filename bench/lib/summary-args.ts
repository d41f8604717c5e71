// The command line shared by the profile summaries (perf-summary.ts,
// profile-summary.ts): files or directories (searched for files ending in
// `ext`), and --top N.

import * as fs from 'node:fs';
import * as path from 'node:path';

export function summaryArgs(script: string, ext: string): { top: number; files: string[] } {
  const args = process.argv.slice(2);
  let top = 25;
  const ti = args.indexOf('--top');
  if (ti >= 0) {
    top = Number(args[ti + 1]);
    args.splice(ti, 2);
  }
  if (args.length === 0) {
    process.stderr.write(`usage: node --import tsx bench/${script} <file${ext}|dir> [--top N]\n`);
    process.exit(2);
  }
  const files = args.flatMap((a) => {
    if (!fs.statSync(a).isDirectory()) return [a];
    return fs.readdirSync(a, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(ext)).sort().map((f) => path.join(a, f));
  });
  return { top, files };
}
