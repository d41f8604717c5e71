// Child process of passthrough-defects.test.ts ("a reused host inode
// number..."): it needs a low RLIMIT_NOFILE, which a process cannot raise
// again, so it runs alone. argv: source dir, mount point (both created, and
// cleaned up, by the parent). Prints one JSON line with what it saw.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as sys from '../src/sys/index.js';
import { mount } from '../src/mount.js';

const [src, mnt] = process.argv.slice(2) as [string, string];
// Few fds: the passthrough keeps ~half of them for inodes and evicts the rest
// (reopening them from file handles), so the host may reuse the number of a
// file the kernel still holds.
if (sys.setrlimit(sys.RLIMIT_NOFILE, 200n, 200n) !== 0) throw new Error('setrlimit failed');
fs.writeFileSync(path.join(src, 'victim'), 'OLD DATA');
for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(src, `pad${i}`), '');

const h = await mount(mnt, { module: new URL('../src/fs/passthrough/index.ts', import.meta.url), exportName: 'PassthroughFs', args: [{ source: src }] });
const result: Record<string, unknown> = {};
try {
  const victim = path.join(mnt, 'victim');
  const oldSt = fs.statSync(victim);
  result.oldRead = fs.readFileSync(victim, 'utf8');
  for (const n of fs.readdirSync(mnt)) fs.statSync(path.join(mnt, n));
  const hostIno = fs.statSync(path.join(src, 'victim')).ino;
  fs.unlinkSync(path.join(src, 'victim'));
  let reused = '';
  for (let i = 0; i < 2000 && !reused; i++) {
    const p = path.join(src, `new${i}`);
    fs.writeFileSync(p, `NEW ${i}`);
    if (fs.statSync(p).ino === hostIno) reused = `new${i}`;
  }
  result.reused = reused !== '';
  if (reused) {
    const st = fs.statSync(path.join(mnt, reused));
    result.newHasOwnNumber = st.ino !== oldSt.ino;
    result.newRead = fs.readFileSync(path.join(mnt, reused), 'utf8') === `NEW ${reused.slice(3)}`;
    try {
      result.oldNameRead = fs.readFileSync(victim, 'utf8');
    } catch (e) {
      result.oldNameRead = (e as NodeJS.ErrnoException).code;
    }
  }
} finally {
  await h.unmount();
}
console.log(JSON.stringify(result));
