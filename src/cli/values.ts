// Parsing of option values (durations, sizes, integers, switches) and the
// closest-name suggestion for unknown options and commands.

/** A value that does not have the accepted form; `expected` describes the form, `problem` what is wrong if not obvious. */
export class ValueError extends Error {
  constructor(readonly expected: string, readonly problem?: string) {
    super(problem ? `${problem}; expected ${expected}` : `expected ${expected}`);
    this.name = 'ValueError';
  }
}

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, ms: 0.001, m: 60, h: 3600 };

/** Seconds >= 0: "5", "0.5", ".25", "500ms", "2s", "1m", "1h". */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new ValueError('seconds >= 0, fractions allowed, optionally with a unit ms, s, m or h (e.g. 1.5 or 500ms)');
  const n = Number(m[1]) * DURATION_UNITS[m[2] ?? '']!;
  if (!Number.isFinite(n)) throw new ValueError('a finite number of seconds');
  return n;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Bytes: "4096", "128k", "128K", "1M", "1G" (1024-based; "KiB", "MB" spellings also accepted). */
export function parseSize(v: string): number {
  const m = /^(\d+)(?:([kmgt])(?:i?b)?)?$/i.exec(v.trim());
  if (!m) throw new ValueError('a number of bytes, optionally with a suffix k, M or G (1024-based, e.g. 128K or 1M)');
  const n = Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new ValueError('a number of bytes below 2^53');
  return n;
}

/** A positive integer. */
export function parsePositiveInt(v: string): number {
  if (!/^\d+$/.test(v.trim())) throw new ValueError('a positive integer');
  const n = Number(v.trim());
  if (!Number.isSafeInteger(n) || n < 1) throw new ValueError('a positive integer');
  return n;
}

const TRUE = new Set(['on', 'yes', 'true', '1']);
const FALSE = new Set(['off', 'no', 'false', '0']);

/** A switch given a value: on/off, yes/no, true/false, 1/0. */
export function parseSwitch(v: string): boolean {
  const l = v.trim().toLowerCase();
  if (TRUE.has(l)) return true;
  if (FALSE.has(l)) return false;
  throw new ValueError('on or off (also yes/no, true/false, 1/0)');
}

/** Human form of a byte count for help and messages: 1048576 → "1M". */
export function formatSize(n: number): string {
  for (const [u, f] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (n >= f && n % f === 0) return `${n / f}${u}`;
  }
  return String(n);
}

/** Edit distance (insertions, deletions, substitutions, adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word`, if close enough to be a plausible typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestD <= limit ? best : undefined;
}

/** Splits an -o argument on commas; "\," is a literal comma, "\\" a backslash. */
export function splitOptions(arg: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i]!;
    if (c === '\\' && i + 1 < arg.length) {
      cur += arg[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out.filter((o) => o !== '');
}
