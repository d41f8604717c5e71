// Runs the POSIX behaviour corpus (posix-corpus.ts) on a native temporary
// directory and through four tsfuse passthrough mounts (allow_other; without
// and with default_permissions; without kernel passthrough, so that file data
// goes through the daemon; with the writeback cache; reopening inodes by name
// under a 128-fd budget), and asserts the same outcome everywhere.
// Also: a directory of 100,000 entries listed completely and exactly once
// while other entries come and go.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mountPassthrough, unmountFs, tmpdir } from './helpers.js';
import { CASES, PREAMBLE } from './posix-corpus.js';
import type { Case, MountConfig } from './posix-corpus.js';

type Mounted = Awaited<ReturnType<typeof mountPassthrough>>;

function dedent(code: string): string {
  const lines = code.replace(/^\n+/, '').replace(/\s+$/, '').split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const n = Math.min(...indents);
  return lines.map((l) => l.slice(n)).join('\n');
}

const EPILOGUE = '\nprint("\\n@@OUT@@" + json.dumps(out, default=_json_default))\n';

/** Runs one case in a fresh directory `dir` (created here); returns its outcome. */
function runCase(c: Case, dir: string): Record<string, unknown> {
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o755);
  const script = PREAMBLE + '\n' + dedent(c.py) + EPILOGUE;
  const r = spawnSync('python3', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: c.timeoutMs ?? 60_000, maxBuffer: 64 << 20 });
  const at = r.stdout?.lastIndexOf('@@OUT@@') ?? -1;
  if (r.status !== 0 || at < 0) {
    throw new Error(`case script failed in ${dir} (status ${r.status}, signal ${r.signal}):\n${r.stderr}\n${r.stdout}`);
  }
  return JSON.parse(r.stdout.slice(at + 7)) as Record<string, unknown>;
}

describe('POSIX corpus: native vs passthrough', () => {
  const native = tmpdir('tsfuse-native-');
  const mounts = new Map<MountConfig, Mounted>();
  let n = 0;

  before(async () => {
    mounts.set('default', await mountPassthrough(tmpdir('tsfuse-src-'), {}, { allowOther: true }));
    mounts.set('dp', await mountPassthrough(tmpdir('tsfuse-src-'), { defaultPermissions: true }, { allowOther: true, defaultPermissions: true }));
    // File data through the daemon, as for a daemon without CAP_SYS_ADMIN (no kernel passthrough).
    mounts.set('nopt', await mountPassthrough(tmpdir('tsfuse-src-'), { passthrough: false }, { allowOther: true }));
    mounts.set('wb', await mountPassthrough(tmpdir('tsfuse-src-'), { writeback: true }, { allowOther: true, debug: process.env.POSIX_DEBUG === 'wb' }));
    // Inodes reopened by parent and name, as by a non-root daemon (no file
    // handles), under a budget so small that most operations reopen one (the
    // deep-path case holds 121 directories open, which the budget must admit).
    mounts.set('byname', await mountPassthrough(tmpdir('tsfuse-src-'), { fileHandles: false, fdBudget: 128 }, { allowOther: true }));
  });

  after(async () => {
    for (const m of mounts.values()) await unmountFs(m);
  });
  // POSIX_CONFIGS=wb,dp runs only those mount configurations (for development).
  const onlyConfigs = process.env.POSIX_CONFIGS?.split(',');

  // POSIX_ONLY=regex runs a subset (for development).
  const only = process.env.POSIX_ONLY ? new RegExp(process.env.POSIX_ONLY) : null;
  for (const c of CASES.filter((x) => !only || only.test(x.name))) {
    test(c.name, () => {
      const id = `c${String(n++).padStart(3, '0')}`;
      const nat = runCase(c, path.join(native, id));
      for (const [k, v] of Object.entries(c.expect)) {
        assert.deepStrictEqual(nat[k], v, `native outcome of '${k}' is not the expected one`);
      }
      for (const [cfg, m] of mounts) {
        if (onlyConfigs && !onlyConfigs.includes(cfg)) continue;
        const got = runCase(c, path.join(m.dir, id));
        const diff = c.fuse?.[cfg];
        if (diff) {
          for (const [k, v] of Object.entries(diff)) {
            assert.notDeepStrictEqual(nat[k], v, `documented FUSE difference for '${k}' (${cfg}) is no longer a difference`);
          }
        }
        assert.deepStrictEqual(got, { ...nat, ...diff }, `mount (${cfg}) differs from native`);
      }
    });
  }
});

// ---------------------------------------------------------------------------

const LISTING = String.raw`
import os, sys, json, time, signal
d = sys.argv[1]
N = int(sys.argv[2])
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL when the lister dies
    i = 0
    t_end = time.time() + 240
    while time.time() < t_end:
        fd = os.open(os.path.join(d, 'x%07d' % i), os.O_CREAT | os.O_WRONLY, 0o644); os.close(fd)
        if i >= 20:
            os.unlink(os.path.join(d, 'x%07d' % (i - 20)))
        if i == 50:
            os.write(w, b'go')
        i += 1
    os._exit(0)
os.close(w)
os.read(r, 2)
result = {'rounds': []}
for attempt in range(3):
    t0 = time.time()
    names = os.listdir(d)
    seen = {}
    for nm in names:
        seen[nm] = seen.get(nm, 0) + 1
    missing = sum(1 for k in range(N) if seen.get('e%06d' % k, 0) != 1)
    dups = sum(1 for v in seen.values() if v > 1)
    strangers = [nm for nm in seen if not nm.startswith(('e', 'x'))]
    churned = sum(1 for nm in seen if nm.startswith('x'))
    result['rounds'].append({'missing_or_dup': missing, 'dups': dups, 'strangers': strangers, 'churn_seen': churned > 0, 'seconds': round(time.time() - t0, 2)})
os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
print(json.dumps(result))
`;

function fill(dir: string, n: number): void {
  const r = spawnSync('python3', ['-c', `import os\nfor k in range(${n}):\n    os.close(os.open(os.path.join(${JSON.stringify(dir)}, 'e%06d' % k), os.O_CREAT | os.O_WRONLY, 0o644))`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function listUnderChurn(dir: string, n: number): { rounds: { missing_or_dup: number; dups: number; strangers: string[]; churn_seen: boolean; seconds: number }[] } {
  const r = spawnSync('python3', ['-c', LISTING, dir, String(n)], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

if (!process.env.POSIX_ONLY) describe('a directory of 100,000 entries, listed while others come and go', () => {
  const N = 100_000;
  test('native', () => {
    const d = path.join(tmpdir('tsfuse-native-'), 'big');
    fs.mkdirSync(d);
    fill(d, N);
    const res = listUnderChurn(d, N);
    for (const r of res.rounds) {
      assert.deepStrictEqual({ missing_or_dup: r.missing_or_dup, dups: r.dups, strangers: r.strangers }, { missing_or_dup: 0, dups: 0, strangers: [] });
    }
  });

  test('through the mount (churn through the mount too)', async () => {
    const src = tmpdir('tsfuse-src-');
    fs.mkdirSync(path.join(src, 'big'));
    fill(path.join(src, 'big'), N);
    const m = await mountPassthrough(src, {}, { allowOther: true });
    try {
      const res = listUnderChurn(path.join(m.dir, 'big'), N);
      console.log(JSON.stringify(res.rounds.map((r) => r.seconds)));
      for (const r of res.rounds) {
        assert.deepStrictEqual({ missing_or_dup: r.missing_or_dup, dups: r.dups, strangers: r.strangers }, { missing_or_dup: 0, dups: 0, strangers: [] });
      }
      assert.ok(res.rounds.some((r) => r.churn_seen), 'the churn was never seen in a listing: the test did not overlap');
    } finally {
      await unmountFs(m);
    }
  });
});
