// Other users on a root daemon's mount (allow_other), with and without
// default_permissions; uid/gid mapping; a non-root daemon.
//
// The permission scenario is one Python script run twice, natively and
// through the mount, as root: it prepares files with various owners and
// modes, then forks a child per step that takes on another user's identity
// (uid, gid, supplementary groups) and reports what it got. The outcomes must
// be identical.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir, mountPassthrough, unmountFs } from './helpers.js';
import { PY_E, py, startChildDaemon, withUserFuseDevice, pySync, isMounted } from './reliability-util.js';

const PERMS = String.raw`
import os, sys, errno, json, stat, time
r = sys.argv[1]
os.umask(0)
U1 = (1000, 1000, [1000])
U2 = (1001, 1001, [1001, 2000])
def en(e):
    return errno.errorcode.get(e, str(e))
def as_user(u, f):
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            os.setgroups(u[2])
            os.setgid(u[1])
            os.setuid(u[0])
            try:
                v = f()
                v = 'ok' if v is None else v
            except OSError as e:
                v = en(e.errno)
            os.write(wr, json.dumps(v).encode())
        finally:
            os._exit(0)
    os.close(wr)
    data = b''
    while True:
        b = os.read(rd, 65536)
        if not b:
            break
        data += b
    os.close(rd)
    os.waitpid(pid, 0)
    return json.loads(data)
def put(p, data=b'data', mode=0o644, uid=0, gid=0):
    with open(p, 'wb') as f:
        f.write(data)
    os.chown(p, uid, gid)
    os.chmod(p, mode)
def mkd(p, mode, uid=0, gid=0):
    os.mkdir(p)
    os.chown(p, uid, gid)
    os.chmod(p, mode)
def read(p):
    with open(p, 'rb') as f:
        return f.read().decode()
def write(p, data=b'w'):
    fd = os.open(p, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
def create(p):
    os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    st = os.stat(p)
    return [st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))]
def mode(p):
    return oct(stat.S_IMODE(os.stat(p).st_mode))

# ---- setup, as root ----
put(r + '/rootonly', b'secret', 0o600)
put(r + '/pub', b'public', 0o644)
mkd(r + '/dir700', 0o700)
put(r + '/dir700/f', b'hidden', 0o644)
mkd(r + '/dir755', 0o755)
put(r + '/dir755/f', b'f', 0o644)
mkd(r + '/sticky', 0o1777)
put(r + '/sticky/u2file', b'u2', 0o666, 1001, 1001)
mkd(r + '/u1', 0o755, 1000, 1000)
mkd(r + '/grp', 0o770, 0, 1000)
mkd(r + '/sgiddir', 0o2775, 0, 1000)
put(r + '/g2000', b'group 2000', 0o640, 0, 2000)
for n in ['suid', 'sgid', 'both', 'trunc', 'chgrp', 'chown_root', 'rootwrite', 'rootchown']:
    put(r + '/u1/' + n, b'#!/bin/sh\n', 0o755, 1000, 1000)
os.chmod(r + '/u1/suid', 0o4755)
os.chmod(r + '/u1/sgid', 0o2755)
os.chmod(r + '/u1/both', 0o6755)
os.chmod(r + '/u1/trunc', 0o6755)
os.chmod(r + '/u1/chgrp', 0o6755)
os.chmod(r + '/u1/chown_root', 0o6755)
os.chmod(r + '/u1/rootwrite', 0o6755)
os.chmod(r + '/u1/rootchown', 0o6755)
put(r + '/u1/sgid_noexec', b'x', 0o2644, 1000, 1000)
put(r + '/suid_other', b'x', 0o4777, 0, 0)

out = {}
def step(name, u, f):
    out[name] = as_user(u, f)

# ---- what modes deny ----
step('U1 read rootonly', U1, lambda: read(r + '/rootonly'))
step('U1 write rootonly', U1, lambda: write(r + '/rootonly'))
step('U1 read pub', U1, lambda: read(r + '/pub'))
step('U1 write pub', U1, lambda: write(r + '/pub'))
step('U1 list dir700', U1, lambda: os.listdir(r + '/dir700'))
step('U1 stat dir700/f', U1, lambda: os.stat(r + '/dir700/f').st_size)
step('U1 read dir700/f', U1, lambda: read(r + '/dir700/f'))
step('U1 create in dir755', U1, lambda: create(r + '/dir755/new'))
step('U1 mkdir in dir755', U1, lambda: os.mkdir(r + '/dir755/newd'))
step('U1 rename dir755/f', U1, lambda: os.rename(r + '/dir755/f', r + '/dir755/g'))
step('U1 rename dir755/f out', U1, lambda: os.rename(r + '/dir755/f', r + '/u1/stolen'))
step('U1 unlink dir755/f', U1, lambda: os.unlink(r + '/dir755/f'))
step('U1 rmdir dir700', U1, lambda: os.rmdir(r + '/dir700'))
step('U1 unlink sticky/u2file', U1, lambda: os.unlink(r + '/sticky/u2file'))
step('U1 rename sticky/u2file', U1, lambda: os.rename(r + '/sticky/u2file', r + '/sticky/mine'))
step('U1 write sticky/u2file', U1, lambda: write(r + '/sticky/u2file'))
step('U1 chmod pub', U1, lambda: os.chmod(r + '/pub', 0o666))
step('U1 chown pub', U1, lambda: os.chown(r + '/pub', 1000, 1000))
step('U1 utime pub explicit', U1, lambda: os.utime(r + '/pub', (1, 1)))
step('U1 utime pub now', U1, lambda: os.utime(r + '/pub'))
step('U1 setxattr pub', U1, lambda: os.setxattr(r + '/pub', 'user.x', b'1'))
step('U1 truncate pub', U1, lambda: os.truncate(r + '/pub', 0))
step('U1 read g2000', U1, lambda: read(r + '/g2000'))
step('U2 read g2000 (supplementary group)', U2, lambda: read(r + '/g2000'))
step('U2 create in grp', U2, lambda: create(r + '/grp/u2'))
step('U1 access W rootonly', U1, lambda: os.access(r + '/rootonly', os.W_OK))
step('U1 access R pub', U1, lambda: os.access(r + '/pub', os.R_OK))
# ---- what they create is theirs ----
step('U1 create in u1', U1, lambda: create(r + '/u1/created'))
step('U1 mkdir in sticky', U1, lambda: (os.mkdir(r + '/sticky/d1'), [os.stat(r + '/sticky/d1').st_uid, os.stat(r + '/sticky/d1').st_gid])[1])
step('U1 create in grp', U1, lambda: create(r + '/grp/u1'))
step('U1 create in sgiddir (inherits gid 1000)', U1, lambda: create(r + '/sgiddir/f'))
step('U2 create in sgiddir', U2, lambda: create(r + '/sgiddir/f2'))
step('U1 mkdir in sgiddir', U1, lambda: (os.mkdir(r + '/sgiddir/d'), mode(r + '/sgiddir/d'), os.stat(r + '/sgiddir/d').st_gid)[1:])
step('U1 symlink in u1', U1, lambda: (os.symlink('x', r + '/u1/ln'), os.lstat(r + '/u1/ln').st_uid)[1])
step('U1 mknod fifo in u1', U1, lambda: (os.mkfifo(r + '/u1/fifo'), os.stat(r + '/u1/fifo').st_uid)[1])
step('U1 chown own file to root', U1, lambda: os.chown(r + '/u1/created', 0, -1))
step('U1 chgrp own file to a group it is not in', U1, lambda: os.chown(r + '/u1/created', -1, 0))
step('U2 chgrp own file to a supplementary group', U2, lambda: (os.chown(r + '/grp/u2', -1, 2000), os.stat(r + '/grp/u2').st_gid)[1])
# ---- setuid/setgid bits on write, truncate, chown ----
step('U1 write suid', U1, lambda: (write(r + '/u1/suid'), mode(r + '/u1/suid'))[1])
step('U1 write sgid (group-exec)', U1, lambda: (write(r + '/u1/sgid'), mode(r + '/u1/sgid'))[1])
step('U1 write both', U1, lambda: (write(r + '/u1/both'), mode(r + '/u1/both'))[1])
step('U1 write sgid without group-exec', U1, lambda: (write(r + '/u1/sgid_noexec'), mode(r + '/u1/sgid_noexec'))[1])
step('U1 truncate suid+sgid', U1, lambda: (os.truncate(r + '/u1/trunc', 1), mode(r + '/u1/trunc'))[1])
step('U1 chgrp suid+sgid to own group', U1, lambda: (os.chown(r + '/u1/chgrp', -1, 1000), mode(r + '/u1/chgrp'))[1])
step('U1 write root suid file (o+w)', U1, lambda: (write(r + '/suid_other'), mode(r + '/suid_other'))[1])
def root_write():
    write(r + '/u1/rootwrite')
    return mode(r + '/u1/rootwrite')
out['root write suid+sgid'] = root_write()
os.chown(r + '/u1/rootchown', 1000, 1000)
out['root chown suid+sgid'] = mode(r + '/u1/rootchown')
os.chown(r + '/u1/chown_root', 1001, -1)
out['root chown to another uid'] = mode(r + '/u1/chown_root')
# ---- final state seen by root ----
def tree(p):
    res = []
    for dp, dns, fns in sorted(os.walk(p)):
        for n in sorted(dns + fns):
            st = os.lstat(os.path.join(dp, n))
            res.append('%s %o %d:%d %d' % (os.path.relpath(os.path.join(dp, n), p), st.st_mode, st.st_uid, st.st_gid, st.st_size if not stat.S_ISDIR(st.st_mode) else 0))
    return res
out['tree'] = tree(r)
print(json.dumps(out))
`;

// Regression test (found by these tests; fixed in src while they were
// written): without default_permissions, directory search permission was not
// enforced for names the kernel already had in its dentry cache. The FUSE
// kernel does not check MAY_EXEC on directories unless default_permissions
// is set (fs/fuse/dir.c fuse_permission), so it relies on the daemon's LOOKUP
// (run as the caller) to refuse; but once another user (here root) has looked
// the name up, the cached dentry is used for entry_timeout (5 s by default)
// without any LOOKUP, and the OPEN that follows goes through
// /proc/self/fd/N, which checks only the file's own mode. So uid 1000 reads
// dir700/f, which natively gives EACCES. docs/passthrough.md claims
// "permissions are enforced correctly although the FUSE kernel checks
// nothing".
test('without default_permissions, a cached name does not bypass a directory\'s search permission', async () => {
  const src = tmpdir();
  fs.mkdirSync(path.join(src, 'dir700'));
  fs.chmodSync(path.join(src, 'dir700'), 0o700);
  fs.writeFileSync(path.join(src, 'dir700', 'f'), 'hidden');
  const m = await mountPassthrough(src, {}, { allowOther: true });
  try {
    const asU1 = async (): Promise<string> => (await py(String.raw`
import sys, errno
try:
    print(open(sys.argv[1] + '/dir700/f').read())
except OSError as e:
    print(errno.errorcode[e.errno])
`, [m.dir], { uid: 1000, gid: 1000, timeout: 10_000 })).stdout.trim();
    assert.equal(await asU1(), 'EACCES', 'uid 1000 first');
    assert.equal(fs.readFileSync(path.join(m.dir, 'dir700', 'f'), 'utf8'), 'hidden'); // root looks it up
    assert.equal(await asU1(), 'EACCES', 'uid 1000 after root looked the name up');
  } finally {
    await unmountFs(m);
  }
});

// Regression test (found by these tests; fixed in src while they were
// written): with the writeback cache and allow_other, a user who may write a
// file but did not own it got EPERM from close(2) (and, for an o+w setuid file,
// from the write's privilege drop): in writeback mode the kernel owns mtime
// and ctime and sends them as explicit times in a SETATTR (on flush), and
// kills suid/sgid with a mode SETATTR; PassthroughFs.setattr runs both with
// the caller's credentials, and the host refuses explicit times and chmod to
// a non-owner (natively these kernel-internal updates are not permission
// checked). Also 'utime(NULL)' by a non-owner without write access then says
// EPERM instead of EACCES.
test('writeback + allow_other: a non-owner with write permission writes and closes without error', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'shared'), 'x');
  fs.chmodSync(path.join(src, 'shared'), 0o666);
  const m = await mountPassthrough(src, { writeback: true }, { allowOther: true });
  try {
    const r = await py(String.raw`
import os, sys, errno
fd = os.open(sys.argv[1] + '/shared', os.O_WRONLY)
os.write(fd, b'abc')
try:
    os.close(fd)
    print('closed')
except OSError as e:
    print(errno.errorcode[e.errno])
`, [m.dir], { uid: 1000, gid: 1000, timeout: 10_000 });
    assert.equal(r.stdout.trim(), 'closed');
    assert.equal(fs.readFileSync(path.join(src, 'shared'), 'utf8'), 'abc');
  } finally {
    await unmountFs(m);
  }
});

// Regression test (found by these tests; fixed in src while they were
// written): with uid/gid mapping, POSIX ACLs showed host ids: the kernel (no
// FUSE_POSIX_ACL negotiated) reads system.posix_acl_access through GETXATTR
// and the daemon returns the host's raw ACL, whose user:/group: entries carry
// host ids (here 1003 and 1004 instead of 2003 and 2004). SETXATTR of an ACL
// likewise stores client ids unmapped. Fix: translate the ids inside
// system.posix_acl_access/system.posix_acl_default both ways (ids without a
// range become the overflow id).
test('uid/gid mapping also maps the ids inside POSIX ACLs (no host id leaks through getfacl)', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'acl'), 'x');
  fs.chownSync(path.join(src, 'acl'), 1000, 1000);
  assert.equal(pySync(`import subprocess,sys; print(subprocess.run(['setfacl','-m','u:1003:r,g:1004:r',sys.argv[1]]).returncode)`, [path.join(src, 'acl')]).stdout.trim(), '0');
  const m = await mountPassthrough(src, { uidmapping: '1000:2000:10', gidmapping: '1000:2000:10' }, { allowOther: true });
  try {
    const r = pySync(`import subprocess,sys; print(subprocess.run(['getfacl','-n','-p',sys.argv[1]], capture_output=True, text=True).stdout)`, [path.join(m.dir, 'acl')]);
    const entries = r.stdout.split('\n').filter((l) => /^(user|group):\d+:/.test(l));
    for (const e of entries) assert.match(e, /^(user|group):(200\d|65534):/, `host id in ${JSON.stringify(entries)}`);
  } finally {
    await unmountFs(m);
  }
});

// The setup runs as root through the mount, so the names it made are in the
// kernel's cache when the other users come: the first regression test above.
for (const [name, fsOpts, mountOpts] of [
  ['allow_other, without default_permissions', {}, { allowOther: true }],
  ['allow_other, default_permissions', { defaultPermissions: true }, { allowOther: true, defaultPermissions: true }],
  ['allow_other, kernel passthrough off', { passthrough: false }, { allowOther: true }],
  ['allow_other, writeback', { writeback: true }, { allowOther: true }],
] as const) {
  test(`other users on a root daemon's mount (${name}): same permissions, ownership and setuid/setgid clearing as natively`, async () => {
    const native = tmpdir();
    const src = tmpdir();
    const nat = JSON.parse((await py(PERMS, [native], { timeout: 60_000 })).stdout) as Record<string, unknown>;
    const m = await mountPassthrough(src, fsOpts, mountOpts);
    try {
      const r = await py(PERMS, [m.dir], { timeout: 60_000 });
      const fuse = JSON.parse(r.stdout || '{}') as Record<string, unknown>;
      // A sanity check of the native run: the modes do deny.
      assert.equal(nat['U1 read rootonly'], 'EACCES');
      assert.equal(nat['U1 unlink sticky/u2file'], 'EPERM');
      assert.deepEqual(nat['U1 create in u1'], [1000, 1000, '0o644']);
      assert.equal(nat['U1 write suid'], '0o755');
      assert.deepEqual(fuse, nat, r.stderr);
    } finally {
      await unmountFs(m);
    }
  });
}

const IDS = String.raw`
import os, sys, json, stat, errno, subprocess
r = sys.argv[1]
seen = set()
res = {}
for dp, dns, fns in os.walk(r):
    for n in dns + fns:
        st = os.lstat(os.path.join(dp, n))
        res[os.path.relpath(os.path.join(dp, n), r)] = [st.st_uid, st.st_gid]
# statx (coreutils stat asks for the birth time, which makes the kernel send FUSE_STATX)
sx = subprocess.run(['stat', '-c', '%n %u %g %W', *[os.path.join(r, n) for n in sorted(os.listdir(r))]], capture_output=True, text=True)
res['statx'] = [' '.join(l.split(' ')[1:3]) for l in sx.stdout.strip().split('\n')]
acl = subprocess.run(['getfacl', '-n', '-p', os.path.join(r, 'acl')], capture_output=True, text=True)
res['acl'] = [l for l in acl.stdout.split('\n') if l and not l.startswith('#')] or acl.stderr.strip()
print(json.dumps(res))
`;

test('uid/gid mapping (1000:2000:10 for both): attributes mapped, creations and chown mapped back, no host id leaks', async () => {
  const src = tmpdir();
  const own = (n: string, uid: number, gid: number, mode = 0o644): void => {
    fs.writeFileSync(path.join(src, n), n);
    fs.chownSync(path.join(src, n), uid, gid);
    fs.chmodSync(path.join(src, n), mode);
  };
  own('root', 0, 0);
  own('u1000', 1000, 1000, 0o600);
  own('u1005', 1005, 1009);
  own('u1500', 1500, 1500);
  own('acl', 1000, 1000);
  const setfacl = pySync(`import subprocess,sys; print(subprocess.run(['setfacl','-m','u:1003:r,g:1004:r',sys.argv[1]]).returncode)`, [path.join(src, 'acl')]);
  assert.equal(setfacl.stdout.trim(), '0');
  fs.mkdirSync(path.join(src, 'shared'));
  fs.chmodSync(path.join(src, 'shared'), 0o777);
  const m = await mountPassthrough(src, { uidmapping: '1000:2000:10', gidmapping: '1000:2000:10' }, { allowOther: true });
  try {
    const ids = JSON.parse((await py(IDS, [m.dir], { timeout: 20_000 })).stdout) as Record<string, unknown>;
    assert.deepEqual(ids.root, [65534, 65534], 'host root is unmapped: the overflow id');
    assert.deepEqual(ids.u1000, [2000, 2000]);
    assert.deepEqual(ids.u1005, [2005, 2009]);
    assert.deepEqual(ids.u1500, [65534, 65534]);
    assert.deepEqual(ids.statx, ['2000 2000', '65534 65534', '65534 65534', '2000 2000', '2005 2009', '65534 65534']);
    // Every id visible is a client id or the overflow id.
    for (const [k, v] of Object.entries(ids)) {
      if (!Array.isArray(v) || typeof v[0] !== 'number') continue;
      for (const id of v as number[]) assert.ok(id === 65534 || (id >= 2000 && id < 2010), `${k}: id ${id} is a host id`);
    }
    // Client uid 2000 (host 1000) reads host-1000's private file and creates files owned by host 1000.
    const u = await py(String.raw`
import os, sys, json, errno
r = sys.argv[1]
out = {}
try:
    out['read u1000'] = open(r + '/u1000').read()
except OSError as e:
    out['read u1000'] = errno.errorcode[e.errno]
fd = os.open(r + '/shared/by2000', os.O_WRONLY | os.O_CREAT, 0o644)
os.close(fd)
st = os.stat(r + '/shared/by2000')
out['created'] = [st.st_uid, st.st_gid]
try:
    os.chown(r + '/shared/by2000', 2000, 2003)
    out['chgrp to 2003'] = 'ok'
except OSError as e:
    out['chgrp to 2003'] = errno.errorcode[e.errno]
print(json.dumps(out))
`, [m.dir], { uid: 2000, gid: 2000, timeout: 20_000 });
    const uo = JSON.parse(u.stdout) as Record<string, unknown>;
    assert.equal(uo['read u1000'], 'u1000');
    assert.deepEqual(uo.created, [2000, 2000]);
    assert.equal(uo['chgrp to 2003'], 'EPERM', 'not a member of 2003 (host 1003)');
    assert.equal(fs.statSync(path.join(src, 'shared', 'by2000')).uid, 1000);
    assert.equal(fs.statSync(path.join(src, 'shared', 'by2000')).gid, 1000);
    // Client uid 1000 is unmapped (host overflow id): no access to host 1000's private file.
    const u1000 = await py(`
import sys, errno
try:
    open(sys.argv[1] + '/u1000').read(); print('read')
except OSError as e:
    print(errno.errorcode[e.errno])
`, [m.dir], { uid: 1000, gid: 1000, timeout: 10_000 });
    assert.equal(u1000.stdout.trim(), 'EACCES');
    // Root (client 0) is unmapped too; chown to client ids lands on host ids.
    const rootChown = await py(String.raw`
import os, sys, errno
p = sys.argv[1] + '/shared/by2000'
try:
    os.chown(p, 2003, 2004); print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])
`, [m.dir], { timeout: 10_000 });
    // Host root acts as the overflow id (65534) here: it may not chown. Run it again as client 2000's owner instead.
    if (rootChown.stdout.trim() === 'ok') {
      assert.equal(fs.statSync(path.join(src, 'shared', 'by2000')).uid, 1003);
      assert.equal(fs.statSync(path.join(src, 'shared', 'by2000')).gid, 1004);
    } else {
      assert.equal(rootChown.stdout.trim(), 'EPERM');
    }
  } finally {
    await unmountFs(m);
  }
});

test('uid mapping 0:1000:1 (host root appears as 1000): root-owned files show as 1000, client 1000 acts as host root, client root as the overflow id', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'rootfile'), 'root data');
  fs.chmodSync(path.join(src, 'rootfile'), 0o600);
  fs.writeFileSync(path.join(src, 'u1000file'), 'x');
  fs.chownSync(path.join(src, 'u1000file'), 1000, 1000);
  const m = await mountPassthrough(src, { uidmapping: '0:1000:1', gidmapping: '0:1000:1' }, { allowOther: true });
  try {
    const st = await py(`import os,sys,json; print(json.dumps({n: [os.stat(sys.argv[1]+'/'+n).st_uid, os.stat(sys.argv[1]+'/'+n).st_gid] for n in ['rootfile','u1000file','.']}))`, [m.dir], { uid: 1000, gid: 1000 });
    assert.deepEqual(JSON.parse(st.stdout), { rootfile: [1000, 1000], u1000file: [65534, 65534], '.': [1000, 1000] });
    const asU = await py(String.raw`
import os, sys, json
r = sys.argv[1]
out = {'read rootfile': open(r + '/rootfile').read()}
with open(r + '/new', 'w') as f:
    f.write('x')
out['new'] = [os.stat(r + '/new').st_uid, os.stat(r + '/new').st_gid]
print(json.dumps(out))
`, [m.dir], { uid: 1000, gid: 1000, timeout: 10_000 });
    assert.deepEqual(JSON.parse(asU.stdout), { 'read rootfile': 'root data', new: [1000, 1000] }, asU.stderr);
    assert.equal(fs.statSync(path.join(src, 'new')).uid, 0, 'client 1000 creates as host root');
    // Client root is not mapped: it is the overflow id on the host, and cannot read host root's private file.
    const asRoot = await py(`
import sys, errno
try:
    open(sys.argv[1] + '/rootfile').read(); print('read')
except OSError as e:
    print(errno.errorcode[e.errno])
`, [m.dir], { timeout: 10_000 });
    assert.equal(asRoot.stdout.trim(), 'EACCES');
  } finally {
    await unmountFs(m);
  }
});

// The same scenario run natively as uid 1000 on the source, and through a
// mount that uid 1000 made with fusermount3 (its daemon runs as uid 1000).
const NONROOT = PY_E + String.raw`
r = sys.argv[1]
E('read rootonly', lambda: open(r + '/rootonly').read())
E('write rootonly', lambda: open(r + '/rootonly', 'w'))
E('list root700', lambda: os.listdir(r + '/root700'))
E('stat root700/f', lambda: os.stat(r + '/root700/f'))
E('chown own to 0', os.chown, r + '/mine', 0, 0)
E('chown own to 1001', os.chown, r + '/mine', 1001, -1)
E('chgrp own to 0', os.chown, r + '/mine', -1, 0)
E('chmod rootpub', os.chmod, r + '/rootpub', 0o666)
E('chown rootpub', os.chown, r + '/rootpub', 1000, 1000)
E('utime rootpub', os.utime, r + '/rootpub', (1, 1))
E('unlink rootpub (dir is ours)', lambda: os.stat(r + '/rootpub').st_uid)
E('mknod char device', os.mknod, r + '/dev', 0o20644, os.makedev(1, 3))
E('mknod block device', os.mknod, r + '/bdev', 0o60644, os.makedev(7, 0))
E('setxattr trusted', os.setxattr, r + '/mine', 'trusted.x', b'1')
E('setxattr security', os.setxattr, r + '/mine', 'security.x', b'1')
E('hard link to rootonly', os.link, r + '/rootonly', r + '/stolen')
E('chmod own setuid', lambda: (os.chmod(r + '/mine', 0o4755), oct(stat.S_IMODE(os.stat(r + '/mine').st_mode)))[1])
E('chmod own setgid to a foreign group file', lambda: (os.chmod(r + '/foreigngroup', 0o2755), oct(stat.S_IMODE(os.stat(r + '/foreigngroup').st_mode)))[1])
E('create', lambda: (open(r + '/created', 'w').close(), [os.stat(r + '/created').st_uid, os.stat(r + '/created').st_gid])[1])
print(json.dumps(out))
`;

function nonRootSource(): string {
  const src = tmpdir();
  fs.chownSync(src, 1000, 1000);
  fs.writeFileSync(path.join(src, 'rootonly'), 'secret');
  fs.chmodSync(path.join(src, 'rootonly'), 0o600);
  fs.writeFileSync(path.join(src, 'rootpub'), 'pub');
  fs.mkdirSync(path.join(src, 'root700'));
  fs.chmodSync(path.join(src, 'root700'), 0o700);
  fs.writeFileSync(path.join(src, 'root700', 'f'), 'f');
  fs.writeFileSync(path.join(src, 'mine'), 'mine');
  fs.chownSync(path.join(src, 'mine'), 1000, 1000);
  fs.writeFileSync(path.join(src, 'foreigngroup'), 'fg');
  fs.chownSync(path.join(src, 'foreigngroup'), 1000, 0);
  return src;
}

test('a non-root daemon (uid 1000, fusermount3) gains nothing its user did not have', () => withUserFuseDevice(async () => {
  const native = nonRootSource();
  const nat = JSON.parse((await py(NONROOT, [native], { uid: 1000, gid: 1000, timeout: 20_000 })).stdout) as Record<string, unknown>;
  assert.equal(nat['read rootonly'], 'EACCES');
  assert.equal(nat['chown own to 0'], 'EPERM');
  assert.equal(nat['mknod char device'], 'EPERM');
  const src = nonRootSource();
  const d = await startChildDaemon({ fs: 'passthrough', options: { source: src } }, { uid: 1000, gid: 1000 });
  try {
    assert.equal(d.mode, 'no-passthrough', 'kernel passthrough needs CAP_SYS_ADMIN: a user daemon falls back');
    const r = await py(NONROOT, [d.dir], { uid: 1000, gid: 1000, timeout: 20_000 });
    const fuse = JSON.parse(r.stdout || '{}') as Record<string, unknown>;
    // Device nodes need CAP_MKNOD on the host, which the daemon (uid 1000) lacks: EPERM, as natively.
    assert.deepEqual(fuse, nat, r.stderr);
    // Nobody else, root included, can use a user's mount without allow_other/allow_root.
    assert.throws(() => fs.readdirSync(d.dir), { code: 'EACCES' });
    // The host side: nothing changed owner, nothing was created but what the user could create.
    assert.equal(fs.statSync(path.join(src, 'mine')).uid, 1000);
    assert.equal(fs.statSync(path.join(src, 'rootpub')).mode & 0o777, 0o644);
    assert.ok(!fs.existsSync(path.join(src, 'dev')) && !fs.existsSync(path.join(src, 'stolen')));
    d.proc.kill('SIGTERM');
    assert.equal((await d.exited).code, 0, d.output());
    assert.ok(!isMounted(d.dir));
  } finally {
    await d.cleanup();
  }
}));
