// The POSIX behaviour corpus: small, independent cases, each a python3
// script run in a child process (as root; it forks children that take on
// other users' identities where the case needs them). posix.test.ts runs every
// case twice — in a fresh subdirectory of a plain temporary directory (native)
// and in a fresh subdirectory of a tsfuse passthrough mount — and asserts the
// same JSON outcome, and that the native outcome is the one the case expects.
//
// A case's script runs with its own directory as the current directory and
// must only print relative, comparable facts (no inode numbers, device
// numbers, absolute paths or wall-clock times): it fills the dict `out`.
//
// `fuse` records a difference FUSE itself cannot avoid: the outcome through
// the mount is then asserted to be exactly the documented one (and to differ
// from native, so the note cannot go stale silently).

/**
 * default: no default_permissions; dp: default_permissions; nopt: no kernel
 * passthrough (data through the daemon); wb: writeback cache.
 */
export type MountConfig = 'default' | 'dp' | 'nopt' | 'wb' | 'byname';

export interface Case {
  name: string;
  /** Python, dedented by the runner. Helpers: see PREAMBLE. */
  py: string;
  /** Outcome the native run must have (every key listed must match). */
  expect: Record<string, unknown>;
  /** Documented differences through the mount, per configuration: key → outcome through FUSE. */
  fuse?: Partial<Record<MountConfig, Record<string, unknown>>> & { why: string };
  timeoutMs?: number;
}

export const PREAMBLE = String.raw`
import os, sys, json, errno, stat, ctypes, fcntl, mmap, time, struct, socket, signal, subprocess
libc = ctypes.CDLL(None, use_errno=True)
out = {}
os.umask(0o022)
def _json_default(o):
    if isinstance(o, (bytes, bytearray)):
        return bytes(o).decode('latin-1')
    return repr(o)
U1 = (1000, 1000, [1000])
U2 = (1001, 1001, [1001, 2000])
U3 = (1002, 1002, [1002])
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_EMPTY_PATH = 0x1000
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2

def en(e):
    return errno.errorcode.get(e, str(e))

def T(f, *a, **k):
    """'ok' or the errno name."""
    try:
        f(*a, **k)
        return 'ok'
    except OSError as e:
        return en(e.errno)

def V(f, *a, **k):
    """The value, or the errno name."""
    try:
        return f(*a, **k)
    except OSError as e:
        return en(e.errno)

def cerr(r):
    return 'ok' if r == 0 else en(ctypes.get_errno())

def B(s):
    return s.encode() if isinstance(s, str) else s

def as_user(u, f):
    """Runs f in a forked child as user u = (uid, gid, groups) (None: as we are); returns its JSON-able result or errno name."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            if u is not None:
                os.setgroups(u[2]); os.setgid(u[1]); os.setuid(u[0])
            s = json.dumps({'v': f()})
        except OSError as e:
            s = json.dumps({'v': en(e.errno)})
        except BaseException as e:
            s = json.dumps({'exc': repr(e)})
        os.write(w, s.encode())
        os._exit(0)
    os.close(w)
    data = b''
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        data += b
    os.close(r)
    os.waitpid(pid, 0)
    d = json.loads(data)
    if 'exc' in d:
        raise RuntimeError('in child: ' + d['exc'])
    return d['v']

def mode(p):
    try:
        return '%o' % (os.lstat(p).st_mode & 0o7777)
    except OSError as e:
        return en(e.errno)

def ftype(p, follow=False):
    try:
        m = (os.stat(p) if follow else os.lstat(p)).st_mode
    except OSError as e:
        return en(e.errno)
    for name, t in (('reg', stat.S_ISREG), ('dir', stat.S_ISDIR), ('lnk', stat.S_ISLNK), ('fifo', stat.S_ISFIFO),
                    ('chr', stat.S_ISCHR), ('blk', stat.S_ISBLK), ('sock', stat.S_ISSOCK)):
        if t(m):
            return name
    return '?'

def own(p):
    try:
        s = os.lstat(p)
        return [s.st_uid, s.st_gid]
    except OSError as e:
        return en(e.errno)

def nlink(p):
    return V(lambda: os.lstat(p).st_nlink)

def size(p):
    return V(lambda: os.lstat(p).st_size)

def rd(p, n=1 << 20):
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError as e:
        return en(e.errno)
    try:
        return os.read(fd, n).decode('latin-1')
    except OSError as e:
        return en(e.errno)
    finally:
        os.close(fd)

def wr(p, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, m=0o644):
    try:
        fd = os.open(p, flags, m)
    except OSError as e:
        return en(e.errno)
    try:
        os.write(fd, B(data))
        return 'ok'
    except OSError as e:
        return en(e.errno)
    finally:
        os.close(fd)

def mk(p, data='', m=None):
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, B(data))
    os.close(fd)
    if m is not None:
        os.chmod(p, m)

libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
def rename2(a, b, flags):
    return cerr(libc.renameat2(AT_FDCWD, B(a), AT_FDCWD, B(b), flags))

libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
def falloc(fd, m, off, ln):
    return cerr(libc.fallocate(fd, m, off, ln))

class timespec(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_nsec', ctypes.c_long)]
libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
def utimens(p, a, m, flags=0):
    ts = (timespec * 2)(timespec(*a), timespec(*m))
    return cerr(libc.utimensat(AT_FDCWD, B(p), ts, flags))

def times(p):
    s = os.lstat(p)
    return {'a': s.st_atime_ns, 'm': s.st_mtime_ns, 'c': s.st_ctime_ns}

libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.getxattr.restype = ctypes.c_ssize_t
libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.listxattr.restype = ctypes.c_ssize_t
def gx(p, name, size):
    """getxattr with a buffer of exactly size bytes (0: the size probe)."""
    buf = ctypes.create_string_buffer(size) if size else None
    r = libc.getxattr(B(p), B(name), buf, size)
    if r < 0:
        return en(ctypes.get_errno())
    return r if size == 0 else buf.raw[:r].decode('latin-1')
def lx(p, size):
    buf = ctypes.create_string_buffer(size) if size else None
    r = libc.listxattr(B(p), buf, size)
    if r < 0:
        return en(ctypes.get_errno())
    return r if size == 0 else sorted(x.decode() for x in buf.raw[:r].split(b'\0') if x)
def userx(p):
    """The user.* and trusted.* names only (security.* may be added by the host)."""
    try:
        return sorted(n for n in os.listxattr(p, follow_symlinks=False) if n.startswith(('user.', 'trusted.')))
    except OSError as e:
        return en(e.errno)

class statx_t(ctypes.Structure):
    _fields_ = [('mask', ctypes.c_uint32), ('blksize', ctypes.c_uint32), ('attributes', ctypes.c_uint64),
                ('nlink', ctypes.c_uint32), ('uid', ctypes.c_uint32), ('gid', ctypes.c_uint32), ('mode', ctypes.c_uint16),
                ('pad1', ctypes.c_uint16), ('ino', ctypes.c_uint64), ('size', ctypes.c_uint64), ('blocks', ctypes.c_uint64),
                ('attributes_mask', ctypes.c_uint64), ('atime', ctypes.c_int64 * 2), ('btime', ctypes.c_int64 * 2),
                ('ctime', ctypes.c_int64 * 2), ('mtime', ctypes.c_int64 * 2), ('rest', ctypes.c_uint64 * 16)]
def statx(p, mask, flags=AT_SYMLINK_NOFOLLOW):
    b = statx_t()
    r = libc.statx(AT_FDCWD, B(p), flags, mask, ctypes.byref(b))
    if r != 0:
        return en(ctypes.get_errno())
    return b

def lockpid(fd, typ=fcntl.F_WRLCK, start=0, ln=0, cmd=fcntl.F_GETLK):
    """F_GETLK: (type, pid) of a conflicting lock, or F_UNLCK."""
    arg = struct.pack('hhqqi', typ, 0, start, ln, 0)
    r = fcntl.fcntl(fd, cmd, arg)
    t, _, s, l, pid = struct.unpack('hhqqi', r)
    return t, pid
`;

export const CASES: Case[] = [
  // ---------------------------------------------------------------------------
  // Permissions and ownership as non-root callers
  {
    name: 'sticky directory: only the owner of the file or of the directory may remove it',
    py: String.raw`
      os.mkdir('s'); os.chmod('s', 0o1777)
      out['u1_create'] = as_user(U1, lambda: wr('s/f1', 'x'))
      out['u2_unlink'] = as_user(U2, lambda: T(os.unlink, 's/f1'))
      out['u2_rename'] = as_user(U2, lambda: T(os.rename, 's/f1', 's/g'))
      out['u2_rename_over'] = as_user(U2, lambda: (wr('s/f2', 'y'), T(os.rename, 's/f2', 's/f1'))[1])
      out['u2_write_ok'] = as_user(U2, lambda: wr('s/f1', 'z', os.O_WRONLY))
      out['u1_unlink'] = as_user(U1, lambda: T(os.unlink, 's/f1'))
      out['left'] = sorted(os.listdir('s'))
    `,
    expect: { u1_create: 'ok', u2_unlink: 'EPERM', u2_rename: 'EPERM', u2_rename_over: 'EPERM', u2_write_ok: 'EACCES', u1_unlink: 'ok', left: ['f2'] },
  },
  {
    name: 'sticky directory: the directory owner may remove others\' files',
    py: String.raw`
      os.mkdir('s'); os.chmod('s', 0o1777); os.chown('s', 1001, 1001)
      as_user(U1, lambda: wr('s/f', 'x'))
      out['u3_unlink'] = as_user(U3, lambda: T(os.unlink, 's/f'))
      out['u2_unlink'] = as_user(U2, lambda: T(os.unlink, 's/f'))
      as_user(U1, lambda: os.mkdir('s/d'))
      out['u3_rmdir'] = as_user(U3, lambda: T(os.rmdir, 's/d'))
      out['root_rmdir'] = T(os.rmdir, 's/d')
    `,
    expect: { u3_unlink: 'EPERM', u2_unlink: 'ok', u3_rmdir: 'EPERM', root_rmdir: 'ok' },
  },
  {
    name: 'chgrp by the owner: to a group it is in, not to others; chown by non-root refused',
    py: String.raw`
      mk('f'); os.chown('f', 1001, 1001)
      out['to_member_group'] = as_user(U2, lambda: T(os.chown, 'f', -1, 2000))
      out['own1'] = own('f')
      out['to_other_group'] = as_user(U2, lambda: T(os.chown, 'f', -1, 1000))
      out['give_away'] = as_user(U2, lambda: T(os.chown, 'f', 1000, -1))
      out['same_uid'] = as_user(U2, lambda: T(os.chown, 'f', 1001, -1))
      out['both_same'] = as_user(U2, lambda: T(os.chown, 'f', 1001, 1001))
      out['noop'] = as_user(U2, lambda: T(os.chown, 'f', -1, -1))
      out['non_owner_chgrp'] = as_user(U1, lambda: T(os.chown, 'f', -1, 1000))
      out['own2'] = own('f')
    `,
    expect: {
      to_member_group: 'ok', own1: [1001, 2000], to_other_group: 'EPERM', give_away: 'EPERM', same_uid: 'ok',
      both_same: 'ok', noop: 'ok', non_owner_chgrp: 'EPERM', own2: [1001, 1001],
    },
  },
  {
    name: 'chown as root: uid only, gid only, both, -1/-1',
    py: String.raw`
      mk('f')
      out['uid_only'] = T(os.chown, 'f', 1000, -1); out['a'] = own('f')
      out['gid_only'] = T(os.chown, 'f', -1, 2000); out['b'] = own('f')
      out['both'] = T(os.chown, 'f', 1001, 1001); out['c'] = own('f')
      out['none'] = T(os.chown, 'f', -1, -1); out['d'] = own('f')
      os.symlink('f', 'l')
      out['lchown'] = T(os.lchown, 'l', 1002, 1002); out['link'] = own('l'); out['target'] = own('f')
      out['dangling'] = (os.symlink('nowhere', 'l2'), T(os.chown, 'l2', 1000, 1000))[1]
    `,
    expect: { uid_only: 'ok', a: [1000, 0], gid_only: 'ok', b: [1000, 2000], both: 'ok', c: [1001, 1001], none: 'ok', d: [1001, 1001], lchown: 'ok', link: [1002, 1002], target: [1001, 1001], dangling: 'ENOENT' },
  },
  {
    name: 'setgid directory: files and subdirectories take its group, subdirectories keep sgid',
    py: String.raw`
      os.mkdir('g'); os.chown('g', 0, 2000); os.chmod('g', 0o2777)
      out['file'] = as_user(U1, lambda: (wr('g/f', 'x'), own('g/f'), mode('g/f'))[1:])
      out['dir'] = as_user(U1, lambda: (os.mkdir('g/s'), own('g/s'), mode('g/s'))[1:])
      out['nested'] = as_user(U1, lambda: (os.mkdir('g/s/t'), own('g/s/t'), mode('g/s/t'))[1:])
      out['fifo'] = as_user(U1, lambda: (os.mkfifo('g/p'), own('g/p'))[1])
      out['symlink'] = as_user(U1, lambda: (os.symlink('f', 'g/l'), own('g/l'))[1])
      out['root_file'] = (mk('g/r'), own('g/r'))[1]
    `,
    expect: {
      file: [[1000, 2000], '644'], dir: [[1000, 2000], '2755'], nested: [[1000, 2000], '2755'], fifo: [1000, 2000],
      symlink: [1000, 2000], root_file: [0, 2000],
    },
  },
  {
    name: 'setgid bit requested at creation: dropped for a non-member in a setgid dir, kept for a member; mkdir ignores it',
    py: String.raw`
      os.mkdir('g'); os.chown('g', 0, 2000); os.chmod('g', 0o2777)
      out['nonmember'] = as_user(U1, lambda: (os.close(os.open('g/a', os.O_CREAT | os.O_WRONLY, 0o2755)), mode('g/a'))[1])
      out['member'] = as_user(U2, lambda: (os.close(os.open('g/b', os.O_CREAT | os.O_WRONLY, 0o2755)), mode('g/b'))[1])
      os.mkdir('p'); os.chmod('p', 0o777)
      out['own_group'] = as_user(U1, lambda: (os.close(os.open('p/c', os.O_CREAT | os.O_WRONLY, 0o2755)), mode('p/c'))[1])
      out['mkdir_sgid'] = as_user(U1, lambda: (os.mkdir('p/d', 0o2755), mode('p/d'))[1])
    `,
    expect: { nonmember: '755', member: '2755', own_group: '2755', mkdir_sgid: '755' },
  },
  {
    name: 'chmod g+s by the owner who is not in the file\'s group: sgid silently dropped',
    py: String.raw`
      mk('f'); os.chown('f', 1000, 2000)
      out['chmod'] = as_user(U1, lambda: T(os.chmod, 'f', 0o2755))
      out['mode'] = mode('f')
      out['member'] = (os.chown('f', 1001, 2000), as_user(U2, lambda: T(os.chmod, 'f', 0o2755)), mode('f'))[1:]
      out['non_owner'] = as_user(U1, lambda: T(os.chmod, 'f', 0o777))
      out['dir'] = (os.mkdir('d'), os.chown('d', 1000, 2000), as_user(U1, lambda: T(os.chmod, 'd', 0o2755)), mode('d'))[2:]
    `,
    expect: { chmod: 'ok', mode: '755', member: ['ok', '2755'], non_owner: 'EPERM', dir: ['ok', '755'] },
  },
  {
    name: 'suid/sgid cleared when another user writes, kept when root writes',
    py: String.raw`
      mk('f', 'data'); os.chmod('f', 0o6777)
      out['root_write'] = (wr('f', 'x', os.O_WRONLY), mode('f'))
      out['u1_write'] = as_user(U1, lambda: wr('f', 'y', os.O_WRONLY))
      out['after'] = mode('f')
      mk('g', 'data'); os.chmod('g', 0o6767)
      as_user(U1, lambda: wr('g', 'y', os.O_WRONLY))
      out['sgid_without_gx'] = mode('g')
      mk('h', 'data'); os.chmod('h', 0o4777); os.chown('h', 1000, 1000)
      as_user(U1, lambda: wr('h', 'y', os.O_WRONLY))
      out['owner_write'] = mode('h')
      mk('t', 'data'); os.chmod('t', 0o6777)
      out['otrunc_by_other'] = (as_user(U1, lambda: wr('t', '', os.O_WRONLY | os.O_TRUNC)), mode('t'), size('t'))
      out['content'] = rd('f')
    `,
    expect: { root_write: ['ok', '6777'], u1_write: 'ok', after: '777', sgid_without_gx: '767', owner_write: '777', content: 'yata', otrunc_by_other: ['ok', '777', 0] },
  },
  {
    name: 'suid/sgid cleared by truncate of another user and by chown',
    py: String.raw`
      mk('f', 'data'); os.chmod('f', 0o6777)
      out['u1_truncate'] = as_user(U1, lambda: T(os.truncate, 'f', 1))
      out['a'] = mode('f')
      mk('g', 'data'); os.chmod('g', 0o6755)
      out['chown'] = T(os.chown, 'g', 1000, 1000); out['b'] = mode('g')
      mk('h', 'data'); os.chmod('h', 0o6745); os.chown('h', 1001, 1001)
      out['chgrp_by_owner'] = as_user(U2, lambda: T(os.chown, 'h', -1, 2000)); out['c'] = mode('h')
      os.mkdir('d'); os.chmod('d', 0o6755)
      out['dir_chown'] = (os.chown('d', 1000, 1000), mode('d'))[1]
    `,
    expect: { u1_truncate: 'ok', a: '777', chown: 'ok', b: '755', chgrp_by_owner: 'ok', c: '2745', dir_chown: '6755' },
  },
  {
    name: 'access() as other users, with supplementary groups; root and X_OK',
    py: String.raw`
      mk('f'); os.chown('f', 0, 2000); os.chmod('f', 0o640)
      out['u2_r'] = as_user(U2, lambda: os.access('f', os.R_OK))
      out['u2_w'] = as_user(U2, lambda: os.access('f', os.W_OK))
      out['u1_r'] = as_user(U1, lambda: os.access('f', os.R_OK))
      out['u1_f'] = as_user(U1, lambda: os.access('f', os.F_OK))
      out['root_x'] = os.access('f', os.X_OK)
      out['root_w'] = os.access('f', os.W_OK)
      os.chmod('f', 0o641)
      out['root_x2'] = os.access('f', os.X_OK)
      mk('o'); os.chown('o', 1000, 1000); os.chmod('o', 0o077)
      out['owner_class_first'] = as_user(U1, lambda: os.access('o', os.R_OK))
      out['u1_x_dir'] = (os.mkdir('d', 0o700), as_user(U1, lambda: os.access('d', os.X_OK)))[1]
      out['through_unsearchable'] = (mk('d/f'), as_user(U1, lambda: T(os.stat, 'd/f')))[1]
    `,
    expect: {
      u2_r: true, u2_w: false, u1_r: false, u1_f: true, root_x: false, root_w: true, root_x2: true,
      owner_class_first: false, u1_x_dir: false, through_unsearchable: 'EACCES',
    },
  },
  {
    name: 'read, write, list, create, rename and unlink denied by modes',
    py: String.raw`
      mk('f', 'secret'); os.chmod('f', 0o600)
      out['read'] = as_user(U1, lambda: rd('f'))
      out['write'] = as_user(U1, lambda: wr('f', 'x', os.O_WRONLY))
      out['rdwr'] = as_user(U1, lambda: wr('f', 'x', os.O_RDWR))
      os.mkdir('d', 0o700); mk('d/x')
      out['list'] = as_user(U1, lambda: V(os.listdir, 'd'))
      os.chmod('d', 0o711)
      out['list_711'] = as_user(U1, lambda: V(os.listdir, 'd'))
      out['stat_711'] = as_user(U1, lambda: T(os.stat, 'd/x'))
      os.chmod('d', 0o755)
      out['create'] = as_user(U1, lambda: wr('d/new', 'x'))
      out['mkdir'] = as_user(U1, lambda: T(os.mkdir, 'd/nd'))
      out['rename'] = as_user(U1, lambda: T(os.rename, 'd/x', 'd/y'))
      out['unlink'] = as_user(U1, lambda: T(os.unlink, 'd/x'))
      out['symlink'] = as_user(U1, lambda: T(os.symlink, 'x', 'd/l'))
      out['link'] = as_user(U1, lambda: T(os.link, 'f', 'd/h'))
      out['mkfifo'] = as_user(U1, lambda: T(os.mkfifo, 'd/p'))
      out['left'] = sorted(os.listdir('d'))
      os.chmod('f', 0o644)
      out['read_644'] = as_user(U1, lambda: rd('f'))
      out['trunc_644'] = as_user(U1, lambda: T(os.truncate, 'f', 0))
      out['otrunc_rdonly'] = as_user(U1, lambda: wr('f', '', os.O_RDONLY | os.O_TRUNC))
      out['unchanged'] = rd('f')
      mk('w', 'writable'); os.chmod('w', 0o666)
      out['trunc_by_writer'] = (as_user(U1, lambda: T(os.truncate, 'w', 3)), rd('w'), own('w'))
    `,
    expect: {
      read: 'EACCES', write: 'EACCES', rdwr: 'EACCES', list: 'EACCES', list_711: 'EACCES', stat_711: 'ok',
      create: 'EACCES', mkdir: 'EACCES', rename: 'EACCES', unlink: 'EACCES', symlink: 'EACCES', link: 'EPERM',
      mkfifo: 'EACCES', left: ['x'], read_644: 'secret', trunc_644: 'EACCES', otrunc_rdonly: 'EACCES', unchanged: 'secret',
      trunc_by_writer: ['ok', 'wri', [0, 0]],
    },
  },
  {
    name: 'moving a directory to another parent needs write permission on the directory itself',
    py: String.raw`
      os.mkdir('a'); os.mkdir('b'); os.chmod('a', 0o777); os.chmod('b', 0o777); os.mkdir('a/sub', 0o755)
      out['other_parent'] = as_user(U1, lambda: T(os.rename, 'a/sub', 'b/sub'))
      out['same_parent'] = as_user(U1, lambda: T(os.rename, 'a/sub', 'a/sub2'))
      os.chown('a/sub2', 1000, 1000)
      out['own_dir'] = as_user(U1, lambda: T(os.rename, 'a/sub2', 'b/sub'))
      out['layout'] = [sorted(os.listdir('a')), sorted(os.listdir('b'))]
    `,
    expect: { other_parent: 'EACCES', same_parent: 'ok', own_dir: 'ok', layout: [[], ['sub']] },
  },
  {
    name: 'group and owner classes: supplementary groups grant access, the owner class is exclusive',
    py: String.raw`
      mk('g', 'G'); os.chown('g', 0, 2000); os.chmod('g', 0o070)
      out['member_reads'] = as_user(U2, lambda: rd('g'))
      out['other_denied'] = as_user(U1, lambda: rd('g'))
      mk('o', 'O'); os.chown('o', 1000, 1000); os.chmod('o', 0o077)
      out['owner_denied'] = as_user(U1, lambda: rd('o'))
      out['other_reads'] = as_user(U2, lambda: rd('o'))
      mk('p', 'P'); os.chown('p', 0, 1000); os.chmod('p', 0o604)
      out['group_denied_before_other'] = as_user(U1, lambda: rd('p'))
    `,
    expect: { member_reads: 'G', other_denied: 'EACCES', owner_denied: 'EACCES', other_reads: 'O', group_denied_before_other: 'EACCES' },
  },
  {
    name: 'utimes: anyone with write permission may set now, only the owner explicit times',
    py: String.raw`
      mk('f'); os.chmod('f', 0o666)
      out['now_by_writer'] = as_user(U1, lambda: T(os.utime, 'f', None))
      out['explicit_by_writer'] = as_user(U1, lambda: T(os.utime, 'f', (1, 1)))
      out['omit_now'] = as_user(U1, lambda: utimens('f', (0, UTIME_OMIT), (0, UTIME_NOW)))
      os.chmod('f', 0o644)
      out['now_by_reader'] = as_user(U1, lambda: T(os.utime, 'f', None))
      os.chown('f', 1000, 1000); os.chmod('f', 0o444)
      out['owner_now_without_write'] = as_user(U1, lambda: T(os.utime, 'f', None))
      out['owner_explicit'] = as_user(U1, lambda: T(os.utime, 'f', (5, 6)))
      out['t'] = [os.stat('f').st_atime, os.stat('f').st_mtime]
    `,
    fuse: {
      why: 'writeback cache: the kernel replaces UTIME_NOW for mtime by its own clock and sends it like its own timestamp flushes (mtime and ctime, no atime), which must succeed for any writer; so UTIME_NOW for mtime alone by a non-owner writer cannot be refused as natively',
      wb: { omit_now: 'ok' },
    },
    expect: { now_by_writer: 'ok', explicit_by_writer: 'EPERM', omit_now: 'EPERM', now_by_reader: 'EACCES', owner_now_without_write: 'ok', owner_explicit: 'ok', t: [5, 6] },
  },
  {
    name: 'O_NOATIME is refused to non-owners',
    py: String.raw`
      mk('f', 'x'); os.chmod('f', 0o644)
      out['non_owner'] = as_user(U1, lambda: T(lambda: os.close(os.open('f', os.O_RDONLY | os.O_NOATIME))))
      os.chown('f', 1000, 1000)
      out['owner'] = as_user(U1, lambda: T(lambda: os.close(os.open('f', os.O_RDONLY | os.O_NOATIME))))
      out['root'] = T(lambda: os.close(os.open('f', os.O_RDONLY | os.O_NOATIME)))
    `,
    expect: { non_owner: 'EPERM', owner: 'ok', root: 'ok' },
  },
  {
    name: 'hard links to others\' files are protected (fs.protected_hardlinks=1)',
    py: String.raw`
      mk('f'); os.chmod('f', 0o600)
      os.mkdir('d'); os.chmod('d', 0o777)
      out['u1_link_unreadable'] = as_user(U1, lambda: T(os.link, 'f', 'd/l'))
      os.chmod('f', 0o666)
      out['u1_link_rw'] = as_user(U1, lambda: T(os.link, 'f', 'd/l'))
      mk('mine'); os.chown('mine', 1000, 1000); os.chmod('mine', 0o600)
      out['u1_link_own'] = as_user(U1, lambda: T(os.link, 'mine', 'd/m'))
    `,
    expect: { u1_link_unreadable: 'EPERM', u1_link_rw: 'ok', u1_link_own: 'ok' },
  },
  {
    name: 'ACLs: a named-user entry grants access; a default ACL replaces the umask',
    py: String.raw`
      mk('f', 'acl'); os.chmod('f', 0o600)
      out['before'] = as_user(U1, lambda: rd('f'))
      subprocess.run(['setfacl', '-m', 'u:1000:r', 'f'], check=True)
      out['mode'] = mode('f')
      out['after'] = as_user(U1, lambda: rd('f'))
      out['u2'] = as_user(U2, lambda: rd('f'))
      os.mkdir('d'); subprocess.run(['setfacl', '-d', '-m', 'u::rwx,g::rwx,o::rwx', 'd'], check=True)
      os.umask(0o077)
      out['inherit_file'] = (os.close(os.open('d/f', os.O_CREAT | os.O_WRONLY, 0o666)), mode('d/f'))[1]
      out['inherit_dir'] = (os.mkdir('d/s', 0o777), mode('d/s'))[1]
      out['plain_umask'] = (os.close(os.open('g', os.O_CREAT | os.O_WRONLY, 0o666)), mode('g'))[1]
    `,
    expect: { before: 'EACCES', mode: '640', after: 'acl', u2: 'EACCES', inherit_file: '666', inherit_dir: '777', plain_umask: '600' },
  },

  // ---------------------------------------------------------------------------
  // Open flags
  {
    name: 'O_APPEND writes at the end, also pwrite and after lseek',
    py: String.raw`
      mk('f', 'abc')
      fd = os.open('f', os.O_WRONLY | os.O_APPEND)
      os.lseek(fd, 0, os.SEEK_SET); os.write(fd, b'de')
      out['pos'] = os.lseek(fd, 0, os.SEEK_CUR)
      os.pwrite(fd, b'fg', 0)
      os.close(fd)
      fd = os.open('f', os.O_RDWR | os.O_APPEND)
      os.write(fd, b'h'); os.lseek(fd, 0, os.SEEK_SET); out['read_from_0'] = os.read(fd, 100).decode()
      os.close(fd)
      out['content'] = rd('f')
      fd = os.open('f', os.O_WRONLY)
      fl = fcntl.fcntl(fd, fcntl.F_GETFL); fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_APPEND)
      os.write(fd, b'i'); os.close(fd)
      out['setfl_append'] = rd('f')
    `,
    expect: { pos: 5, read_from_0: 'abcdefgh', content: 'abcdefgh', setfl_append: 'abcdefghi' },
  },
  {
    name: 'O_APPEND from two processes at once: every record lands whole, none overwritten',
    py: String.raw`
      mk('log')
      def appender(tag):
          def f():
              fd = os.open('log', os.O_WRONLY | os.O_APPEND)
              for i in range(500):
                  os.write(fd, b'%s%05d\n' % (tag, i))
              os.close(fd)
              return 'ok'
          return f
      pids = []
      for tag in (b'a', b'b', b'c'):
          pid = os.fork()
          if pid == 0:
              appender(tag)(); os._exit(0)
          pids.append(pid)
      for pid in pids:
          os.waitpid(pid, 0)
      lines = rd('log').split('\n')
      out['size'] = size('log')
      out['records'] = len([l for l in lines if l])
      out['intact'] = all(len(l) == 6 and l[0] in 'abc' for l in lines if l)
      out['per_writer_in_order'] = all([l for l in lines if l.startswith(t)] == ['%s%05d' % (t, i) for i in range(500)] for t in 'abc')
    `,
    expect: { size: 10500, records: 1500, intact: true, per_writer_in_order: true },
  },
  {
    name: 'exec: scripts and binaries run, no x bit is EACCES, writing a running binary is ETXTBSY',
    py: String.raw`
      mk('s.sh', '#!/bin/sh\necho ran $1\n', 0o755)
      out['script'] = subprocess.run(['./s.sh', 'ok'], capture_output=True).stdout.decode()
      mk('n.sh', '#!/bin/sh\necho no\n', 0o644)
      try:
          subprocess.run(['./n.sh']); out['noexec'] = 'ran'
      except PermissionError as e:
          out['noexec'] = en(e.errno)
      out['u1_script'] = as_user(U1, lambda: subprocess.run(['./s.sh', 'u1'], capture_output=True).stdout.decode())
      os.chmod('s.sh', 0o700)
      out['u1_denied'] = as_user(U1, lambda: [os.access('s.sh', os.X_OK), T(subprocess.run, ['./s.sh'])])
      data = open('/bin/sleep', 'rb').read()
      fd = os.open('sleep', os.O_WRONLY | os.O_CREAT, 0o755); os.write(fd, data); os.close(fd)
      p = subprocess.Popen(['./sleep', '5'])
      time.sleep(0.3)
      out['write_running'] = T(os.open, 'sleep', os.O_WRONLY)
      out['unlink_running'] = T(os.unlink, 'sleep')
      p.kill(); p.wait()
    `,
    expect: { script: 'ran ok\n', noexec: 'EACCES', u1_script: 'ran u1\n', u1_denied: [false, 'EACCES'], write_running: 'ETXTBSY', unlink_running: 'ok' },
  },
  {
    name: 'O_TRUNC empties; O_EXCL refuses existing names and symlinks; O_CREAT follows a dangling link',
    py: String.raw`
      mk('f', 'hello')
      out['trunc'] = (os.close(os.open('f', os.O_WRONLY | os.O_TRUNC)), size('f'))[1]
      out['excl_existing'] = T(os.open, 'f', os.O_WRONLY | os.O_CREAT | os.O_EXCL)
      os.symlink('target', 'l')
      out['excl_dangling'] = T(os.open, 'l', os.O_WRONLY | os.O_CREAT | os.O_EXCL)
      out['creat_dangling'] = (os.close(os.open('l', os.O_WRONLY | os.O_CREAT, 0o600)), ftype('target'), mode('target'))[1:]
      out['excl_new'] = (os.close(os.open('n', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)), mode('n'))[1]
      out['creat_existing_keeps_mode'] = (os.close(os.open('n', os.O_WRONLY | os.O_CREAT, 0o777)), mode('n'))[1]
      out['excl_dir'] = (os.mkdir('d'), T(os.open, 'd', os.O_RDONLY | os.O_CREAT | os.O_EXCL))[1]
      out['trunc_rdonly'] = (mk('g', 'xyz'), os.close(os.open('g', os.O_RDONLY | os.O_TRUNC)), size('g'))[2]
    `,
    expect: {
      trunc: 0, excl_existing: 'EEXIST', excl_dangling: 'EEXIST', creat_dangling: ['reg', '600'], excl_new: '640',
      creat_existing_keeps_mode: '640', excl_dir: 'EEXIST', trunc_rdonly: 0,
    },
  },
  {
    // 2 MiB: through the passthrough, such an O_TRUNC is made apart from the open.
    name: 'O_TRUNC of a large file: by a writer (times move), by a non-writer, read-only (by the owner, a writer, a reader, a non-reader), append-only fd, set-id files (by root, another user, in and outside the group, read-only, ftruncate)',
    py: String.raw`
      big = 'b' * (2 << 20)
      ro_trunc = lambda p: (os.close(os.open(p, os.O_RDONLY | os.O_TRUNC)), 'ok')[1]
      mk('f', big, 0o666); os.utime('f', (1000000000, 1000000000))
      out['by_writer'] = as_user(U1, lambda: wr('f', 'new', os.O_WRONLY | os.O_TRUNC))
      st = os.stat('f'); out['f'] = [rd('f'), st.st_mtime > 1000000000, st.st_ctime > 1000000000]
      mk('g', big, 0o644)
      out['by_other'] = as_user(U1, lambda: wr('g', '', os.O_WRONLY | os.O_TRUNC))
      out['g'] = size('g')
      mk('r', big)
      out['rdonly'] = (os.close(os.open('r', os.O_RDONLY | os.O_TRUNC)), size('r'))[1]
      for name, m in (('rw', 0o666), ('ro', 0o644), ('wo', 0o622)):
          mk(name, big, m); os.utime(name, (1000000000, 1000000000))
          st = (as_user(U1, lambda: ro_trunc(name)), size(name))
          out['rdonly_' + name] = st + (os.stat(name).st_mtime > 1000000000,)
      mk('a', big)
      out['append'] = (wr('a', 'tail', os.O_WRONLY | os.O_APPEND | os.O_TRUNC), rd('a'))
      mk('s', big, 0o6777)
      out['setid_by_other'] = (as_user(U1, lambda: wr('s', '', os.O_RDWR | os.O_TRUNC)), mode('s'), size('s'))
      mk('s_root', big, 0o6777)
      out['setid_by_root'] = (wr('s_root', '', os.O_RDWR | os.O_TRUNC), mode('s_root'), size('s_root'))
      # sgid without group execute: cleared only for a caller outside the file's group.
      mk('sg_out', big, 0o2766); os.chown('sg_out', 0, 2000)
      out['sgid_outside_group'] = (as_user(U1, lambda: wr('sg_out', '', os.O_WRONLY | os.O_TRUNC)), mode('sg_out'), size('sg_out'))
      mk('sg_in', big, 0o2766); os.chown('sg_in', 0, 2000)
      out['sgid_in_group'] = (as_user(U2, lambda: wr('sg_in', '', os.O_WRONLY | os.O_TRUNC)), mode('sg_in'), size('sg_in'))
      mk('s_ro', big, 0o6777)
      out['setid_rdonly_by_other'] = (as_user(U1, lambda: ro_trunc('s_ro')), mode('s_ro'), size('s_ro'))
      def ftrunc(p):
          fd = os.open(p, os.O_RDWR)
          try:
              os.ftruncate(fd, 0)
          finally:
              os.close(fd)
          return 'ok'
      mk('s_ft', big, 0o6777)
      out['setid_ftruncate_by_root'] = (ftrunc('s_ft'), mode('s_ft'), size('s_ft'))
      mk('s_ft1', big, 0o6777)
      out['setid_ftruncate_by_other'] = (as_user(U1, lambda: ftrunc('s_ft1')), mode('s_ft1'), size('s_ft1'))
    `,
    expect: {
      by_writer: 'ok', f: ['new', true, true], by_other: 'EACCES', g: 2 << 20, rdonly: 0, append: ['ok', 'tail'],
      rdonly_rw: ['ok', 0, true], rdonly_ro: ['EACCES', 2 << 20, false], rdonly_wo: ['EACCES', 2 << 20, false],
      setid_by_other: ['ok', '777', 0], setid_by_root: ['ok', '6777', 0],
      sgid_outside_group: ['ok', '766', 0], sgid_in_group: ['ok', '2766', 0], setid_rdonly_by_other: ['ok', '777', 0],
      setid_ftruncate_by_root: ['ok', '6777', 0], setid_ftruncate_by_other: ['ok', '777', 0],
    },
  },
  {
    name: 'O_CREAT and mkdir modes are masked by the umask (also umask 0)',
    py: String.raw`
      for um in (0o022, 0o027, 0o000, 0o777):
          os.umask(um)
          os.close(os.open('f%o' % um, os.O_CREAT | os.O_WRONLY, 0o666))
          os.mkdir('d%o' % um, 0o777)
          os.mkfifo('p%o' % um, 0o666)
          out['%o' % um] = [mode('f%o' % um), mode('d%o' % um), mode('p%o' % um)]
      os.umask(0)
      os.close(os.open('x', os.O_CREAT | os.O_WRONLY, 0o7777))
      out['all_bits'] = mode('x')
      os.mkdir('y', 0o7777)
      out['mkdir_all_bits'] = mode('y')
    `,
    expect: {
      '22': ['644', '755', '644'], '27': ['640', '750', '640'], '0': ['666', '777', '666'], '777': ['0', '0', '0'],
      all_bits: '7777', mkdir_all_bits: '1777',
    },
  },
  {
    name: 'O_DIRECTORY on a file, O_NOFOLLOW on a symlink, trailing slash, ENOENT/ENOTDIR, EISDIR',
    py: String.raw`
      mk('f', 'x'); os.symlink('f', 'l'); os.mkdir('d'); os.symlink('d', 'ld')
      out['odir_file'] = T(os.open, 'f', os.O_RDONLY | os.O_DIRECTORY)
      out['odir_link_to_dir'] = T(lambda: os.close(os.open('ld', os.O_RDONLY | os.O_DIRECTORY)))
      out['nofollow_link'] = T(os.open, 'l', os.O_RDONLY | os.O_NOFOLLOW)
      out['nofollow_file'] = T(lambda: os.close(os.open('f', os.O_RDONLY | os.O_NOFOLLOW)))
      out['nofollow_dirlink_dir'] = T(os.open, 'ld', os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY)
      out['trailing_slash_file'] = T(os.open, 'f/', os.O_RDONLY)
      out['trailing_slash_stat'] = T(os.stat, 'f/')
      out['trailing_slash_link_dir'] = T(os.stat, 'ld/')
      out['missing'] = T(os.open, 'nope', os.O_RDONLY)
      out['component_not_dir'] = T(os.open, 'f/x', os.O_RDONLY)
      out['write_dir'] = T(os.open, 'd', os.O_WRONLY)
      out['rdwr_dir'] = T(os.open, 'd', os.O_RDWR)
      out['creat_dir_flag'] = T(os.open, 'new', os.O_CREAT | os.O_DIRECTORY | os.O_RDONLY)
      out['creat_trailing_slash'] = T(os.open, 'new/', os.O_CREAT | os.O_WRONLY)
      out['listing'] = sorted(os.listdir('.'))
    `,
    expect: {
      odir_file: 'ENOTDIR', odir_link_to_dir: 'ok', nofollow_link: 'ELOOP', nofollow_file: 'ok', nofollow_dirlink_dir: 'ENOTDIR',
      trailing_slash_file: 'ENOTDIR', trailing_slash_stat: 'ENOTDIR', trailing_slash_link_dir: 'ok', missing: 'ENOENT',
      component_not_dir: 'ENOTDIR', write_dir: 'EISDIR', rdwr_dir: 'EISDIR', creat_dir_flag: 'EINVAL',
      creat_trailing_slash: 'EISDIR', listing: ['d', 'f', 'l', 'ld'],
    },
  },
  {
    name: 'O_PATH: fstat works, read does not; O_PATH|O_NOFOLLOW opens the link itself',
    py: String.raw`
      mk('f', 'data'); os.symlink('f', 'l'); os.chmod('f', 0o000)
      fd = os.open('f', os.O_PATH)
      out['fstat_size'] = os.fstat(fd).st_size
      out['read'] = T(os.read, fd, 1)
      out['write'] = T(os.write, fd, b'x')
      out['fchmod'] = T(os.fchmod, fd, 0o644)
      out['via_proc'] = rd('/proc/self/fd/%d' % fd)
      os.close(fd)
      fd = os.open('l', os.O_PATH | os.O_NOFOLLOW)
      out['link_type'] = stat.S_ISLNK(os.fstat(fd).st_mode)
      out['readlink_via_proc'] = os.readlink('/proc/self/fd/%d' % fd).endswith('/l')
      os.close(fd)
      out['u1_opath_0000'] = as_user(U1, lambda: T(lambda: os.close(os.open('f', os.O_PATH))))
    `,
    expect: { fstat_size: 4, read: 'EBADF', write: 'EBADF', fchmod: 'EBADF', via_proc: 'data', link_type: true, readlink_via_proc: true, u1_opath_0000: 'ok' },
  },
  {
    name: 'O_TMPFILE: unnamed until linkat; O_EXCL forbids linking; nlink 0 then 1',
    py: String.raw`
      fd = os.open('.', os.O_TMPFILE | os.O_RDWR, 0o640)
      os.write(fd, b'tmpdata')
      out['nlink_before'] = os.fstat(fd).st_nlink
      out['mode'] = '%o' % (os.fstat(fd).st_mode & 0o7777)
      out['listing_before'] = sorted(os.listdir('.'))
      libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
      out['link'] = cerr(libc.linkat(AT_FDCWD, B('/proc/self/fd/%d' % fd), AT_FDCWD, b'named', 0x400))
      out['nlink_after'] = os.fstat(fd).st_nlink
      os.close(fd)
      out['content'] = rd('named')
      fd = os.open('.', os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
      out['excl_link'] = cerr(libc.linkat(AT_FDCWD, B('/proc/self/fd/%d' % fd), AT_FDCWD, b'named2', 0x400))
      os.close(fd)
      out['tmpfile_wronly_needed'] = T(os.open, '.', os.O_TMPFILE | os.O_RDONLY)
      out['listing'] = sorted(os.listdir('.'))
      os.mkdir('g'); os.chown('g', 0, 2000); os.chmod('g', 0o2777)
      out['sgid_dir_group'] = as_user(U1, lambda: (lambda fd: (os.fstat(fd).st_gid, os.close(fd))[0])(os.open('g', os.O_TMPFILE | os.O_WRONLY, 0o600)))
    `,
    expect: {
      nlink_before: 0, mode: '640', listing_before: [], link: 'ok', nlink_after: 1, content: 'tmpdata', excl_link: 'ENOENT',
      tmpfile_wronly_needed: 'EINVAL', listing: ['named'], sgid_dir_group: 2000,
    },
  },
  {
    name: 'fifo opened O_WRONLY|O_NONBLOCK without a reader: ENXIO; with a reader data flows',
    py: String.raw`
      os.mkfifo('p')
      out['no_reader'] = T(os.open, 'p', os.O_WRONLY | os.O_NONBLOCK)
      r = os.open('p', os.O_RDONLY | os.O_NONBLOCK)
      w = os.open('p', os.O_WRONLY | os.O_NONBLOCK)
      os.write(w, b'through the pipe')
      out['data'] = os.read(r, 100).decode()
      os.close(w); os.close(r)
      out['size'] = size('p')
    `,
    expect: { no_reader: 'ENXIO', data: 'through the pipe', size: 0 },
  },
  {
    name: 'fd access modes: write on O_RDONLY, read on O_WRONLY are EBADF',
    py: String.raw`
      mk('f', 'abc')
      fd = os.open('f', os.O_RDONLY); out['write_rdonly'] = T(os.write, fd, b'x'); os.close(fd)
      fd = os.open('f', os.O_WRONLY); out['read_wronly'] = T(os.read, fd, 1); os.close(fd)
      fd = os.open('f', os.O_RDONLY); out['pread_neg'] = T(os.pread, fd, 1, -1); out['read_eof'] = os.pread(fd, 10, 3).decode(); os.close(fd)
    `,
    expect: { write_rdonly: 'EBADF', read_wronly: 'EBADF', pread_neg: 'EINVAL', read_eof: '' },
  },
  {
    name: 'O_DIRECT: aligned I/O works, unaligned is refused',
    py: String.raw`
      m = mmap.mmap(-1, 8192)
      m.write(b'A' * 8192)
      fd = os.open('f', os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
      out['aligned_write'] = V(os.write, fd, m)
      buf = mmap.mmap(-1, 4096)
      out['aligned_read'] = V(os.preadv, fd, [buf], 4096)
      out['first'] = bytes(buf[:3]).decode()
      out['unaligned_len'] = V(os.pwrite, fd, memoryview(m)[:100], 0)
      os.close(fd)
      out['size'] = size('f')
    `,
    expect: { aligned_write: 8192, aligned_read: 4096, first: 'AAA', unaligned_len: 'EINVAL', size: 8192 },
  },
  {
    name: 'O_DIRECT turned off and on again with fcntl(F_SETFL), as dd oflag=direct does for a partial last block',
    py: String.raw`
      import fcntl
      m = mmap.mmap(-1, 8192); m.write(b'A' * 8192)
      fd = os.open('f', os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
      out['aligned'] = V(os.write, fd, m)
      fl = fcntl.fcntl(fd, fcntl.F_GETFL)
      fcntl.fcntl(fd, fcntl.F_SETFL, fl & ~os.O_DIRECT)
      out['tail'] = V(os.write, fd, b'tail' * 25)
      out['unaligned_read'] = V(lambda: os.pread(fd, 10, 8190).decode())
      fcntl.fcntl(fd, fcntl.F_SETFL, fl)
      out['direct_again_unaligned'] = V(os.pwrite, fd, b'x' * 100, 0)
      out['direct_again_aligned'] = V(os.pwrite, fd, m, 0)
      os.close(fd)
      fd = os.open('f', os.O_RDONLY | os.O_DIRECT)
      fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_DIRECT)
      out['ro_unaligned_read'] = V(lambda: os.pread(fd, 6, 8290).decode())
      os.close(fd)
      out['size'] = size('f')
    `,
    expect: {
      aligned: 8192, tail: 100, unaligned_read: 'AAtailtail', direct_again_unaligned: 'EINVAL', direct_again_aligned: 8192,
      ro_unaligned_read: 'il', size: 8292,
    },
    fuse: {
      why: 'a read-only O_DIRECT open is served by kernel passthrough, whose backing file keeps the O_DIRECT it was opened with (fcntl reaches only the FUSE file); writable ones are served by the daemon, which follows each request\'s flags',
      default: { ro_unaligned_read: 'EINVAL' },
      dp: { ro_unaligned_read: 'EINVAL' },
      byname: { ro_unaligned_read: 'EINVAL' },
    },
  },
  {
    // Without kernel passthrough an O_DIRECT open is served as direct I/O with
    // parallel writes: the kernel then leaves set-id clearing to the daemon,
    // maps such files only when asked to at INIT, and sends writes at once.
    name: 'O_DIRECT: another user\'s write clears suid/sgid, root\'s keeps them; shared mapping; 4 parallel writers',
    py: String.raw`
      import threading
      def dwrite(p, data, off):
          fd = os.open(p, os.O_WRONLY | os.O_DIRECT)
          try:
              m = mmap.mmap(-1, len(data)); m.write(data)
              return V(os.pwrite, fd, m, off)
          finally:
              os.close(fd)
      mk('f', 'x' * 8192); os.chmod('f', 0o6777)
      out['root_write'] = (dwrite('f', b'R' * 4096, 0), mode('f'))
      out['u1_write'] = (as_user(U1, lambda: dwrite('f', b'U' * 4096, 4096)), mode('f'))
      out['content'] = rd('f')[::4096]
      fd = os.open('m', os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
      os.ftruncate(fd, 8192)
      mm = mmap.mmap(fd, 8192)
      mm[4096:4101] = b'hello'; mm.flush(); mm.close()
      buf = mmap.mmap(-1, 4096)
      out['mapped'] = (os.preadv(fd, [buf], 4096), bytes(buf[:5]).decode())
      os.close(fd)
      fd = os.open('p', os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
      os.ftruncate(fd, 256 * 4096)
      errs = []
      def writer(k):
          m = mmap.mmap(-1, 4096)
          for i in range(k, 256, 4):
              m.seek(0); m.write(bytes([65 + i % 26]) * 4096)
              if os.pwrite(fd, m, i * 4096) != 4096: errs.append(i)
      ts = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
      for t in ts: t.start()
      for t in ts: t.join()
      os.close(fd)
      data = open('p', 'rb').read()
      out['parallel'] = (errs, len(data), all(data[i * 4096:(i + 1) * 4096] == bytes([65 + i % 26]) * 4096 for i in range(256)))
      # Buffered and O_DIRECT fds on one file see each other's writes.
      fb = os.open('c', os.O_RDWR | os.O_CREAT, 0o644)
      os.write(fb, b'B' * 8192)
      fdd = os.open('c', os.O_RDWR | os.O_DIRECT)
      out['direct_sees_buffered'] = (os.preadv(fdd, [buf], 0), bytes(buf[:3]).decode())
      os.pread(fb, 3, 4096)
      buf[:] = b'D' * 4096
      out['buffered_sees_direct'] = (os.pwrite(fdd, buf, 4096), os.pread(fb, 3, 4096).decode(), os.pread(fb, 3, 0).decode())
      os.close(fdd); os.close(fb)
      # The other order: the O_DIRECT open first, then a buffered one.
      fdd = os.open('c2', os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
      buf[:] = b'E' * 4096
      first = os.pwrite(fdd, buf, 0)
      fb = os.open('c2', os.O_RDWR)
      out['direct_first'] = (first, os.pread(fb, 3, 0).decode(), os.pwrite(fb, b'F' * 4096, 4096), os.preadv(fdd, [buf], 4096), bytes(buf[:3]).decode())
      os.close(fdd); os.close(fb)
    `,
    expect: {
      root_write: [4096, '6777'], u1_write: [4096, '777'], content: 'RU', mapped: [4096, 'hello'], parallel: [[], 1048576, true],
      direct_sees_buffered: [4096, 'BBB'], buffered_sees_direct: [4096, 'DDD', 'BBB'], direct_first: [4096, 'EEE', 4096, 4096, 'FFF'],
    },
  },

  // ---------------------------------------------------------------------------
  // truncate, timestamps
  {
    name: 'truncate and ftruncate: grow with zeros, shrink, errors',
    py: String.raw`
      mk('f', 'abcdef')
      out['grow'] = (os.truncate('f', 10), size('f'), rd('f'))[1:]
      out['shrink'] = (os.truncate('f', 2), rd('f'))[1]
      fd = os.open('f', os.O_RDONLY); out['ftrunc_rdonly'] = T(os.ftruncate, fd, 0); os.close(fd)
      fd = os.open('f', os.O_RDWR); out['ftrunc'] = (os.ftruncate(fd, 1), os.fstat(fd).st_size)[1]; os.close(fd)
      out['negative'] = T(os.truncate, 'f', -1)
      out['dir'] = (os.mkdir('d'), T(os.truncate, 'd', 0))[1]
      out['missing'] = T(os.truncate, 'nope', 0)
      out['too_big'] = T(os.truncate, 'f', 1 << 62)
      t0 = os.stat('f').st_mtime_ns; time.sleep(0.02)
      os.truncate('f', 1)
      out['same_size_updates_mtime'] = os.stat('f').st_mtime_ns > t0
      fd = os.open('f', os.O_RDWR); t1 = os.stat('f').st_mtime_ns; time.sleep(0.02)
      os.ftruncate(fd, 1); os.close(fd)
      out['ftrunc_same_size_updates_mtime'] = os.stat('f').st_mtime_ns > t1
    `,
    expect: {
      grow: [10, 'abcdef\0\0\0\0'], shrink: 'ab', ftrunc_rdonly: 'EINVAL', ftrunc: 1, negative: 'EINVAL', dir: 'EISDIR',
      missing: 'ENOENT', too_big: 'EFBIG', same_size_updates_mtime: true, ftrunc_same_size_updates_mtime: true,
    },
    fuse: {
      why: 'writeback cache: the kernel owns mtime and, for truncate(path) to the same size, sends no time and does not take the host\'s (cache_mask): the mtime it shows does not move (ftruncate does move it)',
      wb: { same_size_updates_mtime: false },
    },
  },
  {
    name: 'utimensat: nanoseconds, each time alone, UTIME_NOW/UTIME_OMIT, before 1970, far future',
    py: String.raw`
      mk('f')
      out['both'] = (os.utime('f', ns=(1000000000123456789, 2000000000987654321)), times('f')['a'], times('f')['m'])[1:]
      out['mtime_only'] = (utimens('f', (0, UTIME_OMIT), (1500000000, 5)), times('f')['a'], times('f')['m'])
      out['atime_only'] = (utimens('f', (1600000000, 7), (0, UTIME_OMIT)), times('f')['a'], times('f')['m'])
      c0 = times('f')['c']; time.sleep(0.02)
      out['omit_both'] = utimens('f', (0, UTIME_OMIT), (0, UTIME_OMIT))
      out['omit_both_ctime_unchanged'] = times('f')['c'] == c0
      before = time.time_ns(); time.sleep(0.01)
      utimens('f', (0, UTIME_NOW), (0, UTIME_OMIT))
      t = times('f')
      out['now_atime'] = [t['a'] >= before - 10000000, t['m'] == 1500000000000000005]
      utimens('f', (0, UTIME_OMIT), (0, UTIME_NOW))
      t = times('f')
      out['now_mtime'] = [t['m'] >= before - 10000000, t['a'] >= before - 10000000]
      out['pre_1970'] = (os.utime('f', ns=(-1500000000, -2000000001)), times('f')['a'], times('f')['m'])[1:]
      out['far_future'] = (os.utime('f', ns=(2**33 * 10**9 + 1, 2**33 * 10**9 + 999999999)), times('f')['m'])[1]
      out['bad_nsec'] = utimens('f', (0, 1000000000), (0, 0))
      os.symlink('f', 'l')
      out['nofollow'] = (utimens('l', (11, 12), (13, 14), AT_SYMLINK_NOFOLLOW), times('l')['m'], times('f')['m'] == 13000000014)
      fd = os.open('f', os.O_RDONLY)
      out['futimens'] = (os.utime(fd, ns=(21, 22)), times('f')['m'])[1]
      os.close(fd)
    `,
    expect: {
      both: [1000000000123456789, 2000000000987654321],
      mtime_only: ['ok', 1000000000123456789, 1500000000000000005],
      atime_only: ['ok', 1600000000000000007, 1500000000000000005],
      omit_both: 'ok', omit_both_ctime_unchanged: true, now_atime: [true, true], now_mtime: [true, true],
      pre_1970: [-1500000000, -2000000001], far_future: 8589934592999999999, bad_nsec: 'EINVAL',
      nofollow: ['ok', 13000000014, false], futimens: 22,
    },
  },
  {
    name: 'ctime and mtime move on change: chmod, link, rename, write, unlink; reads move atime (relatime)',
    py: String.raw`
      mk('f', 'x'); os.mkdir('d')
      def moved(op, p, key):
          b = times(p)[key]; time.sleep(0.02); op(); return times(p)[key] > b
      out['chmod_ctime'] = moved(lambda: os.chmod('f', 0o600), 'f', 'c')
      out['link_ctime'] = moved(lambda: os.link('f', 'h'), 'f', 'c')
      out['rename_ctime'] = moved(lambda: os.rename('h', 'h2'), 'f', 'c')
      out['write_mtime'] = moved(lambda: wr('f', 'y', os.O_WRONLY), 'f', 'm')
      out['create_dir_mtime'] = moved(lambda: mk('d/x'), 'd', 'm')
      out['unlink_dir_mtime'] = moved(lambda: os.unlink('d/x'), 'd', 'm')
      out['unlink_ctime'] = moved(lambda: os.unlink('h2'), 'f', 'c')
      out['chmod_keeps_mtime'] = not moved(lambda: os.chmod('f', 0o644), 'f', 'm')
      os.utime('f', (1000, time.time()))
      rd('f')
      out['read_updates_old_atime'] = times('f')['a'] > 2000 * 10**9
    `,
    expect: {
      chmod_ctime: true, link_ctime: true, rename_ctime: true, write_mtime: true, create_dir_mtime: true,
      unlink_dir_mtime: true, unlink_ctime: true, chmod_keeps_mtime: true, read_updates_old_atime: true,
    },
  },

  // ---------------------------------------------------------------------------
  // links
  {
    name: 'hard links: counts, shared inode, unlink one; directory link counts',
    py: String.raw`
      mk('a', 'data')
      os.link('a', 'b')
      out['nlink2'] = [nlink('a'), nlink('b')]
      out['same_ino'] = os.stat('a').st_ino == os.stat('b').st_ino
      wr('b', 'DATA', os.O_WRONLY)
      out['shared_data'] = rd('a')
      os.unlink('a')
      out['after_unlink'] = [nlink('b'), ftype('a')]
      os.mkdir('d')
      out['dir_nlink'] = nlink('d')
      os.mkdir('d/s'); os.mkdir('d/t'); mk('d/f')
      out['dir_nlink_subdirs'] = nlink('d')
      os.rmdir('d/t')
      out['dir_nlink_after_rmdir'] = nlink('d')
      out['link_dir'] = T(os.link, 'd', 'd2')
      out['link_existing'] = (mk('c'), T(os.link, 'b', 'c'))[1]
      out['link_missing'] = T(os.link, 'nope', 'x')
      os.symlink('b', 's')
      out['link_symlink_itself'] = (os.link('s', 's2', follow_symlinks=False), ftype('s2'), nlink('s'))[1:]
      libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
      out['link_follow'] = (cerr(libc.linkat(AT_FDCWD, b's', AT_FDCWD, b'b3', 0x400)), ftype('b3'), nlink('b'))
      out['many'] = [os.link('b', 'm%d' % i) for i in range(50)] and nlink('b')
      out['dev_consistent'] = os.stat('b').st_dev == os.stat('.').st_dev == os.stat('d').st_dev
    `,
    expect: {
      nlink2: [2, 2], same_ino: true, shared_data: 'DATA', after_unlink: [1, 'ENOENT'], dir_nlink: 2, dir_nlink_subdirs: 4,
      dir_nlink_after_rmdir: 3, link_dir: 'EPERM', link_existing: 'EEXIST', link_missing: 'ENOENT',
      link_symlink_itself: ['lnk', 2], link_follow: ['ok', 'reg', 2], many: 52, dev_consistent: true,
    },
  },
  {
    name: 'inode numbers: stat of hard links, renamed files and readdir d_ino agree',
    py: String.raw`
      for i in range(300):
          mk('f%03d' % i)
      os.mkdir('d'); os.symlink('f000', 'l')
      ents = list(os.scandir('.'))
      out['count'] = len(ents)
      out['dino_matches_stino'] = sum(1 for e in ents if e.inode() == os.lstat(e.name).st_ino)
      out['distinct'] = len(set(os.lstat(e.name).st_ino for e in ents)) == len(ents)
      a = os.stat('f001').st_ino
      os.rename('f001', 'd/moved')
      out['rename_keeps_ino'] = os.stat('d/moved').st_ino == a
      out['dot'] = os.stat('.').st_ino == os.stat('d/..').st_ino
    `,
    expect: { count: 302, dino_matches_stino: 302, rename_keeps_ino: true, distinct: true, dot: true },
  },

  // ---------------------------------------------------------------------------
  // symlinks
  {
    name: 'symlinks: dangling, loops, self loop, readlink, sizes and modes',
    py: String.raw`
      os.symlink('nowhere', 'dang')
      out['dangling'] = [os.readlink('dang'), T(os.stat, 'dang'), ftype('dang'), T(os.open, 'dang', os.O_RDONLY)]
      os.symlink('b', 'a'); os.symlink('a', 'b'); os.symlink('self', 'self')
      out['loop'] = [T(os.stat, 'a'), T(os.open, 'a', os.O_RDONLY), T(os.stat, 'self')]
      out['lstat_loop'] = ftype('a')
      out['size'] = size('dang')
      out['mode'] = mode('dang')
      mk('f')
      out['readlink_file'] = T(os.readlink, 'f')
      out['readlink_missing'] = T(os.readlink, 'nope')
      out['symlink_exists'] = T(os.symlink, 'x', 'f')
      out['empty_target'] = T(os.symlink, '', 'e')
      os.mkdir('d'); mk('d/inner', 'in')
      os.symlink('d', 'ld'); os.symlink('../f', 'd/up'); os.symlink('/proc/self/status', 'abs')
      out['through_dir_link'] = rd('ld/inner')
      out['relative_up'] = ftype('d/up', True)
      out['absolute'] = rd('abs')[:5]
      chain = 'f'
      for i in range(45):
          os.symlink(chain, 'c%d' % i); chain = 'c%d' % i
      out['chain_40'] = T(os.stat, 'c39')
      out['chain_41'] = T(os.stat, 'c40')
      out['weird_target'] = (os.symlink('a\nb c/../\xff', 'w'), os.readlink('w'))[1]
    `,
    expect: {
      dangling: ['nowhere', 'ENOENT', 'lnk', 'ENOENT'], loop: ['ELOOP', 'ELOOP', 'ELOOP'], lstat_loop: 'lnk', size: 7,
      mode: '777', readlink_file: 'EINVAL', readlink_missing: 'ENOENT', symlink_exists: 'EEXIST', empty_target: 'ENOENT',
      through_dir_link: 'in', relative_up: 'reg', absolute: 'Name:', chain_40: 'ok', chain_41: 'ELOOP', weird_target: 'a\nb c/../\xff',
    },
  },
  {
    name: 'symlink targets of 4095 bytes work, 4096 are refused',
    py: String.raw`
      t = 'x' * 4095
      out['create'] = T(os.symlink, t, 'l')
      out['readlink_len'] = len(os.readlink('l'))
      out['size'] = size('l')
      out['too_long'] = T(os.symlink, 'y' * 4096, 'l2')
      out['deep_target'] = (os.symlink('a/' * 2047 + 'b', 'l3'), len(os.readlink('l3')))[1]
      out['stat_long_component'] = T(os.stat, 'l')
    `,
    expect: { create: 'ok', readlink_len: 4095, size: 4095, too_long: 'ENAMETOOLONG', deep_target: 4095, stat_long_component: 'ENAMETOOLONG' },
  },

  // ---------------------------------------------------------------------------
  // rename
  {
    name: 'rename: over files and empty dirs, ENOTEMPTY, EISDIR, ENOTDIR, own subtree, dots',
    py: String.raw`
      mk('a', 'A'); mk('b', 'B')
      out['file_over_file'] = (os.rename('a', 'b'), rd('b'), ftype('a'))[1:]
      os.mkdir('d1'); os.mkdir('d2'); mk('d1/x')
      out['dir_over_empty'] = (os.rename('d1', 'd2'), sorted(os.listdir('d2')))[1]
      os.mkdir('d3'); mk('d3/y')
      out['dir_over_nonempty'] = T(os.rename, 'd3', 'd2')
      out['file_over_dir'] = T(os.rename, 'b', 'd2')
      out['dir_over_file'] = T(os.rename, 'd2', 'b')
      os.makedirs('p/q/r')
      out['into_subtree'] = T(os.rename, 'p', 'p/q/r/p')
      out['into_itself'] = T(os.rename, 'p', 'p/p')
      out['dot'] = T(os.rename, 'p/.', 'z')
      out['dotdot'] = T(os.rename, 'p/q/..', 'z')
      out['onto_dot'] = T(os.rename, 'b', 'p/.')
      out['missing'] = T(os.rename, 'nope', 'z')
      out['to_missing_dir'] = T(os.rename, 'b', 'nodir/z')
      out['self'] = (T(os.rename, 'b', 'b'), rd('b'))
      out['trailing_slash_file'] = T(os.rename, 'b', 'c/')
      out['trailing_slash_dir'] = T(os.rename, 'p/', 'p2/')
      out['listing'] = sorted(os.listdir('.'))
    `,
    expect: {
      file_over_file: ['A', 'ENOENT'], dir_over_empty: ['x'], dir_over_nonempty: 'ENOTEMPTY', file_over_dir: 'EISDIR',
      dir_over_file: 'ENOTDIR', into_subtree: 'EINVAL', into_itself: 'EINVAL', dot: 'EBUSY', dotdot: 'EBUSY', onto_dot: 'EBUSY',
      missing: 'ENOENT', to_missing_dir: 'ENOENT', self: ['ok', 'A'], trailing_slash_file: 'ENOTDIR', trailing_slash_dir: 'ok',
      listing: ['b', 'd2', 'd3', 'p2'],
    },
  },
  {
    name: 'rename of two hard links of one inode is a no-op; the directory moves with its ..',
    py: String.raw`
      mk('a', 'x'); os.link('a', 'b')
      out['hardlinks'] = (T(os.rename, 'a', 'b'), sorted(os.listdir('.')), nlink('a'))
      os.makedirs('x/sub'); os.mkdir('y')
      out['nlinks_before'] = [nlink('x'), nlink('y')]
      os.rename('x/sub', 'y/sub')
      out['nlinks_after'] = [nlink('x'), nlink('y')]
      out['dotdot'] = os.stat('y/sub/..').st_ino == os.stat('y').st_ino
      mk('y/sub/f', 'deep')
      out['read_after_move'] = rd('y/sub/f')
    `,
    expect: { hardlinks: ['ok', ['a', 'b'], 2], nlinks_before: [3, 2], nlinks_after: [2, 3], dotdot: true, read_after_move: 'deep' },
  },
  {
    name: 'renameat2: RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT, bad flags',
    py: String.raw`
      mk('a', 'A'); mk('b', 'B'); os.mkdir('d'); mk('d/in')
      out['noreplace_existing'] = rename2('a', 'b', 1)
      out['noreplace_new'] = (rename2('a', 'c', 1), rd('c'))
      out['exchange'] = (rename2('c', 'b', 2), rd('c'), rd('b'))
      out['exchange_file_dir'] = (rename2('b', 'd', 2), ftype('b'), ftype('d'), sorted(os.listdir('b')))
      out['exchange_missing'] = rename2('d', 'nope', 2)
      out['exchange_noreplace'] = rename2('c', 'd', 3)
      out['bad_flags'] = rename2('c', 'z', 0x80)
      out['whiteout'] = (rename2('c', 'w', 4), ftype('c'), ftype('w'), rd('w'))
      s = os.lstat('c') if ftype('c') == 'chr' else None
      out['whiteout_dev'] = [os.major(s.st_rdev), os.minor(s.st_rdev)] if s else None
      os.mkdir('e'); os.mkdir('e/sub')
      out['exchange_dirs_dotdot'] = (rename2('b', 'e/sub', 2), os.stat('e/sub/..').st_ino == os.stat('e').st_ino, sorted(os.listdir('e/sub')))
    `,
    expect: {
      noreplace_existing: 'EEXIST', noreplace_new: ['ok', 'A'], exchange: ['ok', 'B', 'A'], exchange_file_dir: ['ok', 'dir', 'reg', ['in']],
      exchange_missing: 'ENOENT', exchange_noreplace: 'EINVAL', bad_flags: 'EINVAL', whiteout: ['ok', 'chr', 'reg', 'B'],
      whiteout_dev: [0, 0], exchange_dirs_dotdot: ['ok', true, ['in']],
    },
  },
  {
    name: 'open files survive unlink and being renamed over',
    py: String.raw`
      mk('f', 'keep me')
      fd = os.open('f', os.O_RDWR)
      os.unlink('f')
      out['read_after_unlink'] = os.pread(fd, 100, 0).decode()
      out['nlink'] = os.fstat(fd).st_nlink
      os.pwrite(fd, b'KEEP', 0)
      out['write_after_unlink'] = os.pread(fd, 100, 0).decode()
      out['fchmod_after_unlink'] = (os.fchmod(fd, 0o600), '%o' % (os.fstat(fd).st_mode & 0o777))[1]
      out['ftruncate_after_unlink'] = (os.ftruncate(fd, 2), os.fstat(fd).st_size)[1]
      mk('f', 'second file')
      out['same_name_new_file'] = [rd('f'), os.pread(fd, 100, 0).decode(), os.stat('f').st_ino != os.fstat(fd).st_ino]
      os.close(fd)
      mk('g', 'old'); mk('h', 'new')
      fd = os.open('g', os.O_RDONLY)
      os.rename('h', 'g')
      out['read_renamed_over'] = os.read(fd, 100).decode()
      out['renamed_over_nlink'] = os.fstat(fd).st_nlink
      out['name_now'] = rd('g')
      os.close(fd)
      fd = os.open('g', os.O_WRONLY | os.O_APPEND)
      os.rename('g', 'g2')
      os.write(fd, b' appended after rename')
      os.close(fd)
      out['write_after_rename'] = rd('g2')
      os.mkdir('d'); dfd = os.open('d', os.O_RDONLY)
      os.rmdir('d')
      out['list_removed_dir'] = os.listdir(dfd)
      out['create_in_removed'] = T(os.open, 'x', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=dfd)
      out['fstat_removed_dir_nlink'] = os.fstat(dfd).st_nlink
      os.close(dfd)
      mk('m', 'mmapped')
      fd = os.open('m', os.O_RDONLY); mm = mmap.mmap(fd, 7, prot=mmap.PROT_READ); os.close(fd)
      os.unlink('m')
      out['mmap_after_unlink'] = mm[:].decode(); mm.close()
    `,
    expect: {
      read_after_unlink: 'keep me', nlink: 0, write_after_unlink: 'KEEP me', fchmod_after_unlink: '600', ftruncate_after_unlink: 2,
      same_name_new_file: ['second file', 'KE', true], read_renamed_over: 'old', renamed_over_nlink: 0, name_now: 'new',
      write_after_rename: 'new appended after rename', list_removed_dir: [], create_in_removed: 'ENOENT', fstat_removed_dir_nlink: 0,
      mmap_after_unlink: 'mmapped',
    },
  },
  {
    name: 'unlink and rmdir errors',
    py: String.raw`
      os.mkdir('d'); mk('d/f'); mk('f')
      out['unlink_dir'] = T(os.unlink, 'd')
      out['rmdir_nonempty'] = T(os.rmdir, 'd')
      out['rmdir_file'] = T(os.rmdir, 'f')
      out['rmdir_dot'] = T(os.rmdir, 'd/.')
      out['rmdir_dotdot'] = T(os.rmdir, 'd/..')
      out['unlink_missing'] = T(os.unlink, 'nope')
      out['unlink_trailing_slash'] = T(os.unlink, 'f/')
      mk('d/.hidden'); os.unlink('d/f')
      out['rmdir_hidden_only'] = T(os.rmdir, 'd')
      os.unlink('d/.hidden')
      out['rmdir_empty'] = T(os.rmdir, 'd')
      os.symlink('f', 'l')
      out['unlink_link_keeps_target'] = (os.unlink('l'), ftype('f'))[1]
    `,
    expect: {
      unlink_dir: 'EISDIR', rmdir_nonempty: 'ENOTEMPTY', rmdir_file: 'ENOTDIR', rmdir_dot: 'EINVAL', rmdir_dotdot: 'ENOTEMPTY',
      unlink_missing: 'ENOENT', unlink_trailing_slash: 'ENOTDIR', rmdir_hidden_only: 'ENOTEMPTY', rmdir_empty: 'ok',
      unlink_link_keeps_target: 'reg',
    },
  },

  // ---------------------------------------------------------------------------
  // special files
  {
    name: 'mkfifo, mknod: char and block devices as root, refused to users; sockets',
    py: String.raw`
      os.mkfifo('p', 0o640)
      out['fifo'] = [ftype('p'), mode('p')]
      out['chr'] = (os.mknod('c', stat.S_IFCHR | 0o600, os.makedev(1, 3)), ftype('c'), os.major(os.lstat('c').st_rdev), os.minor(os.lstat('c').st_rdev))[1:]
      out['blk'] = (os.mknod('b', stat.S_IFBLK | 0o600, os.makedev(259, 70000)), ftype('b'), os.major(os.lstat('b').st_rdev), os.minor(os.lstat('b').st_rdev))[1:]
      out['sock_mknod'] = (os.mknod('s', stat.S_IFSOCK | 0o644), ftype('s'))[1]
      out['reg_mknod'] = (os.mknod('r', stat.S_IFREG | 0o644), ftype('r'), size('r'))[1:]
      os.chmod('.', 0o777)
      out['u1_chr'] = as_user(U1, lambda: T(os.mknod, 'uc', stat.S_IFCHR | 0o600, os.makedev(1, 3)))
      out['u1_fifo'] = as_user(U1, lambda: T(os.mknod, 'up', stat.S_IFIFO | 0o600))
      out['exists'] = T(os.mkfifo, 'p')
      out['bad_type'] = T(os.mknod, 'x', 0o170000 | 0o644)
      out['dir_type'] = T(os.mknod, 'y', stat.S_IFDIR | 0o755)
    `,
    expect: {
      fifo: ['fifo', '640'], chr: ['chr', 1, 3], blk: ['blk', 259, 70000], sock_mknod: 'sock', reg_mknod: ['reg', 0], u1_chr: 'EPERM',
      u1_fifo: 'ok', exists: 'EEXIST', bad_type: 'EINVAL', dir_type: 'EPERM',
    },
  },
  {
    name: 'unix sockets: bind creates the node, connect through it works, bind over it is EADDRINUSE',
    py: String.raw`
      s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      s.bind('sock'); s.listen(1)
      out['type'] = ftype('sock')
      c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      c.connect('sock'); a, _ = s.accept(); c.sendall(b'hi'); out['data'] = a.recv(10).decode()
      a.close(); c.close()
      s2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      try:
          s2.bind('sock'); out['rebind'] = 'ok'
      except OSError as e:
          out['rebind'] = en(e.errno)
      s.close(); s2.close()
      c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      try:
          c.connect('sock'); out['connect_closed'] = 'ok'
      except OSError as e:
          out['connect_closed'] = en(e.errno)
      c.close()
    `,
    expect: { type: 'sock', data: 'hi', rebind: 'EADDRINUSE', connect_closed: 'ECONNREFUSED' },
  },

  // ---------------------------------------------------------------------------
  // names and paths
  {
    name: 'names: 255 bytes work everywhere, 256 are ENAMETOOLONG; odd bytes',
    py: String.raw`
      n255 = 'n' * 255; n256 = 'n' * 256
      out['create255'] = wr(n255, 'x')
      out['list255'] = n255 in os.listdir('.')
      out['stat255'] = T(os.stat, n255)
      out['create256'] = wr(n256, 'x')
      out['stat256'] = T(os.stat, n256)
      out['mkdir256'] = T(os.mkdir, n256)
      out['symlink256'] = T(os.symlink, 'x', n256)
      out['rename_to256'] = T(os.rename, n255, n256)
      out['link_to256'] = T(os.link, n255, n256)
      out['mkdir255'] = T(os.mkdir, 'd' * 255)
      out['utf8'] = (wr('é' * 127, 'u'), rd('é' * 127))
      out['utf8_too_long'] = wr('é' * 128, 'u')
      odd = [b'a\nb', b' lead', b'trail ', b'\xff\xfe', b'-', b'a\tb', b'*?[', b'\\back', b'..x', b'.x']
      for n in odd:
          fd = os.open(n, os.O_CREAT | os.O_WRONLY, 0o644); os.write(fd, n); os.close(fd)
      names = set(os.listdir(b'.'))
      out['odd'] = [n in names and open(n, 'rb').read() == n for n in odd]
    `,
    expect: {
      create255: 'ok', list255: true, stat255: 'ok', create256: 'ENAMETOOLONG', stat256: 'ENAMETOOLONG', mkdir256: 'ENAMETOOLONG',
      symlink256: 'ENAMETOOLONG', rename_to256: 'ENAMETOOLONG', link_to256: 'ENAMETOOLONG', mkdir255: 'ok',
      utf8: ['ok', 'u'], utf8_too_long: 'ENAMETOOLONG', odd: [true, true, true, true, true, true, true, true, true, true],
    },
  },
  {
    name: 'deep paths: longer than PATH_MAX through relative steps; full path ENAMETOOLONG',
    py: String.raw`
      comp = 'c' * 50
      depth = 120
      fds = [os.open('.', os.O_RDONLY)]
      for i in range(depth):
          os.mkdir(comp, dir_fd=fds[-1])
          fds.append(os.open(comp, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fds[-1]))
      fd = os.open('leaf', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fds[-1]); os.write(fd, b'bottom'); os.close(fd)
      full = '/'.join([comp] * depth) + '/leaf'
      out['full_path_len_gt_4096'] = len(full) > 4096
      out['full_path'] = T(os.stat, full)
      half = '/'.join([comp] * 60)
      out['half_path'] = T(os.stat, half)
      os.chdir(half)
      out['relative_rest'] = rd('/'.join([comp] * 60) + '/leaf')
      os.chdir('/'.join([comp] * 60))
      out['cwd_leaf'] = rd('leaf')
      out['dotdot_walk'] = T(os.stat, '/'.join(['..'] * 120) + '/' + comp)
      os.unlink('leaf', dir_fd=fds[-1])
      for i in range(depth, 0, -1):
          os.close(fds[i]); os.rmdir(comp, dir_fd=fds[i - 1])
      os.close(fds[0])
    `,
    expect: { full_path_len_gt_4096: true, full_path: 'ENAMETOOLONG', half_path: 'ok', relative_rest: 'bottom', cwd_leaf: 'bottom', dotdot_walk: 'ok' },
  },

  // ---------------------------------------------------------------------------
  // extended attributes
  {
    name: 'user xattrs: set, get, list, remove, flags, size probe, ERANGE, ENODATA',
    py: String.raw`
      mk('f')
      out['set'] = T(os.setxattr, 'f', 'user.a', b'value-a')
      out['set_empty'] = T(os.setxattr, 'f', 'user.empty', b'')
      out['get'] = os.getxattr('f', 'user.a').decode()
      out['get_empty'] = os.getxattr('f', 'user.empty').decode()
      out['probe'] = gx('f', 'user.a', 0)
      out['exact'] = gx('f', 'user.a', 7)
      out['erange'] = gx('f', 'user.a', 3)
      out['missing'] = gx('f', 'user.nope', 0)
      out['missing_get'] = gx('f', 'user.nope', 10)
      out['list'] = userx('f')
      out['list_probe'] = lx('f', 0) >= len('user.a\0user.empty\0')
      out['list_erange'] = lx('f', 3)
      out['create_existing'] = T(os.setxattr, 'f', 'user.a', b'x', os.XATTR_CREATE)
      out['replace_missing'] = T(os.setxattr, 'f', 'user.b', b'x', os.XATTR_REPLACE)
      out['replace'] = (T(os.setxattr, 'f', 'user.a', b'new', os.XATTR_REPLACE), os.getxattr('f', 'user.a').decode())
      out['create_new'] = T(os.setxattr, 'f', 'user.b', b'bee', os.XATTR_CREATE)
      out['remove'] = (T(os.removexattr, 'f', 'user.b'), userx('f'))
      out['remove_missing'] = T(os.removexattr, 'f', 'user.b')
      out['bad_namespace'] = T(os.setxattr, 'f', 'bogus.x', b'1')
      out['empty_name'] = T(os.setxattr, 'f', 'user.', b'1')
      out['name_too_long'] = T(os.setxattr, 'f', 'user.' + 'x' * 251, b'1')
      out['value_too_big'] = T(os.setxattr, 'f', 'user.big', b'x' * 65537)
      out['binary'] = (os.setxattr('f', 'user.bin', bytes(range(256))), os.getxattr('f', 'user.bin') == bytes(range(256)))[1]
      os.mkdir('d')
      out['on_dir'] = (T(os.setxattr, 'd', 'user.d', b'1'), userx('d'))
      os.symlink('f', 'l')
      out['on_symlink_nofollow'] = T(os.setxattr, 'l', 'user.l', b'1', follow_symlinks=False)
      out['via_symlink_follow'] = (T(os.setxattr, 'l', 'user.via', b'1'), 'user.via' in userx('f'))
      out['list_symlink'] = userx('l')
      os.mkfifo('p')
      out['on_fifo'] = T(os.setxattr, 'p', 'user.p', b'1')
      out['fd'] = (lambda fd: (os.setxattr(fd, 'user.fd', b'FD'), os.getxattr(fd, 'user.fd').decode(), os.close(fd))[1])(os.open('f', os.O_RDONLY))
    `,
    expect: {
      set: 'ok', set_empty: 'ok', get: 'value-a', get_empty: '', probe: 7, exact: 'value-a', erange: 'ERANGE', missing: 'ENODATA',
      missing_get: 'ENODATA', list: ['user.a', 'user.empty'], list_probe: true, list_erange: 'ERANGE', create_existing: 'EEXIST',
      replace_missing: 'ENODATA', replace: ['ok', 'new'], create_new: 'ok', remove: ['ok', ['user.a', 'user.empty']],
      remove_missing: 'ENODATA', bad_namespace: 'ENOTSUP', empty_name: 'EINVAL', name_too_long: 'ERANGE', value_too_big: 'E2BIG',
      binary: true, on_dir: ['ok', ['user.d']], on_symlink_nofollow: 'EPERM', via_symlink_follow: ['ok', true], list_symlink: [],
      on_fifo: 'EPERM', fd: 'FD',
    },
  },
  {
    name: 'xattrs as other users: user.* follows file permissions, trusted.* is root only and hidden',
    py: String.raw`
      mk('f'); os.chmod('f', 0o644)
      os.setxattr('f', 'user.u', b'U'); os.setxattr('f', 'trusted.t', b'T')
      out['root_list'] = userx('f')
      out['root_trusted'] = os.getxattr('f', 'trusted.t').decode()
      out['u1_get_user'] = as_user(U1, lambda: os.getxattr('f', 'user.u').decode())
      out['u1_set_user'] = as_user(U1, lambda: T(os.setxattr, 'f', 'user.u2', b'1'))
      out['u1_get_trusted'] = as_user(U1, lambda: T(os.getxattr, 'f', 'trusted.t'))
      out['u1_set_trusted'] = as_user(U1, lambda: T(os.setxattr, 'f', 'trusted.x', b'1'))
      out['u1_list'] = as_user(U1, lambda: userx('f'))
      out['u1_list_probe_matches'] = as_user(U1, lambda: lx('f', 0) == len(b''.join(n.encode() + b'\0' for n in os.listxattr('f'))))
      out['u1_remove_user'] = as_user(U1, lambda: T(os.removexattr, 'f', 'user.u'))
      os.chmod('f', 0o600)
      out['u1_get_unreadable'] = as_user(U1, lambda: T(os.getxattr, 'f', 'user.u'))
      out['u1_list_unreadable'] = as_user(U1, lambda: userx('f'))
      os.chown('f', 1000, 1000); os.chmod('f', 0o400)
      out['owner_set_readonly'] = as_user(U1, lambda: T(os.setxattr, 'f', 'user.o', b'1'))
      os.mkdir('s'); os.chmod('s', 0o1777); as_user(U2, lambda: os.mkdir('s/d'))
      out['other_in_sticky_dir'] = as_user(U1, lambda: T(os.setxattr, 's/d', 'user.x', b'1'))
      out['sticky_dir_itself'] = as_user(U1, lambda: T(os.setxattr, 's', 'user.x', b'1'))
      out['root_list_end'] = userx('f')
    `,
    expect: {
      root_list: ['trusted.t', 'user.u'], root_trusted: 'T', u1_get_user: 'U', u1_set_user: 'EACCES', u1_get_trusted: 'ENODATA',
      u1_set_trusted: 'EPERM', u1_list: ['user.u'], u1_list_probe_matches: true, u1_remove_user: 'EACCES',
      u1_get_unreadable: 'EACCES', u1_list_unreadable: ['user.u'], owner_set_readonly: 'EACCES', other_in_sticky_dir: 'EACCES', sticky_dir_itself: 'EPERM',
      root_list_end: ['trusted.t', 'user.u'],
    },
  },

  // ---------------------------------------------------------------------------
  // allocation, holes, copies, big files, mmap
  {
    name: 'fallocate: default, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE; errors',
    py: String.raw`
      fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
      os.write(fd, b'x' * 65536)
      out['default'] = (falloc(fd, 0, 0, 131072), os.fstat(fd).st_size)
      out['keep_size'] = (falloc(fd, 1, 131072, 65536), os.fstat(fd).st_size, os.fstat(fd).st_blocks >= 384)
      out['punch'] = (falloc(fd, 3, 4096, 8192), os.fstat(fd).st_size, os.pread(fd, 3, 4096), os.pread(fd, 1, 12288))
      out['punch_without_keep'] = falloc(fd, 2, 0, 4096)
      out['zero_range'] = (falloc(fd, 0x10, 16384, 4096), os.pread(fd, 2, 16384), os.fstat(fd).st_size)
      out['zero_range_grow'] = (falloc(fd, 0x10, 196608, 4096), os.fstat(fd).st_size)
      out['posix_fallocate'] = (V(os.posix_fallocate, fd, 0, 300000), os.fstat(fd).st_size)
      out['bad_len'] = falloc(fd, 0, 0, 0)
      out['neg_off'] = falloc(fd, 0, -1, 10)
      os.close(fd)
      fd = os.open('f', os.O_RDONLY)
      out['rdonly'] = falloc(fd, 0, 0, 10)
      os.close(fd)
      fd = os.open('f', os.O_WRONLY | os.O_APPEND)
      out['append_fd'] = falloc(fd, 1, 0, 4096)
      os.close(fd)
    `,
    expect: {
      default: ['ok', 131072], keep_size: ['ok', 131072, true], punch: ['ok', 131072, '\0\0\0', 'x'], punch_without_keep: 'ENOTSUP',
      zero_range: ['ok', '\0\0', 131072], zero_range_grow: ['ok', 200704], posix_fallocate: [null, 300000], bad_len: 'EINVAL',
      neg_off: 'EINVAL', rdonly: 'EBADF', append_fd: 'ok',
    },
  },
  {
    // Ranges of 1 MiB and more: through the passthrough, such a call is made apart from the request's thread.
    name: 'fallocate of megabytes: default, KEEP_SIZE, PUNCH_HOLE in written data, ZERO_RANGE; errors',
    py: String.raw`
      fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
      os.write(fd, b'x' * (4 << 20))
      out['default'] = (falloc(fd, 0, 0, 8 << 20), os.fstat(fd).st_size)
      out['keep_size'] = (falloc(fd, 1, 8 << 20, 4 << 20), os.fstat(fd).st_size, os.fstat(fd).st_blocks >= (12 << 20) // 512)
      out['punch'] = (falloc(fd, 3, 1 << 20, 1 << 20), os.pread(fd, 2, (1 << 20) - 1), os.pread(fd, 2, (2 << 20) - 1))
      z = (5 << 20) // 2
      out['zero_range'] = (falloc(fd, 0x10, z, 1 << 20), os.pread(fd, 2, z - 1), os.pread(fd, 2, z + (1 << 20) - 1), os.fstat(fd).st_size)
      out['punch_without_keep'] = falloc(fd, 2, 0, 2 << 20)
      out['neg_off'] = falloc(fd, 0, -1, 2 << 20)
      os.close(fd)
      fd = os.open('f', os.O_RDONLY)
      out['rdonly'] = falloc(fd, 0, 0, 2 << 20)
      os.close(fd)
    `,
    expect: {
      default: ['ok', 8 << 20], keep_size: ['ok', 8 << 20, true], punch: ['ok', 'x\0', '\0x'], zero_range: ['ok', 'x\0', '\0x', 8 << 20],
      punch_without_keep: 'ENOTSUP', neg_off: 'EINVAL', rdonly: 'EBADF',
    },
  },
  {
    name: 'fallocate COLLAPSE_RANGE and INSERT_RANGE',
    py: String.raw`
      fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
      for i in range(4):
          os.write(fd, bytes([65 + i]) * 4096)
      out['collapse'] = (falloc(fd, 0x08, 4096, 4096), os.fstat(fd).st_size, os.pread(fd, 1, 4096))
      out['insert'] = (falloc(fd, 0x20, 4096, 4096), os.fstat(fd).st_size, os.pread(fd, 1, 4096), os.pread(fd, 1, 8192))
      out['collapse_unaligned'] = falloc(fd, 0x08, 100, 4096)
      os.close(fd)
    `,
    expect: { collapse: ['ok', 12288, 'C'], insert: ['ok', 16384, '\0', 'C'], collapse_unaligned: 'EINVAL' },
    fuse: {
      why: 'the FUSE kernel module only passes KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE to the filesystem (fs/fuse/file.c fuse_file_fallocate); COLLAPSE_RANGE and INSERT_RANGE fail with EOPNOTSUPP before reaching the daemon',
      default: { collapse: ['ENOTSUP', 16384, 'B'], insert: ['ENOTSUP', 16384, 'B', 'C'], collapse_unaligned: 'ENOTSUP' },
      dp: { collapse: ['ENOTSUP', 16384, 'B'], insert: ['ENOTSUP', 16384, 'B', 'C'], collapse_unaligned: 'ENOTSUP' },
      nopt: { collapse: ['ENOTSUP', 16384, 'B'], insert: ['ENOTSUP', 16384, 'B', 'C'], collapse_unaligned: 'ENOTSUP' },
      byname: { collapse: ['ENOTSUP', 16384, 'B'], insert: ['ENOTSUP', 16384, 'B', 'C'], collapse_unaligned: 'ENOTSUP' },
      wb: { collapse: ['ENOTSUP', 16384, 'B'], insert: ['ENOTSUP', 16384, 'B', 'C'], collapse_unaligned: 'ENOTSUP' },
    },
  },
  {
    name: 'SEEK_DATA and SEEK_HOLE on a sparse file',
    py: String.raw`
      fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
      os.pwrite(fd, b'a' * 4096, 0)
      os.pwrite(fd, b'b' * 4096, 1 << 20)
      os.ftruncate(fd, 3 << 20)
      os.fsync(fd)
      out['hole0'] = os.lseek(fd, 0, os.SEEK_HOLE)
      out['data_after_hole'] = os.lseek(fd, 4096, os.SEEK_DATA)
      out['hole_after'] = os.lseek(fd, 1 << 20, os.SEEK_HOLE)
      out['data_in_tail'] = V(os.lseek, fd, (1 << 20) + 4096, os.SEEK_DATA)
      out['data_past_end'] = V(os.lseek, fd, 4 << 20, os.SEEK_DATA)
      out['hole_at_end'] = V(os.lseek, fd, 3 << 20, os.SEEK_HOLE)
      out['hole_in_tail'] = V(os.lseek, fd, (2 << 20) + 5, os.SEEK_HOLE)
      out['end'] = os.lseek(fd, 0, os.SEEK_END)
      out['neg'] = V(os.lseek, fd, -1, os.SEEK_SET)
      out['blocks'] = os.fstat(fd).st_blocks
      os.close(fd)
      fd = os.open('e', os.O_RDWR | os.O_CREAT, 0o644)
      out['empty_data'] = V(os.lseek, fd, 0, os.SEEK_DATA)
      out['empty_hole'] = V(os.lseek, fd, 0, os.SEEK_HOLE)
      os.close(fd)
    `,
    expect: {
      hole0: 4096, data_after_hole: 1 << 20, hole_after: (1 << 20) + 4096, data_in_tail: 'ENXIO', data_past_end: 'ENXIO',
      hole_at_end: 'ENXIO', hole_in_tail: (2 << 20) + 5, end: 3 << 20, neg: 'EINVAL', blocks: 16, empty_data: 'ENXIO', empty_hole: 'ENXIO',
    },
    fuse: {
      why: 'writeback cache: the kernel does not write dirty pages back before FUSE_LSEEK, so the host would call unwritten data a hole (cp --sparse would lose it); tsfuse answers ENOSYS and the kernel then treats the whole file as data (generic_file_llseek), which POSIX allows',
      wb: { hole0: 3 << 20, data_after_hole: 4096, hole_after: 3 << 20, data_in_tail: (1 << 20) + 4096, hole_in_tail: 3 << 20 },
    },
  },
  {
    name: 'copy_file_range: offsets, counts, same file overlap, past EOF',
    py: String.raw`
      mk('src', ''.join(chr(48 + i % 10) for i in range(100000)))
      a = os.open('src', os.O_RDONLY); b = os.open('dst', os.O_RDWR | os.O_CREAT, 0o644)
      out['copy'] = os.copy_file_range(a, b, 10000, 100, 50)
      out['dst_size'] = os.fstat(b).st_size
      out['dst_head'] = os.pread(b, 60, 0)[45:60].decode('latin-1')
      out['past_eof'] = os.copy_file_range(a, b, 100, 100000, 0)
      out['short_at_eof'] = os.copy_file_range(a, b, 100, 99990, 20000)
      out['cursor_form'] = (os.lseek(a, 5, 0), os.lseek(b, 0, 2), os.copy_file_range(a, b, 5), os.lseek(a, 0, 1), os.fstat(b).st_size)[2:]
      os.close(b)
      c = os.open('src', os.O_RDWR)
      out['overlap'] = V(os.copy_file_range, c, c, 100, 0, 50)
      out['same_file_disjoint'] = (os.copy_file_range(c, c, 10, 0, 200000), os.fstat(c).st_size)
      os.close(c)
      r = os.open('dst', os.O_RDONLY)
      out['to_rdonly'] = V(os.copy_file_range, a, r, 10, 0, 0)
      os.close(r); os.close(a)
      out['content'] = rd('dst')[50:60]
    `,
    expect: {
      copy: 10000, dst_size: 10050, dst_head: '\0\0\0\0\x000123456789', past_eof: 0, short_at_eof: 10, cursor_form: [5, 10, 20015],
      overlap: 'EINVAL', same_file_disjoint: [10, 200010], to_rdonly: 'EBADF', content: '0123456789',
    },
  },
  {
    name: 'sparse files past 4 GiB: offsets, sizes, holes, truncate; EFBIG at the filesystem limit',
    py: String.raw`
      fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
      off = 5 * 1024**3 + 123
      os.pwrite(fd, b'far', off)
      out['size'] = os.fstat(fd).st_size
      out['read'] = os.pread(fd, 3, off).decode()
      out['zeros'] = os.pread(fd, 4, 4 * 1024**3) == b'\0' * 4
      out['data'] = os.lseek(fd, 0, os.SEEK_DATA) == (off // 4096) * 4096
      out['small_blocks'] = os.fstat(fd).st_blocks <= 16
      os.ftruncate(fd, 6 * 1024**3)
      out['truncated'] = os.fstat(fd).st_size
      out['read_past'] = os.pread(fd, 3, 7 * 1024**3)
      out['write_limit'] = V(os.pwrite, fd, b'x', 1 << 44)
      out['truncate_limit'] = T(os.ftruncate, fd, (1 << 44) + 4096)
      out['fsync_after'] = T(os.fsync, fd)
      out['syncfs_after'] = cerr(libc.syncfs(fd))
      out['close'] = T(os.close, fd)
      out['final_size'] = size('f')
    `,
    expect: {
      size: 5 * 1024 ** 3 + 126, read: 'far', zeros: true, data: true, small_blocks: true, truncated: 6 * 1024 ** 3, read_past: '',
      write_limit: 'EFBIG', truncate_limit: 'EFBIG', fsync_after: 'ok', syncfs_after: 'ok', close: 'ok', final_size: 6 * 1024 ** 3,
    },
    fuse: {
      why: 'writeback cache: the kernel takes a write into its cache up to its own limit for FUSE files (MAX_LFS_FILESIZE, FUSE has no way to announce the host\'s 16 TiB), so the EFBIG comes at writeback (fsync, syncfs), not from pwrite, and the kernel keeps the size of the lost write; and SEEK_DATA is answered by the kernel (see the SEEK_DATA case)',
      wb: { write_limit: 1, data: false, fsync_after: 'EFBIG', syncfs_after: 'EFBIG', final_size: 2 ** 44 + 1 },
    },
  },
  {
    name: 'RLIMIT_FSIZE limits writes with EFBIG (SIGXFSZ ignored)',
    py: String.raw`
      import resource
      signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
      def f():
          resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
          fd = os.open('f', os.O_WRONLY | os.O_CREAT, 0o644)
          r = [V(os.write, fd, b'x' * 600), V(os.write, fd, b'y' * 600), V(os.write, fd, b'z')]
          os.close(fd)
          r.append(T(os.truncate, 'f', 2000))
          return r
      out['writes'] = as_user(None, f)
      out['size'] = size('f')
    `,
    expect: { writes: [600, 400, 'EFBIG', 'EFBIG'], size: 1000 },
  },
  {
    name: 'mmap: shared writes are seen by read and by other processes; writes are seen by the map',
    py: String.raw`
      fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
      os.ftruncate(fd, 3 * 4096)
      m = mmap.mmap(fd, 3 * 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
      m[0:5] = b'hello'; m[8192:8197] = b'world'
      out['read_same_fd'] = os.pread(fd, 5, 0).decode()
      out['read_other_fd'] = rd('f')[8192:8197]
      out['other_process'] = as_user(None, lambda: rd('f')[0:5])
      os.pwrite(fd, b'J', 0)
      out['map_sees_write'] = m[0:5].decode()
      m.flush(); m.close()
      out['after_close'] = rd('f')[:5]
      out['size'] = os.fstat(fd).st_size
      os.close(fd)
      ro = os.open('f', os.O_RDONLY)
      try:
          mmap.mmap(ro, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE); out['rw_map_of_rdonly'] = 'ok'
      except OSError as e:
          out['rw_map_of_rdonly'] = en(e.errno)
      p = mmap.mmap(ro, 4096, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE)
      p[0:1] = b'P'
      out['private_not_written'] = (p[0:1].decode(), rd('f')[0])
      p.close(); os.close(ro)
      fd = os.open('f', os.O_RDWR)
      m = mmap.mmap(fd, 4096)
      os.ftruncate(fd, 10)
      out['map_after_shrink'] = m[0:5].decode()
      m.close(); os.close(fd)
    `,
    expect: {
      read_same_fd: 'hello', read_other_fd: 'world', other_process: 'hello', map_sees_write: 'Jello', after_close: 'Jello',
      size: 12288, rw_map_of_rdonly: 'EACCES', private_not_written: ['P', 'J'], map_after_shrink: 'Jello',
    },
  },
  {
    name: 'fsync, fdatasync, syncfs and sync_file_range on files and directories',
    py: String.raw`
      mk('f', 'x'); os.mkdir('d')
      fd = os.open('f', os.O_RDWR)
      out['fsync'] = T(os.fsync, fd); out['fdatasync'] = T(os.fdatasync, fd)
      libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_long, ctypes.c_long, ctypes.c_uint]
      out['sync_file_range'] = cerr(libc.sync_file_range(fd, 0, 0, 7))
      out['syncfs'] = cerr(libc.syncfs(fd))
      os.close(fd)
      fd = os.open('d', os.O_RDONLY)
      out['fsync_dir'] = T(os.fsync, fd)
      os.close(fd)
      fd = os.open('f', os.O_RDONLY)
      out['fsync_rdonly'] = T(os.fsync, fd)
      os.close(fd)
    `,
    expect: { fsync: 'ok', fdatasync: 'ok', sync_file_range: 'ok', syncfs: 'ok', fsync_dir: 'ok', fsync_rdonly: 'ok' },
  },

  // ---------------------------------------------------------------------------
  // locks
  {
    name: 'fcntl locks: a conflicting F_SETLK from another process is EAGAIN; F_GETLK names the holder; close releases',
    py: String.raw`
      mk('f', 'x' * 100)
      fd = os.open('f', os.O_RDWR)
      fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
      me = os.getpid()
      def other():
          f2 = os.open('f', os.O_RDWR)
          r = [T(fcntl.lockf, f2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0), T(fcntl.lockf, f2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 50),
               T(fcntl.lockf, f2, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 5)]
          t, pid = lockpid(f2, fcntl.F_WRLCK, 0, 10)
          r.append([t == fcntl.F_WRLCK, pid == me])
          t, pid = lockpid(f2, fcntl.F_WRLCK, 20, 10)
          r.append(t == fcntl.F_UNLCK)
          os.close(f2)
          return r
      out['other'] = as_user(None, other)
      out['own_relock'] = T(fcntl.lockf, fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 0)
      fd2 = os.open('f', os.O_RDONLY); os.close(fd2)
      out['after_close_other_fd'] = as_user(None, lambda: (lambda f2: (T(fcntl.lockf, f2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0), os.close(f2))[0])(os.open('f', os.O_RDWR)))
      os.close(fd)
    `,
    expect: { other: ['EAGAIN', 'ok', 'EAGAIN', [true, true], true], own_relock: 'ok', after_close_other_fd: 'ok' },
  },
  {
    name: 'fcntl F_SETLKW waits for the holder; OFD locks conflict between fds of one process',
    py: String.raw`
      mk('f', 'x')
      fd = os.open('f', os.O_RDWR)
      fcntl.lockf(fd, fcntl.LOCK_EX)
      r, w = os.pipe()
      pid = os.fork()
      if pid == 0:
          f2 = os.open('f', os.O_RDWR)
          os.write(w, b's')
          t0 = time.time(); fcntl.lockf(f2, fcntl.LOCK_EX)
          os.write(w, b'1' if time.time() - t0 > 0.15 else b'0'); os._exit(0)
      os.read(r, 1); time.sleep(0.3); fcntl.lockf(fd, fcntl.LOCK_UN)
      out['waited'] = os.read(r, 1).decode()
      os.waitpid(pid, 0); os.close(fd)
      F_OFD_SETLK = 37
      a = os.open('f', os.O_RDWR); b = os.open('f', os.O_RDWR)
      lk = struct.pack('hhqqi', fcntl.F_WRLCK, 0, 0, 0, 0)
      out['ofd_a'] = T(fcntl.fcntl, a, F_OFD_SETLK, lk)
      out['ofd_b'] = T(fcntl.fcntl, b, F_OFD_SETLK, lk)
      out['posix_same_process'] = T(fcntl.lockf, b, fcntl.LOCK_EX | fcntl.LOCK_NB)
      os.close(a)
      out['ofd_b_after'] = T(fcntl.fcntl, b, F_OFD_SETLK, lk)
      os.close(b)
    `,
    expect: { waited: '1', ofd_a: 'ok', ofd_b: 'EAGAIN', posix_same_process: 'EAGAIN', ofd_b_after: 'ok' },
  },
  {
    name: 'flock across processes: exclusive conflicts, shared coexist, independent of fcntl locks',
    py: String.raw`
      mk('f')
      fd = os.open('f', os.O_RDONLY)
      fcntl.flock(fd, fcntl.LOCK_EX)
      out['other_ex'] = as_user(None, lambda: T(fcntl.flock, os.open('f', os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB))
      out['other_sh'] = as_user(None, lambda: T(fcntl.flock, os.open('f', os.O_RDONLY), fcntl.LOCK_SH | fcntl.LOCK_NB))
      out['other_fcntl'] = as_user(None, lambda: T(fcntl.lockf, os.open('f', os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB))
      out['same_process_other_fd'] = T(fcntl.flock, os.open('f', os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB)
      fcntl.flock(fd, fcntl.LOCK_SH)
      out['shared_shared'] = as_user(None, lambda: T(fcntl.flock, os.open('f', os.O_RDONLY), fcntl.LOCK_SH | fcntl.LOCK_NB))
      fcntl.flock(fd, fcntl.LOCK_UN)
      out['after_unlock'] = as_user(None, lambda: T(fcntl.flock, os.open('f', os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB))
      dup = os.dup(fd); fcntl.flock(fd, fcntl.LOCK_EX); os.close(fd)
      out['held_by_dup'] = as_user(None, lambda: T(fcntl.flock, os.open('f', os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB))
      os.close(dup)
      out['released'] = as_user(None, lambda: T(fcntl.flock, os.open('f', os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB))
      os.mkdir('d')
      out['dir_flock'] = T(fcntl.flock, os.open('d', os.O_RDONLY), fcntl.LOCK_EX)
    `,
    expect: {
      other_ex: 'EAGAIN', other_sh: 'EAGAIN', other_fcntl: 'ok', same_process_other_fd: 'EAGAIN', shared_shared: 'ok',
      after_unlock: 'ok', held_by_dup: 'EAGAIN', released: 'ok', dir_flock: 'ok',
    },
  },

  // ---------------------------------------------------------------------------
  // directories
  {
    name: 'readdir: ., .., d_type of every kind, telldir/seekdir resume at the same entry',
    py: String.raw`
      mk('f'); os.mkdir('d'); os.symlink('f', 'l'); os.mkfifo('p'); os.mknod('c', stat.S_IFCHR | 0o600, os.makedev(1, 3))
      s = socket.socket(socket.AF_UNIX); s.bind('s'); s.close()
      kinds = {}
      for e in os.scandir('.'):
          kinds[e.name] = [e.is_file(follow_symlinks=False), e.is_dir(follow_symlinks=False), e.is_symlink()]
      out['kinds'] = kinds
      libc.opendir.restype = ctypes.c_void_p; libc.opendir.argtypes = [ctypes.c_char_p]
      libc.readdir64.restype = ctypes.c_void_p; libc.readdir64.argtypes = [ctypes.c_void_p]
      libc.telldir.restype = ctypes.c_long; libc.telldir.argtypes = [ctypes.c_void_p]
      libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]; libc.closedir.argtypes = [ctypes.c_void_p]
      for i in range(200):
          mk('n%03d' % i)
      def names(dp):
          r = []
          while True:
              p = libc.readdir64(dp)
              if not p:
                  return r
              r.append([ctypes.string_at(p + 19).decode(), ctypes.c_ubyte.from_address(p + 18).value])
      dp = libc.opendir(b'.')
      first = [libc.readdir64(dp) for _ in range(50)]
      pos = libc.telldir(dp)
      rest1 = names(dp)
      libc.seekdir(dp, pos)
      rest2 = names(dp)
      libc.seekdir(dp, 0)
      all_ = names(dp)
      libc.closedir(dp)
      out['resume_same'] = rest1 == rest2
      out['total'] = len(all_)
      out['unique'] = len(set(n for n, _ in all_)) == len(all_)
      out['dots'] = sorted([n, t] for n, t in all_ if n in ('.', '..'))
      out['types'] = sorted([n, t] for n, t in all_ if n in ('f', 'd', 'l', 'p', 'c', 's'))
    `,
    expect: {
      kinds: {
        f: [true, false, false], d: [false, true, false], l: [false, false, true], p: [false, false, false], c: [false, false, false],
        s: [false, false, false],
      },
      resume_same: true, total: 208, unique: true, dots: [['.', 4], ['..', 4]],
      types: [['c', 2], ['d', 4], ['f', 8], ['l', 10], ['p', 1], ['s', 12]],
    },
  },
  {
    name: 'mkdir errors; sizes and link counts of directories',
    py: String.raw`
      os.mkdir('d')
      out['exists'] = T(os.mkdir, 'd')
      os.symlink('nowhere', 'l')
      out['on_dangling_link'] = T(os.mkdir, 'l')
      out['missing_parent'] = T(os.mkdir, 'a/b')
      mk('f')
      out['under_file'] = T(os.mkdir, 'f/x')
      out['trailing_slash'] = T(os.mkdir, 'e/')
      out['dir_size'] = size('d')
      out['root_listing'] = sorted(os.listdir('.'))
      out['mkdir_dot'] = T(os.mkdir, '.')
      out['mkdir_dotdot'] = T(os.mkdir, 'd/..')
    `,
    expect: {
      exists: 'EEXIST', on_dangling_link: 'EEXIST', missing_parent: 'ENOENT', under_file: 'ENOTDIR', trailing_slash: 'ok', dir_size: 4096,
      root_listing: ['d', 'e', 'f', 'l'], mkdir_dot: 'EEXIST', mkdir_dotdot: 'EEXIST',
    },
  },
  {
    name: 'chmod: all bits as root, sticky on files, symlink chmod refused without following',
    py: String.raw`
      mk('f')
      out['all'] = (os.chmod('f', 0o7777), mode('f'))[1]
      out['sticky_file_user'] = (os.chown('f', 1000, 1000), as_user(U1, lambda: (T(os.chmod, 'f', 0o1644), mode('f'))))[1]
      os.symlink('f', 'l')
      libc.fchmodat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint, ctypes.c_int]
      out['lchmod'] = cerr(libc.fchmodat(AT_FDCWD, b'l', 0o600, AT_SYMLINK_NOFOLLOW))
      out['chmod_follow'] = (os.chmod('l', 0o640), mode('f'), mode('l'))[1:]
      fd = os.open('f', os.O_RDONLY)
      out['fchmod_rdonly_fd'] = (T(os.fchmod, fd, 0o600), mode('f'))
      os.close(fd)
      out['type_bits_ignored'] = (os.chmod('f', 0o170644), ftype('f'), mode('f'))[1:]
    `,
    expect: {
      all: '7777', sticky_file_user: ['ok', '1644'], lchmod: 'ENOTSUP', chmod_follow: ['640', '777'], fchmod_rdonly_fd: ['ok', '600'],
      type_bits_ignored: ['reg', '644'],
    },
  },
  {
    name: 'statfs: block size, name length, fragment size, totals',
    py: String.raw`
      s = os.statvfs('.')
      out['bsize'] = s.f_bsize
      out['frsize'] = s.f_frsize
      out['namemax'] = s.f_namemax
      out['blocks'] = s.f_blocks
      out['files'] = s.f_files
      out['rdonly'] = bool(s.f_flag & os.ST_RDONLY)
      out['bavail_le_bfree'] = s.f_bavail <= s.f_bfree <= s.f_blocks
      mk('f')
      out['fstatvfs_same'] = os.fstatvfs(os.open('f', os.O_RDONLY)).f_blocks == s.f_blocks
    `,
    expect: { bsize: 4096, frsize: 4096, namemax: 255, rdonly: false, bavail_le_bfree: true, fstatvfs_same: true },
  },
  {
    name: 'statx: btime reported and not after mtime; basic fields agree with stat',
    py: String.raw`
      mk('f', 'abc')
      s = statx('f', 0xfff)
      out['btime_mask'] = bool(s.mask & 0x800)
      out['btime_le_mtime'] = s.btime[0] <= s.mtime[0]
      st = os.stat('f')
      out['agree'] = [s.size == st.st_size, s.mode == st.st_mode, s.nlink == st.st_nlink, s.ino == st.st_ino, s.blocks == st.st_blocks]
      out['size_only'] = statx('f', 0x200).size
      out['missing'] = statx('nope', 0x7ff)
      os.symlink('f', 'l')
      out['link'] = [statx('l', 0x7ff).mode >> 12, statx('l', 0x7ff, 0).mode >> 12]
      out['empty_path_fd'] = (lambda fd: (libc.statx(fd, b'', AT_EMPTY_PATH, 0x7ff, ctypes.byref(statx_t())), os.close(fd))[0])(os.open('f', os.O_RDONLY))
    `,
    expect: {
      btime_mask: true, btime_le_mtime: true, agree: [true, true, true, true, true], size_only: 3, missing: 'ENOENT', link: [10, 8],
      empty_path_fd: 0,
    },
  },
  {
    name: 'writes: holes from writes past EOF, short reads at EOF, large writes, O_SYNC',
    py: String.raw`
      fd = os.open('f', os.O_RDWR | os.O_CREAT | os.O_SYNC, 0o644)
      os.pwrite(fd, b'end', 10000)
      out['size'] = os.fstat(fd).st_size
      out['hole_zeros'] = os.pread(fd, 10, 100) == b'\0' * 10
      big = bytes(range(256)) * 8192
      out['big_write'] = os.pwrite(fd, big, 4096 * 3 + 7)
      out['big_read_back'] = os.pread(fd, len(big), 4096 * 3 + 7) == big
      out['short_read'] = len(os.pread(fd, 100, os.fstat(fd).st_size - 10))
      os.close(fd)
      fd = os.open('g', os.O_WRONLY | os.O_CREAT, 0o644)
      chunks = [os.write(fd, b'%06d' % i) for i in range(2000)]
      os.close(fd)
      out['sequential'] = [size('g'), rd('g')[6 * 1999:]]
    `,
    expect: { size: 10003, hole_zeros: true, big_write: 2097152, big_read_back: true, short_read: 10, sequential: [12000, '001999'] },
  },
];
