// Confinement: the daemon never resolves a path on the host through a
// symlink and never climbs out of the source.
//
// A symlink followed by the CLIENT is resolved by the client's kernel, and a
// target outside the mount is then reached natively, as the client's own
// access, not the daemon's. The tests tell the two apart with a relative
// link, ../decoy/target: resolved by the client's kernel it means
// <mount>/../decoy/target; resolved by the daemon on the host it would mean
// <source>/../decoy/target, a different file. The layout:
//
//   T/a/src            the source
//   T/a/decoy/target   what the daemon would reach if it followed a link
//   T/mnt-XXXXXX       the mount point (mkdtemp)
//   T/decoy/target     what the client reaches through <mount>/rel
//   T/outside/...      absolute targets
//
// Requests a real kernel never sends (SETATTR or OPEN on a symlink's node,
// CREATE under a symlink) are sent through a simulated kernel
// (test/security-harness.ts) to prove the daemon itself stays inside.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tmpdir } from './helpers.js';
import { mount } from '../src/mount.js';
import type { MountHandle } from '../src/mount.js';
import { PY_E, py, snapshot } from './reliability-util.js';
import { E, FATTR, Opcode, SimKernel, parseEntry, u32, u64, z } from './security-harness.js';


interface Layout {
  T: string;
  src: string;
  outside: string;
  hostDecoy: string;
  clientDecoy: string;
}

function layout(): Layout {
  const T = tmpdir('tsfuse-conf-');
  const src = path.join(T, 'a', 'src');
  fs.mkdirSync(src, { recursive: true });
  const outside = path.join(T, 'outside');
  fs.mkdirSync(path.join(outside, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'target'), 'outside secret');
  fs.writeFileSync(path.join(outside, 'victim'), 'do not unlink');
  fs.writeFileSync(path.join(outside, 'dir', 'inner'), 'inner');
  fs.chmodSync(path.join(outside, 'target'), 0o644);
  spawnSync('setfattr', ['-n', 'user.orig', '-v', 'orig', path.join(outside, 'target')]);
  for (const d of [path.join(T, 'a', 'decoy'), path.join(T, 'decoy')]) {
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'target'), 'decoy');
    fs.chmodSync(path.join(d, 'target'), 0o644);
  }
  fs.symlinkSync(path.join(outside, 'target'), path.join(src, 'abs'));
  fs.symlinkSync(path.join(outside, 'dir'), path.join(src, 'absdir'));
  fs.symlinkSync('../decoy/target', path.join(src, 'rel'));
  fs.symlinkSync('../decoy', path.join(src, 'reldir'));
  fs.symlinkSync('..', path.join(src, 'dotdot'));
  fs.symlinkSync('../../../../../../../../../../../../..' + outside, path.join(src, 'updir'));
  fs.writeFileSync(path.join(src, 'own'), 'own file');
  fs.mkdirSync(path.join(src, 'd'));
  fs.writeFileSync(path.join(src, 'd', 'inside'), 'inside');
  return { T, src, outside, hostDecoy: path.join(T, 'a', 'decoy'), clientDecoy: path.join(T, 'decoy') };
}

/** Mounts the passthrough of `src` on a mkdtemp directory inside T. */
async function mountIn(l: Layout, options: Record<string, unknown> = {}): Promise<MountHandle & { dir: string }> {
  const dir = fs.mkdtempSync(path.join(l.T, 'mnt-'));
  const h = await mount(dir, { module: new URL('../src/fs/passthrough/index.ts', import.meta.url), exportName: 'PassthroughFs', args: [{ source: l.src, ...options }] });
  return Object.assign(h, { dir });
}

async function unmountIn(h: MountHandle): Promise<void> {
  try {
    await h.unmount();
  } catch {
    await h.unmount({ lazy: true });
  }
}

const out = (r: { stdout: string; stderr: string }): Record<string, unknown> => {
  try {
    return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
  } catch {
    throw new Error(`no outcome: ${r.stdout}\n${r.stderr}`);
  }
};

test('symlinks pointing outside are returned as symlinks, with their exact targets', async () => {
  const l = layout();
  const m = await mountIn(l);
  try {
    for (const n of ['abs', 'absdir', 'rel', 'reldir', 'dotdot', 'updir']) {
      assert.ok(fs.lstatSync(path.join(m.dir, n)).isSymbolicLink(), n);
      assert.equal(fs.readlinkSync(path.join(m.dir, n)), fs.readlinkSync(path.join(l.src, n)), n);
    }
    assert.deepEqual(fs.readdirSync(m.dir).sort(), fs.readdirSync(l.src).sort());
  } finally {
    await unmountIn(m);
  }
});

// Operations on the link itself (the kernel sends them to the daemon for the
// symlink's node): the same results as natively, and no target changes.
const ON_THE_LINK = PY_E + String.raw`
r = sys.argv[1]
for n in ['abs', 'rel', 'absdir']:
    p = r + '/' + n
    E(n + ' lchown', os.chown, p, 1000, 1000, follow_symlinks=False)
    E(n + ' owner', lambda: (os.lstat(p).st_uid, os.lstat(p).st_gid))
    E(n + ' lutimes', os.utime, p, ns=(1_000_000_123, 2_000_000_456), follow_symlinks=False)
    E(n + ' times', lambda: (os.lstat(p).st_atime_ns, os.lstat(p).st_mtime_ns))
    E(n + ' lsetxattr trusted', os.setxattr, p, 'trusted.t', b'v', follow_symlinks=False)
    E(n + ' lgetxattr trusted', lambda: os.getxattr(p, 'trusted.t', follow_symlinks=False).decode())
    E(n + ' lsetxattr user', os.setxattr, p, 'user.u', b'v', follow_symlinks=False)
    E(n + ' lremovexattr trusted', os.removexattr, p, 'trusted.t', follow_symlinks=False)
    E(n + ' hard link to the link', os.link, p, p + '.hl', follow_symlinks=False)
    E(n + ' the hard link is the symlink', lambda: stat.S_ISLNK(os.lstat(p + '.hl').st_mode) and os.readlink(p + '.hl') == os.readlink(p))
    E(n + ' nlink', lambda: os.lstat(p).st_nlink)
    E(n + ' rename', os.rename, p + '.hl', p + '.renamed')
    E(n + ' unlink', os.unlink, p + '.renamed')
E('hard link to a dir', os.link, r + '/d', r + '/d.hl')
E('mkdir over a link', os.mkdir, r + '/abs')
E('create over a link', os.open, r + '/abs', os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW)
E('open O_NOFOLLOW', os.open, r + '/abs', os.O_RDONLY | os.O_NOFOLLOW)
E('rmdir of a dir link', os.rmdir, r + '/absdir')
print(json.dumps(out))
`;

test('operations on a symlink itself act on the link, never on its target (same results as natively)', async () => {
  const l = layout();
  const before = [snapshot(l.outside), snapshot(l.hostDecoy), snapshot(l.clientDecoy)];
  // Natively first, on a copy with the same links.
  const nat = tmpdir();
  spawnSync('cp', ['-a', l.src + '/.', nat]);
  const native = out(await py(ON_THE_LINK, [nat], { timeout: 20_000 }));
  assert.deepEqual([snapshot(l.outside), snapshot(l.hostDecoy), snapshot(l.clientDecoy)], before, 'the native run changed a target');
  const m = await mountIn(l);
  try {
    const fuse = out(await py(ON_THE_LINK, [m.dir], { timeout: 20_000 }));
    assert.deepEqual(fuse, native);
    assert.deepEqual([snapshot(l.outside), snapshot(l.hostDecoy), snapshot(l.clientDecoy)], before, 'a target changed');
    // linkat(AT_SYMLINK_FOLLOW) of the absolute link: the client's kernel
    // resolves it to the host file outside the mount, another filesystem:
    // EXDEV (natively, on one filesystem, it would link the outside file).
    const f = out(await py(PY_E + String.raw`
r = sys.argv[1]
root = os.open('/', os.O_RDONLY)
E('link following abs', os.link, r + '/abs', r + '/abs.followed', src_dir_fd=root, follow_symlinks=True)
print(json.dumps(out))
`, [m.dir], { timeout: 10_000 }));
    assert.equal(f['link following abs'], 'EXDEV');
    assert.deepEqual([snapshot(l.outside), snapshot(l.hostDecoy), snapshot(l.clientDecoy)], before, 'a target changed');
  } finally {
    await unmountIn(m);
  }
});

test('links the CLIENT follows are resolved by the client kernel (through <mount>/..), never by the daemon on the host', async () => {
  const l = layout();
  const hostBefore = snapshot(l.hostDecoy);
  const m = await mountIn(l);
  try {
    const r = out(await py(PY_E + String.raw`
m = sys.argv[1]
E('chmod rel', os.chmod, m + '/rel', 0o600)
E('truncate rel', os.truncate, m + '/rel', 2)
def app():
    with open(m + '/rel', 'a') as f:
        f.write('+client')
E('append rel', app)
E('setxattr rel', os.setxattr, m + '/rel', 'user.c', b'client')
E('create through reldir', lambda: open(m + '/reldir/created', 'w').close())
E('read through reldir', lambda: open(m + '/reldir/target').read())
E('listdir dotdot', lambda: sorted(os.listdir(m + '/dotdot')))
print(json.dumps(out))
`, [m.dir], { timeout: 20_000 }));
    assert.deepEqual(r, {
      'chmod rel': 'ok', 'truncate rel': 'ok', 'append rel': 'ok', 'setxattr rel': 'ok', 'create through reldir': 'ok',
      'read through reldir': 'de+client', 'listdir dotdot': fs.readdirSync(l.T).sort(),
    });
    // The client's resolution: <mount>/../decoy = T/decoy changed, as it would natively for that path.
    assert.equal(fs.statSync(path.join(l.clientDecoy, 'target')).mode & 0o777, 0o600);
    assert.ok(fs.existsSync(path.join(l.clientDecoy, 'created')));
    // The host-side resolution (<source>/../decoy = T/a/decoy): untouched.
    assert.equal(snapshot(l.hostDecoy), hostBefore);
    // An absolute link followed by the client reaches the host file directly, as natively.
    fs.chmodSync(path.join(m.dir, 'abs'), 0o640);
    assert.equal(fs.statSync(path.join(l.outside, 'target')).mode & 0o777, 0o640);
  } finally {
    await unmountIn(m);
  }
});

test('a directory swapped for a symlink on the host after the lookup: operations through the cached directory stay in the source', async () => {
  const l = layout();
  fs.writeFileSync(path.join(l.src, 'd', 'victim'), 'inside victim');
  const outsideBefore = snapshot(l.outside);
  const m = await mountIn(l, { entryTimeout: 60, attrTimeout: 60 });
  try {
    const r = out(await py(PY_E + String.raw`
m, src, outside = sys.argv[1], sys.argv[2], sys.argv[3]
dfd = os.open(m + '/d', os.O_RDONLY | os.O_DIRECTORY)
os.stat(m + '/d/inside')
# On the host: the directory moves away and a symlink to the outside takes its name.
os.rename(src + '/d', src + '/d.old')
os.symlink(outside, src + '/d')
# Path-based, within the entry timeout: the kernel still has d as the old
# directory. (A mode change of d, below, makes the kernel revalidate the name:
# after that a path through d follows the new symlink in the client, as natively.)
E('create via cached path', lambda: open(m + '/d/bypath', 'w').close())
E('create via fd', lambda: os.close(os.open('new', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=dfd)))
E('mkdir via fd', os.mkdir, 'newdir', dir_fd=dfd)
E('symlink via fd', os.symlink, 'x', 'newlink', dir_fd=dfd)
E('mknod via fd', os.mknod, 'newfifo', 0o10644, dir_fd=dfd)
E('unlink victim via fd', os.unlink, 'victim', dir_fd=dfd)
E('rename via fd', os.rename, 'inside', 'inside2', src_dir_fd=dfd, dst_dir_fd=dfd)
E('fchmod dir', os.chmod, dfd, 0o700)
E('setxattr dir', os.setxattr, dfd, 'user.dir', b'x')
E('listdir via fd', lambda: sorted(os.listdir(dfd)))
os.close(dfd)
print(json.dumps(out))
`, [m.dir, l.src, l.outside], { timeout: 20_000 }));
    assert.deepEqual(r, {
      'create via cached path': 'ok', 'create via fd': 'ok', 'mkdir via fd': 'ok', 'symlink via fd': 'ok', 'mknod via fd': 'ok', 'unlink victim via fd': 'ok',
      'rename via fd': 'ok', 'fchmod dir': 'ok', 'setxattr dir': 'ok',
      'listdir via fd': ['bypath', 'inside2', 'new', 'newdir', 'newfifo', 'newlink'],
    });
    assert.equal(snapshot(l.outside), outsideBefore, 'the outside directory changed');
    assert.deepEqual(fs.readdirSync(path.join(l.src, 'd.old')).sort(), ['bypath', 'inside2', 'new', 'newdir', 'newfifo', 'newlink']);
    assert.equal(fs.statSync(path.join(l.src, 'd.old')).mode & 0o777, 0o700);
  } finally {
    await unmountIn(m);
  }
});

test('`..` at the root of the mount is the kernel\'s business; `..` sent to the daemon at the root stays at the root', async () => {
  const l = layout();
  const m = await mountIn(l);
  try {
    // Through the mount, `..` of the root leaves the mount in the client's kernel, as for any mount.
    assert.equal(fs.statSync(path.join(m.dir, '..')).ino, fs.statSync(l.T).ino);
    assert.equal(fs.statSync(path.join(m.dir, 'd', '..')).ino, fs.statSync(m.dir).ino);
  } finally {
    await unmountIn(m);
  }
  // The daemon, asked directly (only export-capable kernels send `..`).
  const k = new SimKernel({ source: l.src });
  try {
    k.init();
    const root = k.lookup(1n, '..');
    assert.ok(typeof root !== 'number', `LOOKUP .. at the root: ${root}`);
    assert.equal(root.nodeid, 1n);
    const dot = k.lookup(1n, '.');
    assert.ok(typeof dot !== 'number' && dot.nodeid === 1n);
    const d = k.lookup(1n, 'd');
    assert.ok(typeof d !== 'number');
    const up = k.lookup(d.nodeid, '..');
    assert.ok(typeof up !== 'number' && up.nodeid === 1n, `LOOKUP d/.. gave ${JSON.stringify(up, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    const upup = k.lookup(up.nodeid, '..');
    assert.ok(typeof upup !== 'number' && upup.nodeid === 1n);
    assert.deepEqual(k.thrown, []);
  } finally {
    k.close();
  }
});

test('requests a kernel never sends, on symlink nodes and with path-like names: the daemon stays inside the source', () => {
  const l = layout();
  const before = [snapshot(l.outside), snapshot(l.hostDecoy), snapshot(l.clientDecoy)];
  const k = new SimKernel({ source: l.src });
  try {
    k.init();
    const abs = k.lookup(1n, 'abs');
    const absdir = k.lookup(1n, 'absdir');
    const rel = k.lookup(1n, 'rel');
    const dotdot = k.lookup(1n, 'dotdot');
    assert.ok(typeof abs !== 'number' && typeof absdir !== 'number' && typeof rel !== 'number' && typeof dotdot !== 'number');
    assert.equal(abs.mode & 0o170000, 0o120000, 'abs is a symlink');
    const results: Record<string, number> = {};
    for (const [name, link] of [['abs', abs], ['rel', rel]] as const) {
      const n = link.nodeid;
      results[`${name} setattr mode`] = k.setattr(n, { valid: FATTR.MODE, mode: 0o777 });
      results[`${name} setattr size`] = k.setattr(n, { valid: FATTR.SIZE, size: 0n });
      results[`${name} setattr uid+gid`] = k.setattr(n, { valid: FATTR.UID | FATTR.GID, uid: 4242, gid: 4242 });
      results[`${name} setattr times`] = k.setattr(n, { valid: FATTR.ATIME | FATTR.MTIME, atime: 5n, mtime: 5n });
      results[`${name} open rdwr`] = k.open(n, 2).error;
      results[`${name} open trunc`] = k.open(n, 0o1001).error;
      results[`${name} opendir`] = k.request(Opcode.FUSE_OPENDIR, n, Buffer.concat([u32(0), u32(0)]))!.error;
      results[`${name} setxattr user`] = k.request(Opcode.FUSE_SETXATTR, n, Buffer.concat([u32(1), u32(0), u32(0), u32(0), z('user.evil'), Buffer.from('x')]))!.error;
      results[`${name} access`] = k.request(Opcode.FUSE_ACCESS, n, Buffer.concat([u32(2), u32(0)]))!.error;
    }
    // Under a symlink to a directory outside: nothing can be created, looked up or listed.
    const dn = absdir.nodeid;
    results['lookup under absdir'] = k.request(Opcode.FUSE_LOOKUP, dn, z('inner'))!.error;
    results['create under absdir'] = k.request(Opcode.FUSE_CREATE, dn, Buffer.concat([u32(0o101), u32(0o100644), u32(0), u32(0), z('evil')]))!.error;
    results['mkdir under absdir'] = k.request(Opcode.FUSE_MKDIR, dn, Buffer.concat([u32(0o755), u32(0), z('evil')]))!.error;
    results['mknod under absdir'] = k.request(Opcode.FUSE_MKNOD, dn, Buffer.concat([u32(0o100644), u32(0), u32(0), u32(0), z('evil')]))!.error;
    results['symlink under absdir'] = k.request(Opcode.FUSE_SYMLINK, dn, Buffer.concat([z('evil'), z('x')]))!.error;
    results['unlink under absdir'] = k.request(Opcode.FUSE_UNLINK, dn, z('inner'))!.error;
    results['rename into absdir'] = k.request(Opcode.FUSE_RENAME, 1n, Buffer.concat([u64(dn), z('own'), z('stolen')]))!.error;
    results['link into absdir'] = k.request(Opcode.FUSE_LINK, dn, Buffer.concat([u64(dn), z('evil')]))!.error;
    results['tmpfile under absdir'] = k.request(Opcode.FUSE_TMPFILE, dn, Buffer.concat([u32(0o2), u32(0o100644), u32(0), u32(0), z('')]))!.error;
    // Names that are paths.
    for (const bad of ['../outside/victim', '../../outside', 'd/../../outside', '/etc/passwd', 'x/y']) {
      results[`lookup ${bad}`] = k.request(Opcode.FUSE_LOOKUP, 1n, z(bad))!.error;
      results[`unlink ${bad}`] = k.request(Opcode.FUSE_UNLINK, 1n, z(bad))!.error;
      results[`create ${bad}`] = k.request(Opcode.FUSE_CREATE, 1n, Buffer.concat([u32(0o101), u32(0o100644), u32(0), u32(0), z(bad)]))!.error;
      results[`mkdir ${bad}`] = k.request(Opcode.FUSE_MKDIR, 1n, Buffer.concat([u32(0o755), u32(0), z(bad)]))!.error;
      results[`rename own to ${bad}`] = k.request(Opcode.FUSE_RENAME, 1n, Buffer.concat([u64(1n), z('own'), z(bad)]))!.error;
    }
    results['lookup empty name'] = k.request(Opcode.FUSE_LOOKUP, 1n, z(''))!.error;
    results['create ..'] = k.request(Opcode.FUSE_CREATE, 1n, Buffer.concat([u32(0o101), u32(0o100644), u32(0), u32(0), z('..')]))!.error;
    results['rmdir ..'] = k.request(Opcode.FUSE_RMDIR, 1n, z('..'))!.error;
    results['rename .. away'] = k.request(Opcode.FUSE_RENAME, 1n, Buffer.concat([u64(1n), z('..'), z('parent')]))!.error;
    // "." and ".." as the name of something to make. With O_PATH (which no
    // open through FUSE carries) a CREATE of ".." once opened the source's
    // parent and gave it a node (found by the session fuzz, seed 2124388484).
    const O_PATH = 0o10000000;
    const own = k.lookup(1n, 'own');
    assert.ok(typeof own !== 'number');
    for (const dot of ['.', '..']) {
      results[`create ${dot} O_PATH`] = k.request(Opcode.FUSE_CREATE, 1n, Buffer.concat([u32(O_PATH | 0o100), u32(0o100644), u32(0), u32(0), z(dot)]))!.error;
      results[`mkdir ${dot}`] = k.request(Opcode.FUSE_MKDIR, 1n, Buffer.concat([u32(0o755), u32(0), z(dot)]))!.error;
      results[`mknod ${dot}`] = k.request(Opcode.FUSE_MKNOD, 1n, Buffer.concat([u32(0o100644), u32(0), u32(0), u32(0), z(dot)]))!.error;
      results[`symlink ${dot}`] = k.request(Opcode.FUSE_SYMLINK, 1n, Buffer.concat([z(dot), z('x')]))!.error;
      results[`link own to ${dot}`] = k.request(Opcode.FUSE_LINK, 1n, Buffer.concat([u64(own.nodeid), z(dot)]))!.error;
    }
    // O_PATH on an ordinary name is dropped: the create makes a file.
    const opath = k.request(Opcode.FUSE_CREATE, 1n, Buffer.concat([u32(O_PATH | 0o100 | 0o2), u32(0o100644), u32(0), u32(0), z('opath')]))!;
    results['made opath'] = opath.error;
    // A hard link of the symlink's node links the symlink itself.
    const hl = k.request(Opcode.FUSE_LINK, 1n, Buffer.concat([u64(abs.nodeid), z('abs.hl')]))!;
    results['link of the abs node'] = hl.error;
    const isLink = fs.lstatSync(path.join(l.src, 'abs.hl')).isSymbolicLink();

    const allowed = (r: number, ...ok: number[]): boolean => ok.map((e) => -e).includes(r);
    for (const name of ['abs', 'rel']) {
      // chmod of a symlink: Linux refuses (EOPNOTSUPP); lchown and lutimes act on the link.
      assert.ok(allowed(results[`${name} setattr mode`]!, E.EOPNOTSUPP), `${name} mode: ${results[`${name} setattr mode`]}`);
      assert.ok(allowed(results[`${name} setattr size`]!, E.ELOOP, E.EINVAL, E.EISDIR, E.EPERM), `${name} size: ${results[`${name} setattr size`]}`);
      assert.equal(results[`${name} setattr uid+gid`], 0);
      assert.equal(results[`${name} setattr times`], 0);
      assert.ok(allowed(results[`${name} open rdwr`]!, E.ELOOP), `${name} open: ${results[`${name} open rdwr`]}`);
      assert.ok(allowed(results[`${name} open trunc`]!, E.ELOOP), `${name} open trunc: ${results[`${name} open trunc`]}`);
      assert.ok(allowed(results[`${name} opendir`]!, E.ENOTDIR, E.ELOOP), `${name} opendir: ${results[`${name} opendir`]}`);
      assert.ok(allowed(results[`${name} setxattr user`]!, E.EPERM), `${name} setxattr: ${results[`${name} setxattr user`]}`);
    }
    for (const k2 of ['lookup under absdir', 'create under absdir', 'mkdir under absdir', 'mknod under absdir', 'symlink under absdir', 'unlink under absdir', 'rename into absdir', 'link into absdir', 'tmpfile under absdir']) {
      assert.ok(results[k2]! < 0, `${k2} succeeded`);
    }
    for (const [k2, v] of Object.entries(results)) {
      if (/^(lookup|unlink|create|mkdir|rename own to) /.test(k2) && !k2.includes('absdir')) assert.ok(v < 0, `${k2} succeeded`);
    }
    assert.ok(results['lookup empty name']! < 0 && results['create ..']! < 0 && results['rmdir ..']! < 0 && results['rename .. away']! < 0);
    for (const dot of ['.', '..']) {
      for (const op of ['create', 'mkdir', 'mknod', 'symlink', 'link own to']) {
        const key = op === 'create' ? `create ${dot} O_PATH` : `${op} ${dot}`;
        assert.equal(results[key], -E.EINVAL, `${key}: ${results[key]}`);
      }
    }
    assert.equal(results['made opath'], 0);
    assert.ok(fs.statSync(path.join(l.src, 'opath')).isFile());
    assert.equal(results['link of the abs node'], 0);
    assert.ok(isLink, 'the hard link made from the symlink node is a symlink');
    assert.deepEqual(k.thrown, []);
    assert.deepEqual([snapshot(l.outside), snapshot(l.hostDecoy), snapshot(l.clientDecoy)], before, 'something outside the source changed');
    assert.deepEqual(fs.readdirSync(path.join(l.T, 'a')).sort(), ['decoy', 'src']);
    assert.deepEqual(fs.readdirSync(l.T).sort(), ['a', 'decoy', 'outside']);
    // The links themselves did change (lchown, times): that is the daemon acting on the source.
    assert.equal(fs.lstatSync(path.join(l.src, 'abs')).uid, 4242);
    void parseEntry;
  } finally {
    k.close();
  }
});

test('a hard link in the source to a file outside is the same file (host\'s choice); hard links made through the mount stay in the source', async () => {
  const l = layout();
  fs.linkSync(path.join(l.outside, 'target'), path.join(l.src, 'hardout'));
  const m = await mountIn(l);
  try {
    assert.equal(fs.readFileSync(path.join(m.dir, 'hardout'), 'utf8'), 'outside secret');
    fs.linkSync(path.join(m.dir, 'own'), path.join(m.dir, 'own2'));
    assert.equal(fs.statSync(path.join(l.src, 'own2')).ino, fs.statSync(path.join(l.src, 'own')).ino);
    assert.equal(fs.statSync(path.join(l.src, 'own')).nlink, 2);
    // A link into another directory of the mount, and renames across: all inside.
    fs.linkSync(path.join(m.dir, 'own'), path.join(m.dir, 'd', 'own3'));
    fs.renameSync(path.join(m.dir, 'd', 'own3'), path.join(m.dir, 'own4'));
    assert.deepEqual(fs.readdirSync(l.outside).sort(), ['dir', 'target', 'victim']);
    assert.equal(fs.statSync(path.join(l.outside, 'target')).nlink, 2, 'only the host-made link');
  } finally {
    await unmountIn(m);
  }
});

// Regression test (found by these tests; fixed in src while they were
// written). Hardening: only a kernel that sends `..` lookups (tsfuse's mounts
// do not negotiate EXPORT_SUPPORT) could do this. PassthroughFs.lookup
// answered LOOKUP(dir, "..") with the host parent of the directory's fd. If
// the host moved that directory out of the source, the answer is a directory
// outside the source, and the next request can create files in it (here
// T/outside/escaped). SPEC §3: a client must not reach anything outside the
// source.
test('LOOKUP ".." of a directory is its parent, and of one the host moved out of the source does not climb outside', () => {
  const l = layout();
  const k = new SimKernel({ source: l.src });
  try {
    k.init();
    const d = k.lookup(1n, 'd');
    assert.ok(typeof d !== 'number');
    // Inside the source, ".." of a directory two levels down is its parent.
    fs.mkdirSync(path.join(l.src, 'd', 'inner'), { recursive: true });
    const inner = k.lookup(d.nodeid, 'inner');
    assert.ok(typeof inner !== 'number');
    const parent = k.lookup(inner.nodeid, '..');
    assert.ok(typeof parent !== 'number', `LOOKUP(inner, "..") failed: ${String(parent)}`);
    assert.equal(parent.nodeid, d.nodeid);
    fs.renameSync(path.join(l.src, 'd'), path.join(l.outside, 'moved'));
    const before = fs.readdirSync(l.outside).sort();
    const up = k.lookup(d.nodeid, '..');
    if (typeof up !== 'number') {
      const r = k.request(Opcode.FUSE_MKDIR, up.nodeid, Buffer.concat([u32(0o755), u32(0), z('escaped')]))!;
      assert.ok(r.error !== 0 || !fs.existsSync(path.join(l.outside, 'escaped')), 'created T/outside/escaped through LOOKUP(d, "..")');
    }
    assert.deepEqual(fs.readdirSync(l.outside).sort(), before);
  } finally {
    k.close();
  }
});
