// Hostile names and paths through the mount: every byte value Linux allows
// in a name (1..255 except '/'), 255-byte names (256 -> ENAMETOOLONG),
// 4,096-byte paths (PATH_MAX -> ENAMETOOLONG from the kernel), trees deeper
// than PATH_MAX, 4,095-byte symlink targets. The same script runs natively and
// through the mount and must give the same results; the host side must hold
// exactly the names created, and nothing may appear outside the source.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tmpdir, mountPassthrough, unmountFs } from './helpers.js';
import { PY_E, py, snapshot } from './reliability-util.js';


const EVERY_BYTE = PY_E + String.raw`
r = os.fsencode(sys.argv[1])
bytes_ok = [b for b in range(1, 256) if b != 0x2f]
def put(p, data):
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.close(fd)
res = {}
for b in bytes_ok:
    one = bytes([b])
    mid = b'x' + one + b'y'
    k = '%02x' % b
    E(k + ' create 1', put, r + b'/' + one, one)
    E(k + ' create 3', put, r + b'/' + mid, mid)
    E(k + ' read 3', lambda: open(r + b'/' + mid, 'rb').read() == mid)
    E(k + ' mkdir', os.mkdir, r + b'/d' + mid)
    E(k + ' symlink', os.symlink, mid, r + b'/l' + mid)
    E(k + ' readlink', lambda: os.readlink(r + b'/l' + mid) == mid)
    E(k + ' rename', os.rename, r + b'/' + mid, r + b'/r' + mid)
    E(k + ' link', os.link, r + b'/r' + mid, r + b'/h' + mid)
    E(k + ' setxattr', os.setxattr, r + b'/r' + mid, b'user.' + mid, mid)
    E(k + ' getxattr', lambda: os.getxattr(r + b'/r' + mid, b'user.' + mid) == mid)
    E(k + ' stat 1', lambda: stat.S_IFMT(os.lstat(r + b'/' + one).st_mode))
all254 = bytes(bytes_ok)
E('all 254 bytes create', put, r + b'/' + all254, all254)
E('all 254 bytes read', lambda: open(r + b'/' + all254, 'rb').read() == all254)
E('all 254 bytes in listing', lambda: all254 in os.listdir(r))
E('listing', lambda: sorted(n.hex() for n in os.listdir(r)))
# readdir through a dir fd and scandir types
E('scandir types', lambda: sorted((e.name.hex(), e.is_dir(follow_symlinks=False), e.is_symlink()) for e in os.scandir(r)))
print(json.dumps(out))
`;

test('names with every byte value Linux allows: same results as natively, exact names on the host, nothing outside', async (t) => {
  const T = tmpdir('tsfuse-names-');
  const native = path.join(T, 'native');
  const src = path.join(T, 'src');
  const outside = path.join(T, 'outside');
  for (const d of [native, src, outside]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(outside, 'sentinel'), 'x');
  const nat = JSON.parse((await py(EVERY_BYTE, [native], { timeout: 60_000 })).stdout) as Record<string, unknown>;
  const before = snapshot(outside);
  const tmpBefore = new Set(fs.readdirSync(os.tmpdir()));
  const m = await mountPassthrough(src, {});
  try {
    const r = await py(EVERY_BYTE, [m.dir], { timeout: 60_000 });
    const fuse = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(fuse, nat);
    // '.' as a name exists already; everything else was created.
    assert.equal(nat['2e create 1'], 'EEXIST');
    assert.equal(nat['41 create 1'], 'ok');
    // The host holds exactly the same names as the native run.
    const names = (d: string): string[] => fs.readdirSync(d, { encoding: 'buffer' }).map((b) => b.toString('hex')).sort();
    assert.deepEqual(names(src), names(native));
    assert.equal(names(src).length, 253 + 4 * 254 + 1, 'one-byte names (253: not "."), dx?y, lx?y, rx?y (x?y renamed), hx?y, and the 254-byte name');
    t.diagnostic(`${names(src).length} hostile names created, listed and read back`);
  } finally {
    await unmountFs(m);
  }
  assert.equal(snapshot(outside), before);
  assert.deepEqual(fs.readdirSync(T).sort(), ['native', 'outside', 'src']);
  // No hostile name leaked into /tmp itself (other processes may create ordinary entries there).
  const leaked = fs.readdirSync(os.tmpdir()).filter((n) => !tmpBefore.has(n) && /^[dlrh]?x.y$|^.$/s.test(n));
  assert.deepEqual(leaked, []);
});

const LENGTHS = PY_E + String.raw`
r = sys.argv[1]
n255 = 'a' * 255
n256 = 'b' * 256
u255 = 'é' * 127 + 'x'   # 255 bytes of UTF-8
def put(p):
    os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o644))
for tag, name in [('255', n255), ('256', n256), ('utf8-255', u255), ('utf8-256', u255 + 'y')]:
    p = r + '/' + name
    E(tag + ' create', put, p)
    E(tag + ' stat', lambda: os.stat(p).st_size)
    E(tag + ' mkdir', os.mkdir, r + '/' + name[:-1] + 'D')
    E(tag + ' symlink', os.symlink, 'target', r + '/' + name[:-1] + 'L')
    E(tag + ' mknod', os.mknod, r + '/' + name[:-1] + 'F', 0o10644)
    E(tag + ' rename to', os.rename, r + '/' + 'plain', p + 'R') if os.path.exists(r + '/plain') else None
    E(tag + ' link', os.link, r + '/base', r + '/' + name[:-1] + 'H')
    E(tag + ' setxattr name', os.setxattr, r + '/base', 'user.' + 'k' * (len(name) - 5), b'v')
open(r + '/plain', 'w').close()
E('rename to 255', os.rename, r + '/plain', r + '/' + 'c' * 255)
E('rename to 256', os.rename, r + '/' + 'c' * 255, r + '/' + 'c' * 256)
E('unlink 256', os.unlink, r + '/' + n256)
E('listing', lambda: sorted(len(os.fsencode(n)) for n in os.listdir(r)))
print(json.dumps(out))
`;

test('255-byte names work, 256-byte names get ENAMETOOLONG, as natively', async () => {
  const native = tmpdir();
  const src = tmpdir();
  fs.writeFileSync(path.join(native, 'base'), '');
  fs.writeFileSync(path.join(src, 'base'), '');
  const nat = JSON.parse((await py(LENGTHS, [native], { timeout: 30_000 })).stdout) as Record<string, unknown>;
  const m = await mountPassthrough(src, {});
  try {
    const fuse = JSON.parse((await py(LENGTHS, [m.dir], { timeout: 30_000 })).stdout) as Record<string, unknown>;
    assert.deepEqual(fuse, nat);
    for (const op of ['create', 'stat', 'mkdir', 'symlink', 'mknod', 'link']) {
      assert.equal(nat[`256 ${op}`], 'ENAMETOOLONG', op);
      assert.equal(nat[`utf8-256 ${op}`], 'ENAMETOOLONG', op);
      assert.notEqual(nat[`255 ${op}`], 'ENAMETOOLONG', op);
    }
    assert.equal(nat['rename to 256'], 'ENAMETOOLONG');
    assert.deepEqual(fs.readdirSync(src).sort(), fs.readdirSync(native).sort());
  } finally {
    await unmountFs(m);
  }
});

const PATHS = PY_E + String.raw`
r = sys.argv[1]
# Build a chain of directories so that r/<chain>/<leaf> is exactly N bytes long (without the NUL).
def chain_to(total):
    comps, cur = [], len(r)
    while total - cur > 255 + 1 + 10:
        comps.append('p' * 200)
        cur += 201
    leaf = total - cur - 1
    return comps, 'q' * leaf
def build(total):
    comps, leaf = chain_to(total)
    d = r
    for c in comps:
        d = d + '/' + c
        try:
            os.mkdir(d)
        except FileExistsError:
            pass
    return d + '/' + leaf
p4095 = build(4095)
p4096 = build(4096)
assert len(os.fsencode(p4095)) == 4095 and len(os.fsencode(p4096)) == 4096
E('create 4095', lambda: os.close(os.open(p4095, os.O_WRONLY | os.O_CREAT, 0o644)))
E('stat 4095', lambda: os.stat(p4095).st_size)
E('create 4096', lambda: os.close(os.open(p4096, os.O_WRONLY | os.O_CREAT, 0o644)))
E('stat 4096', lambda: os.stat(p4096))
E('mkdir 4096', os.mkdir, p4096)
E('symlink at 4096', os.symlink, 'x', p4096)
E('unlink 4096', os.unlink, p4096)
E('rename to 4096', os.rename, p4095, p4096)
# Targets: 4095 bytes is the longest symlink target.
E('symlink target 4095', os.symlink, 't' * 4095, r + '/long4095')
E('readlink 4095', lambda: len(os.readlink(r + '/long4095')))
E('symlink target 4096', os.symlink, 't' * 4096, r + '/long4096')
# Deeper than PATH_MAX through relative paths: each call's path is short, the tree is not.
os.chdir(r)
depth = 0
for i in range(40):
    os.mkdir('z' * 200)
    os.chdir('z' * 200)
    depth += 201
with open('deep', 'w') as f:
    f.write('deep content')
E('deep read', lambda: open('deep').read())
E('deep stat', lambda: os.stat('deep').st_size)
E('deep listdir', lambda: os.listdir('.'))
E('deep rename', os.rename, 'deep', 'deeper')
E('deep getcwd', lambda: len(os.getcwd()) > 4096)
out['tree depth bytes'] = depth
os.chdir('/')
print(json.dumps(out))
`;

test('4,096-byte paths get ENAMETOOLONG, 4,095 work; trees deeper than PATH_MAX are served; 4,095-byte symlink targets', async () => {
  const native = tmpdir();
  const src = tmpdir();
  const m = await mountPassthrough(src, {});
  try {
    const nat = JSON.parse((await py(PATHS, [native], { timeout: 60_000 })).stdout) as Record<string, unknown>;
    const r = await py(PATHS, [m.dir], { timeout: 60_000 });
    const fuse = JSON.parse(r.stdout || '{}') as Record<string, unknown>;
    assert.deepEqual(fuse, nat, r.stderr);
    assert.equal(nat['create 4095'], 'ok');
    for (const k of ['create 4096', 'stat 4096', 'mkdir 4096', 'symlink at 4096', 'unlink 4096', 'rename to 4096', 'symlink target 4096']) assert.equal(nat[k], 'ENAMETOOLONG', k);
    assert.equal(nat['readlink 4095'], 4095);
    assert.equal(nat['deep read'], 'deep content');
    assert.equal(nat['deep getcwd'], true);
    // On the host the deep file is where it should be (a path longer than PATH_MAX: walked relatively).
    const chk = await py(String.raw`
import os, sys
os.chdir(sys.argv[1])
for i in range(40):
    os.chdir('z' * 200)
print(open('deeper').read())
`, [src], { timeout: 10_000 });
    assert.equal(chk.stdout.trim(), 'deep content');
  } finally {
    await unmountFs(m);
    // Trees deeper than PATH_MAX: fs.rmSync cannot remove them, Python's fd-based rmtree can.
    await py('import shutil, sys\nfor p in sys.argv[1:]:\n    shutil.rmtree(p, ignore_errors=True)', [native, src], { timeout: 60_000 });
  }
});
