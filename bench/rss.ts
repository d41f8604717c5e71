// Memory of the daemon serving a big tree of 1,000,000 files: RSS after a
// plain `find` (the kernel then holds the inodes the listings' attributes
// made: with readdirplus=auto the first ~180 of each directory), after a `find`
// that stats every entry (so every file is looked up and held by the kernel),
// and after the kernel forgets them (echo 2 > /proc/sys/vm/drop_caches).
//
//   npm run build && node --import tsx bench/rss.ts [--files N] [--no-file-handles] [--fs JSON]
//
// --no-file-handles: the daemon reopens inodes by parent and name, as a
// non-root one does (it then also keeps each inode's name).
// --fs JSON: further passthrough options, e.g. '{"readdirplus":"auto"}'.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const files = Number(args[args.indexOf('--files') + 1] ?? 1_000_000) || 1_000_000;
const fsOptions = {
  ...(args.includes('--no-file-handles') ? { fileHandles: false } : {}),
  ...(args.includes('--fs') ? (JSON.parse(args[args.indexOf('--fs') + 1] ?? '{}') as Record<string, unknown>) : {}),
};
const perDir = 1000;
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cache = `/tmp/tsfuse-bench-cache/tree-${files}`;

function makeTree(): void {
  if (fs.existsSync(path.join(cache, '.complete'))) return;
  fs.rmSync(cache, { recursive: true, force: true });
  fs.mkdirSync(cache, { recursive: true });
  console.log(`creating ${files} files under ${cache} ...`);
  const py = `
import os, sys
root, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range((n + per - 1) // per):
    dp = os.path.join(root, 'd%04d' % d)
    os.mkdir(dp)
    for f in range(min(per, n - d * per)):
        os.close(os.open(os.path.join(dp, 'f%04d' % f), os.O_CREAT | os.O_WRONLY, 0o644))
open(os.path.join(root, '.complete'), 'w').close()
`;
  const r = spawnSync('python3', ['-c', py, cache, String(files), String(perDir)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('could not create the tree');
}

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const fdCount = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length;
/** Longer than the daemon's quiet period before its idle work, and the 3 s it then lets V8 return pages. */
const QUIET_MS = 4000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  makeTree();
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'tsfuse-rss-mnt-'));
  const daemon = spawn(process.execPath, ['--expose-gc', path.join(repo, 'bench/serve.mjs'), cache, mnt, JSON.stringify({ fs: fsOptions })], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  daemon.stdout.on('data', (d) => (out += d));
  try {
    while (!out.includes('ready')) await sleep(20);
    const pid = daemon.pid!;
    const base = rssMiB(pid);
    const plain = spawnSync('sh', ['-c', `find ${mnt} | wc -l`], { encoding: 'utf8' });
    const afterPlain = rssMiB(pid);
    const t0 = Date.now();
    const r = spawnSync('sh', ['-c', `find ${mnt} -printf '%s\\n' | wc -l`], { encoding: 'utf8' });
    const secs = (Date.now() - t0) / 1000;
    const afterFind = rssMiB(pid);
    const fdsAfterFind = fdCount(pid);
    // The kernel still holds every inode; the daemon has been quiet long enough for its idle work.
    await sleep(QUIET_MS);
    const afterQuiet = rssMiB(pid);
    fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
    let afterForget = rssMiB(pid);
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      afterForget = Math.min(afterForget, rssMiB(pid));
    }
    console.log(`machine: ${os.cpus()[0]?.model} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`);
    console.log(`options: ${JSON.stringify(fsOptions)}`);
    console.log(`tree: ${files} files in ${Math.ceil(files / perDir)} directories; find listed ${plain.stdout.trim()} entries, find -printf %s ${r.stdout.trim()} in ${secs.toFixed(1)} s`);
    console.log('| daemon RSS | MiB |');
    console.log('|---|---|');
    console.log(`| after mount | ${base.toFixed(1)} |`);
    console.log(`| after find (names; what the listings carried held by the kernel) | ${afterPlain.toFixed(1)} |`);
    console.log(`| after find -printf %s (every entry stat'ed and held) | ${afterFind.toFixed(1)} |`);
    console.log(`| the same, ${QUIET_MS / 1000} s later (the mount quiet, the kernel still holding every inode) | ${afterQuiet.toFixed(1)} |`);
    console.log(`| after drop_caches (kernel forgot), lowest in 10 s | ${afterForget.toFixed(1)} |`);
    console.log(`daemon fds: ${fdsAfterFind} after find, ${fdCount(pid)} after forget`);
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.on('exit', r));
    if (fs.readFileSync('/proc/self/mounts', 'utf8').includes(` ${mnt} `)) spawnSync('umount', ['-l', mnt]);
    fs.rmdirSync(mnt);
  }
}

await main();
