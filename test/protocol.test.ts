// Byte-level tests of the protocol layer: requests are built by hand, field
// by field, from the layouts in the kernel's include/uapi/linux/fuse.h
// (little-endian), decoded through the opcode table, and every field is
// checked; replies are encoded and compared with hand-written byte arrays.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgReader, decodeInHeader, ProtocolError } from '../src/protocol/requests.js';
import type * as Q from '../src/protocol/requests.js';
import * as R from '../src/protocol/replies.js';
import { EncodeErrno, OPS } from '../src/protocol/opcodes.js';
import {
  FATTR_ATIME, FATTR_CTIME, FATTR_FH, FATTR_GID, FATTR_LOCKOWNER, FATTR_MODE, FATTR_MTIME, FATTR_SIZE, FATTR_UID,
  FOPEN_KEEP_CACHE, FOPEN_PASSTHROUGH, FUSE_GETATTR_FH, FUSE_LK_FLOCK, FUSE_OPEN_KILL_SUIDGID, FUSE_READ_LOCKOWNER,
  FUSE_RELEASE_FLOCK_UNLOCK, FUSE_RELEASE_FLUSH, FUSE_SETXATTR_ACL_KILL_SGID, FUSE_WRITE_CACHE, FUSE_WRITE_LOCKOWNER,
  InitFlag, NotifyCode, Opcode, SIZEOF,
} from '../src/protocol/kernel.js';
import { DirBuffer } from '../src/session/dirbuf.js';
import { Notifier } from '../src/session/notify.js';

// ---- fixture helpers ------------------------------------------------------------

type Width = 1 | 2 | 4 | 8;
/** One little-endian field [value, width in bytes], or raw bytes. */
type Field = readonly [number | bigint, Width] | Buffer;

/** Concatenates little-endian fields; negative values are written two's complement. */
function le(...fields: Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    if (Buffer.isBuffer(f)) {
      parts.push(f);
      continue;
    }
    const [v, w] = f;
    const b = Buffer.alloc(w);
    if (w === 8) {
      const x = BigInt(v);
      if (x < 0n) b.writeBigInt64LE(x);
      else b.writeBigUInt64LE(x);
    } else {
      const x = Number(v);
      if (w === 4) {
        if (x < 0) b.writeInt32LE(x);
        else b.writeUInt32LE(x);
      } else if (w === 2) {
        if (x < 0) b.writeInt16LE(x);
        else b.writeUInt16LE(x);
      } else {
        b.writeUInt8(x & 0xff);
      }
    }
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** A NUL-terminated name, as the kernel sends it. */
const z = (s: string): Buffer => Buffer.from(s + '\0', 'latin1');
/** Raw bytes without a terminator. */
const raw = (s: string): Buffer => Buffer.from(s, 'latin1');
const zeros = (n: number): Buffer => Buffer.alloc(n);

interface HeaderOpts {
  unique?: bigint;
  uid?: number;
  gid?: number;
  pid?: number;
  /** Extension bytes after the arguments (a multiple of 8). */
  ext?: Buffer;
}

/** A whole request: fuse_in_header (40 bytes), the arguments, then extensions. */
function request(opcode: number, nodeid: bigint, args: Buffer, o: HeaderOpts = {}): Buffer {
  const ext = o.ext ?? zeros(0);
  assert.equal(ext.length % 8, 0);
  return le(
    [40 + args.length + ext.length, 4], // len: header + arguments + extensions
    [opcode, 4], // opcode
    [o.unique ?? 0x0102030405060708n, 8], // unique
    [nodeid, 8], // nodeid
    [o.uid ?? 1000, 4], // uid
    [o.gid ?? 100, 4], // gid
    [o.pid ?? 4242, 4], // pid
    [ext.length / 8, 2], // total_extlen, in 8-byte units
    [0, 2], // padding
    args,
    ext,
  );
}

/** Decodes a request through decodeInHeader and the table, checks the decoder used exactly the arguments. */
function decode<T>(buf: Buffer, minor = 45, flags = 0n): { h: Q.InHeader; a: T } {
  const h = decodeInHeader(buf, buf.length);
  const spec = OPS[h.opcode];
  assert.ok(spec, `opcode ${h.opcode} is in the table`);
  const r = new ArgReader(buf, 40, h.len - h.totalExtlen * 8);
  const a = spec.decode(r, minor, flags) as T;
  assert.equal(r.pos, r.end, `${spec.name}: decoder stopped at ${r.pos}, arguments end at ${r.end}`);
  return { h, a };
}

/** Asserts `view` is a view into `buf` at `at` (no copy). */
function assertView(view: Buffer, buf: Buffer, at: number, text: string): void {
  assert.equal(view.toString('latin1'), text);
  assert.equal(view.buffer, buf.buffer);
  assert.equal(view.byteOffset, buf.byteOffset + at);
}

function assertProtocolError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && re.test(e.message));
}

/** Decoding only the arguments, for truncation tests. */
function decodeArgs(opcode: Opcode, args: Buffer, minor = 45, flags = 0n): unknown {
  const buf = request(opcode, 1n, args);
  return OPS[opcode]!.decode(new ArgReader(buf, 40, buf.length), minor, flags);
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_APPEND = 0o2000;
const O_CLOEXEC = 0o2000000;

// ---- the header ---------------------------------------------------------------------

describe('fuse_in_header', () => {
  test('every field, with an extension area', () => {
    const buf = le(
      [56, 4], // len: 40 header + 8 fuse_forget_in + 8 extension
      [Opcode.FUSE_FORGET, 4], // opcode = 2
      [0xfedcba9876543210n, 8], // unique (full 64 bits)
      [0x8000000000000001n, 8], // nodeid (high bit set: must stay unsigned)
      [0xfffffffe, 4], // uid (nobody-ish, above 2^31)
      [65534, 4], // gid
      [0x7fffffff, 4], // pid
      [1, 2], // total_extlen: 1 unit of 8 bytes
      [0xffff, 2], // padding (ignored)
      [3, 8], // fuse_forget_in.nlookup
      [8, 4], // fuse_ext_header.size
      [0, 4], // fuse_ext_header.type
    );
    assert.equal(buf.length, 56);
    const h = decodeInHeader(buf, 56);
    assert.deepEqual(h, {
      len: 56, opcode: 2, unique: 0xfedcba9876543210n, nodeid: 0x8000000000000001n,
      uid: 0xfffffffe, gid: 65534, pid: 0x7fffffff, totalExtlen: 1,
    });
    const { a } = decode<Q.ForgetIn>(buf);
    assert.deepEqual(a, { nlookup: 3n });
  });

  test('short reads and a lying len are protocol errors', () => {
    const buf = request(Opcode.FUSE_GETATTR, 1n, zeros(0));
    assertProtocolError(() => decodeInHeader(buf, 39), /short request/);
    assertProtocolError(() => decodeInHeader(buf, 0), /short request/);
    const longer = Buffer.concat([buf, zeros(8)]);
    assertProtocolError(() => decodeInHeader(longer, 48), /header says 40 bytes, read returned 48/);
  });

  test('struct sizes match fuse.h', () => {
    assert.equal(SIZEOF.fuse_in_header, 40);
    assert.equal(SIZEOF.fuse_out_header, 16);
    assert.equal(SIZEOF.fuse_attr, 88);
    assert.equal(SIZEOF.fuse_entry_out, 128);
    assert.equal(SIZEOF.fuse_attr_out, 104);
    assert.equal(SIZEOF.fuse_open_out, 16);
    assert.equal(SIZEOF.fuse_kstatfs, 80);
    assert.equal(SIZEOF.fuse_init_in, 64);
    assert.equal(SIZEOF.fuse_init_out, 64);
    assert.equal(SIZEOF.fuse_dirent, 24);
    assert.equal(SIZEOF.fuse_direntplus, 152);
    assert.equal(SIZEOF.fuse_statx, 256);
    assert.equal(SIZEOF.fuse_statx_out, 288);
  });
});

// ---- request decoders ------------------------------------------------------------------

describe('request decoders', () => {
  test('LOOKUP: a name, as a view into the request', () => {
    const buf = request(Opcode.FUSE_LOOKUP, 1n, z('hello.txt'), { unique: 77n, uid: 0, gid: 0, pid: 1 });
    const { h, a } = decode<Q.NameIn>(buf);
    assert.deepEqual(h, { len: 50, opcode: 1, unique: 77n, nodeid: 1n, uid: 0, gid: 0, pid: 1, totalExtlen: 0 });
    assertView(a.name, buf, 40, 'hello.txt');
  });

  test('LOOKUP: a name without NUL is refused', () => {
    assertProtocolError(() => decodeArgs(Opcode.FUSE_LOOKUP, raw('abc')), /not NUL-terminated/);
    // A NUL after the end of the request (in the rest of the read buffer) does not count.
    const buf = Buffer.concat([request(Opcode.FUSE_LOOKUP, 1n, raw('abc')), zeros(8)]);
    assert.throws(() => OPS[Opcode.FUSE_LOOKUP]!.decode(new ArgReader(buf, 40, 43), 45, 0n), ProtocolError);
  });

  test('GETATTR without FUSE_GETATTR_FH', () => {
    const args = le(
      [0, 4], // getattr_flags: none
      [0, 4], // dummy
      [0, 8], // fh (meaningless without the flag)
    );
    const { a } = decode<Q.GetattrIn>(request(Opcode.FUSE_GETATTR, 5n, args));
    assert.deepEqual(a, { getattrFlags: 0, fh: 0n });
    let seen: bigint | undefined | null = null;
    const fs = { getattr: (_c: unknown, ino: bigint, fh: bigint | undefined) => { assert.equal(ino, 5n); seen = fh; } };
    OPS[Opcode.FUSE_GETATTR]!.call!(fs as never, { nodeid: 5n } as never, a, Buffer.alloc(0));
    assert.equal(seen, undefined);
  });

  test('GETATTR with FUSE_GETATTR_FH', () => {
    const args = le(
      [FUSE_GETATTR_FH, 4], // getattr_flags = FUSE_GETATTR_FH
      [0xdeadbeef, 4], // dummy (ignored)
      [0x1122334455667788n, 8], // fh
    );
    const { a } = decode<Q.GetattrIn>(request(Opcode.FUSE_GETATTR, 5n, args));
    assert.deepEqual(a, { getattrFlags: 1, fh: 0x1122334455667788n });
    let seen: bigint | undefined | null = null;
    const fs = { getattr: (_c: unknown, _ino: bigint, fh: bigint | undefined) => { seen = fh; } };
    OPS[Opcode.FUSE_GETATTR]!.call!(fs as never, { nodeid: 5n } as never, a, Buffer.alloc(0));
    assert.equal(seen, 0x1122334455667788n);
  });

  test('GETATTR: empty (before 7.9) and truncated', () => {
    assert.deepEqual(decode<Q.GetattrIn>(request(Opcode.FUSE_GETATTR, 1n, zeros(0))).a, { getattrFlags: 0, fh: 0n });
    assert.deepEqual(decode<Q.GetattrIn>(request(Opcode.FUSE_GETATTR, 1n, zeros(0)), 8).a, { getattrFlags: 0, fh: 0n });
    assertProtocolError(() => decodeArgs(Opcode.FUSE_GETATTR, zeros(8)), /truncated fuse_getattr_in/);
  });

  test('SETATTR: all 88 bytes, times before 1970 are signed', () => {
    const valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE | FATTR_ATIME | FATTR_MTIME | FATTR_FH | FATTR_LOCKOWNER | FATTR_CTIME;
    const args = le(
      [valid, 4], // valid
      [0xaaaaaaaa, 4], // padding (ignored)
      [0x0badf00dn, 8], // fh
      [0x123456789an, 8], // size
      [0x4c4f434b4f574e52n, 8], // lock_owner
      [-1n, 8], // atime: 1969-12-31T23:59:59 (the kernel stores tv_sec, a signed value, in a u64)
      [1_700_000_000n, 8], // mtime
      [1_700_000_001n, 8], // ctime
      [999_999_999, 4], // atimensec
      [5, 4], // mtimensec
      [6, 4], // ctimensec
      [S_IFREG | 0o4755, 4], // mode
      [0xbbbbbbbb, 4], // unused4 (ignored)
      [1000, 4], // uid
      [0xfffffffe, 4], // gid
      [0xcccccccc, 4], // unused5 (ignored)
    );
    assert.equal(args.length, 88);
    const { a } = decode<Q.SetattrIn>(request(Opcode.FUSE_SETATTR, 9n, args));
    assert.deepEqual(a, {
      valid, fh: 0x0badf00dn, size: 0x123456789an, lockOwner: 0x4c4f434b4f574e52n,
      atime: -1n, mtime: 1_700_000_000n, ctime: 1_700_000_001n,
      atimensec: 999_999_999, mtimensec: 5, ctimensec: 6, mode: S_IFREG | 0o4755, uid: 1000, gid: 0xfffffffe,
    });
    assertProtocolError(() => decodeArgs(Opcode.FUSE_SETATTR, zeros(87)), /truncated fuse_setattr_in/);
  });

  test('MKNOD (7.12+: 16-byte struct with umask)', () => {
    const args = le(
      [S_IFCHR | 0o620, 4], // mode
      [(4 << 8) | 1, 4], // rdev: makedev(4, 1) in the kernel's new_encode_dev form
      [0o022, 4], // umask
      [0xffffffff, 4], // padding (ignored)
      z('tty1'), // name
    );
    const buf = request(Opcode.FUSE_MKNOD, 1n, args);
    const { a } = decode<Q.MknodIn>(buf);
    assert.equal(a.mode, S_IFCHR | 0o620);
    assert.equal(a.rdev, 0x401);
    assert.equal(a.umask, 0o022);
    assertView(a.name, buf, 56, 'tty1');
  });

  test('MKNOD before 7.12: 8-byte struct, no umask', () => {
    const args = le(
      [S_IFREG | 0o644, 4], // mode
      [0, 4], // rdev
      z('plain'), // name
    );
    const { a } = decode<Q.MknodIn>(request(Opcode.FUSE_MKNOD, 1n, args), 11);
    assert.equal(a.mode, S_IFREG | 0o644);
    assert.equal(a.rdev, 0);
    assert.equal(a.umask, 0);
    assert.equal(a.name.toString(), 'plain');
  });

  test('MKDIR', () => {
    const args = le(
      [0o1777, 4], // mode (sticky, the kernel sends no S_IFDIR)
      [0o027, 4], // umask
      z('subdir'), // name
    );
    const buf = request(Opcode.FUSE_MKDIR, 3n, args);
    const { h, a } = decode<Q.MkdirIn>(buf);
    assert.equal(h.nodeid, 3n);
    assert.equal(a.mode, 0o1777);
    assert.equal(a.umask, 0o027);
    assertView(a.name, buf, 48, 'subdir');
  });

  test('SYMLINK: the link name first, then the target', () => {
    const args = Buffer.concat([
      z('link'), // name of the new symlink
      z('../target/file with spaces'), // target (contents of the link)
    ]);
    const buf = request(Opcode.FUSE_SYMLINK, 1n, args);
    const { a } = decode<Q.SymlinkIn>(buf);
    assertView(a.name, buf, 40, 'link');
    assertView(a.target, buf, 45, '../target/file with spaces');
    assertProtocolError(() => decodeArgs(Opcode.FUSE_SYMLINK, z('only-a-name')), /symlink target is not NUL-terminated/);
  });

  test('RENAME: newdir, then old and new names', () => {
    const args = le(
      [7n, 8], // newdir
      z('old'), // oldname
      z('new name'), // newname
    );
    const buf = request(Opcode.FUSE_RENAME, 2n, args);
    const { h, a } = decode<Q.RenameIn>(buf);
    assert.equal(h.nodeid, 2n);
    assert.equal(a.newdir, 7n);
    assert.equal(a.flags, 0);
    assertView(a.oldname, buf, 48, 'old');
    assertView(a.newname, buf, 52, 'new name');
    assertProtocolError(() => decodeArgs(Opcode.FUSE_RENAME, le([7n, 8], z('old'))), /new name/);
  });

  test('RENAME2: newdir, flags, padding, names', () => {
    const RENAME_EXCHANGE = 2;
    const args = le(
      [0xffffffff00000001n, 8], // newdir
      [RENAME_EXCHANGE, 4], // flags
      [0x55555555, 4], // padding (ignored)
      z('a'), // oldname
      z('b'), // newname
    );
    const buf = request(Opcode.FUSE_RENAME2, 1n, args);
    const { a } = decode<Q.RenameIn>(buf);
    assert.equal(a.newdir, 0xffffffff00000001n);
    assert.equal(a.flags, RENAME_EXCHANGE);
    assertView(a.oldname, buf, 56, 'a');
    assertView(a.newname, buf, 58, 'b');
  });

  test('LINK: the old inode, the new name', () => {
    const args = le(
      [42n, 8], // oldnodeid
      z('hardlink'), // newname
    );
    const buf = request(Opcode.FUSE_LINK, 8n, args);
    const { h, a } = decode<Q.LinkIn>(buf);
    assert.equal(h.nodeid, 8n); // the new parent
    assert.equal(a.oldnodeid, 42n);
    assertView(a.newname, buf, 48, 'hardlink');
  });

  test('OPEN and OPENDIR', () => {
    const args = le(
      [O_RDWR | O_APPEND | O_CLOEXEC, 4], // flags
      [FUSE_OPEN_KILL_SUIDGID, 4], // open_flags
    );
    for (const opcode of [Opcode.FUSE_OPEN, Opcode.FUSE_OPENDIR]) {
      const { a } = decode<Q.OpenIn>(request(opcode, 4n, args));
      assert.deepEqual(a, { flags: O_RDWR | O_APPEND | O_CLOEXEC, openFlags: FUSE_OPEN_KILL_SUIDGID });
    }
    assertProtocolError(() => decodeArgs(Opcode.FUSE_OPEN, zeros(7)), /truncated fuse_open_in/);
  });

  test('CREATE: 16-byte fuse_create_in, then the name', () => {
    const args = le(
      [O_CREAT | O_EXCL | O_WRONLY, 4], // flags
      [S_IFREG | 0o644, 4], // mode
      [0o022, 4], // umask
      [FUSE_OPEN_KILL_SUIDGID, 4], // open_flags
      z('new.txt'), // name
    );
    const buf = request(Opcode.FUSE_CREATE, 1n, args);
    const { a } = decode<Q.CreateIn>(buf);
    assert.equal(a.flags, O_CREAT | O_EXCL | O_WRONLY);
    assert.equal(a.mode, S_IFREG | 0o644);
    assert.equal(a.umask, 0o022);
    assert.equal(a.openFlags, FUSE_OPEN_KILL_SUIDGID);
    assertView(a.name, buf, 56, 'new.txt');
  });

  test('CREATE with a supplementary-group extension after the name', () => {
    const args = le(
      [O_CREAT | O_RDWR, 4], // flags
      [S_IFREG | 0o600, 4], // mode
      [0, 4], // umask
      [0, 4], // open_flags
      z('f'), // name
    );
    const ext = le(
      [16, 4], // fuse_ext_header.size (header + fuse_supp_groups with one group)
      [2, 4], // fuse_ext_header.type = FUSE_EXT_GROUPS
      [1, 4], // fuse_supp_groups.nr_groups
      [27, 4], // groups[0]
    );
    const buf = request(Opcode.FUSE_CREATE, 1n, args, { ext });
    const { h, a } = decode<Q.CreateIn>(buf);
    assert.equal(h.totalExtlen, 2);
    assert.equal(h.len, 40 + 18 + 16);
    assertView(a.name, buf, 56, 'f');
  });

  test('CREATE before 7.12: fuse_open_in {flags, mode}', () => {
    const args = le(
      [O_CREAT | O_WRONLY, 4], // flags
      [S_IFREG | 0o640, 4], // mode (the field became "unused" in 7.12)
      z('old.txt'), // name
    );
    const { a } = decode<Q.CreateIn>(request(Opcode.FUSE_CREATE, 1n, args), 11);
    assert.equal(a.flags, O_CREAT | O_WRONLY);
    assert.equal(a.mode, S_IFREG | 0o640);
    assert.equal(a.umask, 0);
    assert.equal(a.name.toString(), 'old.txt');
  });

  test('READ, READDIR and READDIRPLUS: 40-byte fuse_read_in', () => {
    const args = le(
      [3n, 8], // fh
      [1n << 40n, 8], // offset
      [131072, 4], // size
      [FUSE_READ_LOCKOWNER, 4], // read_flags
      [0xabcdefn, 8], // lock_owner
      [0o40000, 4], // flags (O_DIRECT on x86_64)
      [0x77777777, 4], // padding (ignored)
    );
    assert.equal(args.length, 40);
    const expected = { fh: 3n, offset: 1n << 40n, size: 131072, readFlags: FUSE_READ_LOCKOWNER, lockOwner: 0xabcdefn, flags: 0o40000 };
    for (const opcode of [Opcode.FUSE_READ, Opcode.FUSE_READDIR, Opcode.FUSE_READDIRPLUS]) {
      assert.deepEqual(decode<Q.ReadIn>(request(opcode, 6n, args)).a, expected);
    }
    assertProtocolError(() => decodeArgs(Opcode.FUSE_READ, args.subarray(0, 39)), /truncated fuse_read_in/);
  });

  test('READ before 7.9: 24-byte fuse_read_in', () => {
    const args = le(
      [3n, 8], // fh
      [4096n, 8], // offset
      [512, 4], // size
      [0, 4], // padding
    );
    const { a } = decode<Q.ReadIn>(request(Opcode.FUSE_READ, 6n, args), 8);
    assert.deepEqual(a, { fh: 3n, offset: 4096n, size: 512, readFlags: 0, lockOwner: 0n, flags: 0 });
  });

  test('WRITE: fuse_write_in, then the payload as a view', () => {
    const args = le(
      [0x99n, 8], // fh
      [4096n, 8], // offset
      [11, 4], // size of the payload
      [FUSE_WRITE_CACHE | FUSE_WRITE_LOCKOWNER, 4], // write_flags
      [0x1234n, 8], // lock_owner
      [O_WRONLY | O_APPEND, 4], // flags
      [0, 4], // padding
      raw('hello\0world'), // payload (binary: may contain NULs)
    );
    const buf = request(Opcode.FUSE_WRITE, 6n, args);
    const { a } = decode<Q.WriteIn>(buf);
    assert.equal(a.fh, 0x99n);
    assert.equal(a.offset, 4096n);
    assert.equal(a.size, 11);
    assert.equal(a.writeFlags, FUSE_WRITE_CACHE | FUSE_WRITE_LOCKOWNER);
    assert.equal(a.lockOwner, 0x1234n);
    assert.equal(a.flags, O_WRONLY | O_APPEND);
    assertView(a.data, buf, 80, 'hello\0world');
    // size larger than what follows
    const short = Buffer.concat([args.subarray(0, 40), raw('hello')]);
    assertProtocolError(() => decodeArgs(Opcode.FUSE_WRITE, short), /truncated write payload/);
  });

  test('RELEASE and RELEASEDIR', () => {
    const args = le(
      [9n, 8], // fh
      [O_RDWR, 4], // flags
      [FUSE_RELEASE_FLUSH | FUSE_RELEASE_FLOCK_UNLOCK, 4], // release_flags
      [0xfeedfacecafebeefn, 8], // lock_owner
    );
    const expected = { fh: 9n, flags: O_RDWR, releaseFlags: 3, lockOwner: 0xfeedfacecafebeefn };
    assert.deepEqual(decode<Q.ReleaseIn>(request(Opcode.FUSE_RELEASE, 6n, args)).a, expected);
    assert.deepEqual(decode<Q.ReleaseIn>(request(Opcode.FUSE_RELEASEDIR, 6n, args)).a, expected);
    // before 7.8: no lock_owner
    const old = decode<Q.ReleaseIn>(request(Opcode.FUSE_RELEASE, 6n, args.subarray(0, 16)), 7).a;
    assert.deepEqual(old, { ...expected, lockOwner: 0n });
  });

  test('FSYNC and FLUSH', () => {
    const fsync = le(
      [5n, 8], // fh
      [1, 4], // fsync_flags = FUSE_FSYNC_FDATASYNC
      [0, 4], // padding
    );
    assert.deepEqual(decode<Q.FsyncIn>(request(Opcode.FUSE_FSYNC, 6n, fsync)).a, { fh: 5n, fsyncFlags: 1 });
    const flush = le(
      [5n, 8], // fh
      [0, 4], // unused
      [0, 4], // padding
      [0x0123456789abcdefn, 8], // lock_owner
    );
    assert.deepEqual(decode<Q.FlushIn>(request(Opcode.FUSE_FLUSH, 6n, flush)).a, { fh: 5n, lockOwner: 0x0123456789abcdefn });
  });

  test('SETXATTR without SETXATTR_EXT: 8-byte struct', () => {
    const XATTR_CREATE = 1;
    const args = le(
      [5, 4], // size of the value
      [XATTR_CREATE, 4], // flags
      z('user.test'), // name
      raw('va\0ue'), // value (not NUL-terminated, may contain NULs)
    );
    const buf = request(Opcode.FUSE_SETXATTR, 6n, args);
    const { a } = decode<Q.SetxattrIn>(buf, 45, 0n);
    assert.equal(a.size, 5);
    assert.equal(a.flags, XATTR_CREATE);
    assert.equal(a.setxattrFlags, 0);
    assertView(a.name, buf, 48, 'user.test');
    assertView(a.value, buf, 58, 'va\0ue');
  });

  test('SETXATTR with SETXATTR_EXT (flags bit 29): 16-byte struct', () => {
    const XATTR_REPLACE = 2;
    const value = le(
      [2, 4], // posix_acl_xattr_header.a_version
      [0x00070001, 4], // an entry's tag (ACL_USER_OBJ) and perm
    );
    const args = le(
      [value.length, 4], // size
      [XATTR_REPLACE, 4], // flags
      [FUSE_SETXATTR_ACL_KILL_SGID, 4], // setxattr_flags
      [0, 4], // padding
      z('system.posix_acl_access'), // name
      value, // value
    );
    const buf = request(Opcode.FUSE_SETXATTR, 6n, args);
    const agreed = InitFlag.SETXATTR_EXT | InitFlag.INIT_EXT;
    assert.equal(agreed & (1n << 29n), 1n << 29n);
    const { a } = decode<Q.SetxattrIn>(buf, 45, agreed);
    assert.equal(a.size, 8);
    assert.equal(a.flags, XATTR_REPLACE);
    assert.equal(a.setxattrFlags, FUSE_SETXATTR_ACL_KILL_SGID);
    assertView(a.name, buf, 56, 'system.posix_acl_access');
    assert.deepEqual(a.value, value);
    assert.equal(a.value.byteOffset, buf.byteOffset + 56 + 24);
    // The same bytes without the flag would read setxattr_flags as the start of the name.
    assert.throws(() => decode<Q.SetxattrIn>(buf, 45, 0n));
  });

  test('GETXATTR and LISTXATTR', () => {
    const get = le(
      [256, 4], // size of the caller's buffer
      [0, 4], // padding
      z('user.test'), // name
    );
    const buf = request(Opcode.FUSE_GETXATTR, 6n, get);
    const { a } = decode<Q.GetxattrIn>(buf);
    assert.equal(a.size, 256);
    assertView(a.name, buf, 48, 'user.test');
    const list = le(
      [0, 4], // size 0: "how long is the list?"
      [0, 4], // padding
    );
    assert.deepEqual(decode<Q.ListxattrIn>(request(Opcode.FUSE_LISTXATTR, 6n, list)).a, { size: 0 });
    assertProtocolError(() => decodeArgs(Opcode.FUSE_GETXATTR, le([256, 4], [0, 4])), /xattr name/);
  });

  test('GETLK, SETLK, SETLKW: 48-byte fuse_lk_in', () => {
    const F_WRLCK = 1;
    const args = le(
      [11n, 8], // fh
      [0x6f776e6572n, 8], // owner
      [100n, 8], // lk.start
      [0x7fffffffffffffffn, 8], // lk.end (OFFSET_MAX: to the end of the file)
      [F_WRLCK, 4], // lk.type
      [31337, 4], // lk.pid
      [FUSE_LK_FLOCK, 4], // lk_flags
      [0, 4], // padding
    );
    assert.equal(args.length, 48);
    const expected = { fh: 11n, owner: 0x6f776e6572n, lk: { start: 100n, end: 0x7fffffffffffffffn, type: F_WRLCK, pid: 31337 }, lkFlags: 1 };
    for (const opcode of [Opcode.FUSE_GETLK, Opcode.FUSE_SETLK, Opcode.FUSE_SETLKW]) {
      assert.deepEqual(decode<Q.LkIn>(request(opcode, 6n, args)).a, expected);
    }
    assertProtocolError(() => decodeArgs(Opcode.FUSE_SETLK, args.subarray(0, 40)), /truncated fuse_lk_in/);
  });

  test('ACCESS', () => {
    const args = le(
      [4 | 1, 4], // mask = R_OK | X_OK
      [0, 4], // padding
    );
    assert.deepEqual(decode<Q.AccessIn>(request(Opcode.FUSE_ACCESS, 6n, args)).a, { mask: 5 });
  });

  test('INTERRUPT', () => {
    const args = le([0x8000000000000123n, 8]); // unique of the interrupted request
    assert.deepEqual(decode<Q.InterruptIn>(request(Opcode.FUSE_INTERRUPT, 0n, args)).a, { unique: 0x8000000000000123n });
    assertProtocolError(() => decodeArgs(Opcode.FUSE_INTERRUPT, zeros(4)), /truncated fuse_interrupt_in/);
    assert.equal(OPS[Opcode.FUSE_INTERRUPT]!.noReply, true, 'never answered, not even when malformed');
  });

  test('FORGET', () => {
    const args = le([0x100000001n, 8]); // nlookup
    const { h, a } = decode<Q.ForgetIn>(request(Opcode.FUSE_FORGET, 77n, args));
    assert.equal(h.nodeid, 77n);
    assert.deepEqual(a, { nlookup: 0x100000001n });
    assert.equal(OPS[Opcode.FUSE_FORGET]!.noReply, true);
  });

  test('BATCH_FORGET', () => {
    const args = le(
      [3, 4], // count
      [0, 4], // dummy
      [5n, 8], // forgets[0].nodeid
      [1n, 8], // forgets[0].nlookup
      [6n, 8], // forgets[1].nodeid
      [0x100000000n, 8], // forgets[1].nlookup
      [0xffffffffffffffffn, 8], // forgets[2].nodeid
      [2n, 8], // forgets[2].nlookup
    );
    const { a } = decode<Q.BatchForgetIn>(request(Opcode.FUSE_BATCH_FORGET, 0n, args));
    assert.deepEqual(a.forgets, [
      { nodeid: 5n, nlookup: 1n },
      { nodeid: 6n, nlookup: 0x100000000n },
      { nodeid: 0xffffffffffffffffn, nlookup: 2n },
    ]);
    // a count larger than the array
    assertProtocolError(() => decodeArgs(Opcode.FUSE_BATCH_FORGET, args.subarray(0, 8 + 16 * 2)), /fuse_forget_one array/);
    assertProtocolError(() => decodeArgs(Opcode.FUSE_BATCH_FORGET, le([0xffffffff, 4], [0, 4])), /fuse_forget_one array/);
    assert.equal(OPS[Opcode.FUSE_BATCH_FORGET]!.noReply, true);
  });

  test('FALLOCATE', () => {
    const args = le(
      [12n, 8], // fh
      [1n << 33n, 8], // offset
      [65536n, 8], // length
      [0x01 | 0x02, 4], // mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
      [0, 4], // padding
    );
    const { a } = decode<Q.FallocateIn>(request(Opcode.FUSE_FALLOCATE, 6n, args));
    assert.deepEqual(a, { fh: 12n, offset: 1n << 33n, length: 65536n, mode: 3 });
  });

  test('LSEEK', () => {
    const SEEK_DATA = 3;
    const args = le(
      [13n, 8], // fh
      [8192n, 8], // offset
      [SEEK_DATA, 4], // whence
      [0, 4], // padding
    );
    assert.deepEqual(decode<Q.LseekIn>(request(Opcode.FUSE_LSEEK, 6n, args)).a, { fh: 13n, offset: 8192n, whence: SEEK_DATA });
  });

  test('COPY_FILE_RANGE and COPY_FILE_RANGE_64: 56 bytes', () => {
    const args = le(
      [21n, 8], // fh_in
      [4096n, 8], // off_in
      [33n, 8], // nodeid_out
      [22n, 8], // fh_out
      [1n << 32n, 8], // off_out
      [0x1_0000_0000n, 8], // len (above 4 GiB)
      [0n, 8], // flags
    );
    assert.equal(args.length, 56);
    const expected = { fhIn: 21n, offIn: 4096n, nodeidOut: 33n, fhOut: 22n, offOut: 1n << 32n, len: 0x1_0000_0000n, flags: 0n };
    assert.deepEqual(decode<Q.CopyFileRangeIn>(request(Opcode.FUSE_COPY_FILE_RANGE, 6n, args)).a, expected);
    assert.deepEqual(decode<Q.CopyFileRangeIn>(request(Opcode.FUSE_COPY_FILE_RANGE_64, 6n, args)).a, expected);
    assertProtocolError(() => decodeArgs(Opcode.FUSE_COPY_FILE_RANGE, args.subarray(0, 48)), /fuse_copy_file_range_in/);
  });

  test('STATX: 24-byte fuse_statx_in', () => {
    const AT_STATX_DONT_SYNC = 0x4000;
    const args = le(
      [FUSE_GETATTR_FH, 4], // getattr_flags
      [0, 4], // reserved
      [14n, 8], // fh
      [AT_STATX_DONT_SYNC, 4], // sx_flags
      [0x7ff | 0x800, 4], // sx_mask = STATX_BASIC_STATS | STATX_BTIME
    );
    assert.equal(args.length, 24);
    const { a } = decode<Q.StatxIn>(request(Opcode.FUSE_STATX, 6n, args));
    assert.deepEqual(a, { getattrFlags: 1, fh: 14n, sxFlags: AT_STATX_DONT_SYNC, sxMask: 0xfff });
  });

  test('BMAP, IOCTL, POLL, SYNCFS', () => {
    const bmap = le(
      [1000n, 8], // block
      [4096, 4], // blocksize
      [0, 4], // padding
    );
    assert.deepEqual(decode<Q.BmapIn>(request(Opcode.FUSE_BMAP, 6n, bmap)).a, { block: 1000n, blocksize: 4096 });
    const ioctl = le(
      [15n, 8], // fh
      [0x2, 4], // flags = FUSE_IOCTL_UNRESTRICTED
      [0x80086601, 4], // cmd = FS_IOC_GETFLAGS
      [0x7ffd0000n, 8], // arg
      [4, 4], // in_size
      [8, 4], // out_size
      raw('\x01\x02\x03\x04'), // in data
    );
    const ib = request(Opcode.FUSE_IOCTL, 6n, ioctl);
    const io = decode<Q.IoctlIn>(ib).a;
    assert.deepEqual({ ...io, data: undefined }, { fh: 15n, flags: 2, cmd: 0x80086601, arg: 0x7ffd0000n, inSize: 4, outSize: 8, data: undefined });
    assertView(io.data, ib, 72, '\x01\x02\x03\x04');
    const poll = le(
      [16n, 8], // fh
      [0xabcn, 8], // kh
      [1, 4], // flags = FUSE_POLL_SCHEDULE_NOTIFY
      [0x1 | 0x4, 4], // events = POLLIN | POLLOUT
    );
    assert.deepEqual(decode<Q.PollIn>(request(Opcode.FUSE_POLL, 6n, poll)).a, { fh: 16n, kh: 0xabcn, flags: 1, events: 5 });
    decode<Q.NoArgs>(request(Opcode.FUSE_SYNCFS, 1n, le([0n, 8]))); // padding
    assertProtocolError(() => decodeArgs(Opcode.FUSE_SYNCFS, zeros(0)), /fuse_syncfs_in/);
  });

  test('NOTIFY_REPLY: fuse_notify_retrieve_in, then the data', () => {
    const args = le(
      [0n, 8], // dummy1
      [8192n, 8], // offset
      [3, 4], // size
      [0, 4], // dummy2
      [0n, 8], // dummy3
      [0n, 8], // dummy4
      raw('abc'), // data
    );
    const buf = request(Opcode.FUSE_NOTIFY_REPLY, 9n, args, { unique: 5n });
    const { a } = decode<Q.NotifyReplyIn>(buf);
    assert.equal(a.offset, 8192n);
    assert.equal(a.size, 3);
    assertView(a.data, buf, 80, 'abc');
    assert.equal(OPS[Opcode.FUSE_NOTIFY_REPLY]!.noReply, true);
  });

  test('INIT from a 7.45 kernel: 64 bytes, flags2 with INIT_EXT', () => {
    const low = 0x7fffffff; // bits 0..30 (INIT_EXT is bit 30)
    const high = (1 << 11) - 1; // bits 32..42
    const args = le(
      [7, 4], // major
      [45, 4], // minor
      [131072, 4], // max_readahead
      [low, 4], // flags
      [high, 4], // flags2
      zeros(44), // unused[11]
    );
    assert.equal(args.length, 64);
    const { a } = decode<Q.InitIn>(request(Opcode.FUSE_INIT, 0n, args), 0);
    assert.deepEqual(a, { major: 7, minor: 45, maxReadahead: 131072, flags: (BigInt(high) << 32n) | BigInt(low) });
    assert.ok(a.flags & InitFlag.REQUEST_TIMEOUT);
    assert.ok(a.flags & InitFlag.PASSTHROUGH);
    assert.equal(a.flags & InitFlag.INIT_RESERVED, 0n);
  });

  test('INIT from a 7.31 kernel: 16 bytes, no flags2', () => {
    const low = (1 << 28) - 1; // bits 0..27, no INIT_EXT
    const args = le(
      [7, 4], // major
      [31, 4], // minor
      [131072, 4], // max_readahead
      [low, 4], // flags
    );
    const { a } = decode<Q.InitIn>(request(Opcode.FUSE_INIT, 0n, args), 0);
    assert.deepEqual(a, { major: 7, minor: 31, maxReadahead: 131072, flags: BigInt(low) });
  });

  test('INIT: flags2 is ignored without INIT_EXT; truncated INIT is refused', () => {
    const args = le(
      [7, 4], // major
      [36, 4], // minor
      [65536, 4], // max_readahead
      [1, 4], // flags: ASYNC_READ only, no INIT_EXT
      [0xffffffff, 4], // flags2: garbage, must be ignored
      zeros(44), // unused[11]
    );
    const { a } = decode<Q.InitIn>(request(Opcode.FUSE_INIT, 0n, args), 0);
    assert.equal(a.flags, 1n);
    assertProtocolError(() => decodeArgs(Opcode.FUSE_INIT, args.subarray(0, 12), 0), /truncated fuse_init_in/);
  });

  test('every table entry is at its opcode and decodes an empty request without throwing anything but ProtocolError', () => {
    for (let op = 0; op < 64; op++) {
      const spec = OPS[op];
      if (!spec) continue;
      assert.equal(spec.opcode, op);
      try {
        decodeArgs(op, zeros(0));
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `${spec.name}: ${String(e)}`);
      }
    }
  });
});

// ---- reply encoders -----------------------------------------------------------------------

/** A buffer filled with 0xee, so bytes an encoder forgets to write show up. */
const dirty = (n: number): Buffer => Buffer.alloc(n, 0xee);

describe('reply encoders', () => {
  const attr: R.Attr = {
    ino: 0x10n,
    size: 12345n,
    blocks: 25n,
    atimeNs: 1_700_000_000_123_456_789n,
    mtimeNs: -1_500_000_000n, // 1969-12-31T23:59:58.5
    ctimeNs: 0n,
    mode: S_IFREG | 0o644,
    nlink: 1,
    uid: 1000,
    gid: 100,
    rdev: 0,
    blksize: 4096,
    flags: 1, // FUSE_ATTR_SUBMOUNT
  };
  const attrBytes = le(
    [0x10n, 8], // ino
    [12345n, 8], // size
    [25n, 8], // blocks
    [1_700_000_000n, 8], // atime
    [-2n, 8], // mtime: -1.5 s = -2 s + 0.5 s
    [0n, 8], // ctime
    [123_456_789, 4], // atimensec
    [500_000_000, 4], // mtimensec
    [0, 4], // ctimensec
    [S_IFREG | 0o644, 4], // mode
    [1, 4], // nlink
    [1000, 4], // uid
    [100, 4], // gid
    [0, 4], // rdev
    [4096, 4], // blksize
    [1, 4], // flags
  );

  test('fuse_attr', () => {
    const b = dirty(88);
    assert.equal(R.encodeAttr(b, 0, attr), 88);
    assert.deepEqual(b, attrBytes);
  });

  test('fuse_entry_out', () => {
    const b = dirty(8 + 128);
    const end = R.encodeEntryOut(b, 8, { nodeid: 0x10n, generation: 3n, entryTimeout: 1.5, attrTimeout: 0.25, attr });
    assert.equal(end, 8 + 128);
    const expected = le(
      [0x10n, 8], // nodeid
      [3n, 8], // generation
      [1n, 8], // entry_valid (seconds)
      [0n, 8], // attr_valid (seconds)
      [500_000_000, 4], // entry_valid_nsec
      [250_000_000, 4], // attr_valid_nsec
      attrBytes, // attr
    );
    assert.deepEqual(b.subarray(8), expected);
    assert.deepEqual(b.subarray(0, 8), dirty(8)); // nothing before the offset
  });

  test('negative entry: nodeid 0 with an entry timeout', () => {
    const b = dirty(128);
    assert.equal(R.encodeNegativeEntry(b, 0, 30), 128);
    const expected = le(
      [0n, 8], // nodeid 0: negative
      [0n, 8], // generation
      [30n, 8], // entry_valid
      [0n, 8], // attr_valid
      [0, 4], // entry_valid_nsec
      [0, 4], // attr_valid_nsec
      zeros(88), // attr
    );
    assert.deepEqual(b, expected);
  });

  test('fuse_attr_out: times before 1970 become signed seconds + positive nsec', () => {
    const old: R.Attr = {
      ...attr,
      atimeNs: -1n, // one ns before the epoch
      mtimeNs: -1_000_000_000n, // exactly one second before
      ctimeNs: -86_400_000_000_001n, // one day and one ns before
      flags: undefined,
    };
    const b = dirty(104);
    assert.equal(R.encodeAttrOut(b, 0, { attr: old, attrTimeout: 2 }), 104);
    const expected = le(
      [2n, 8], // attr_valid
      [0, 4], // attr_valid_nsec
      [0, 4], // dummy
      [0x10n, 8], // attr.ino
      [12345n, 8], // attr.size
      [25n, 8], // attr.blocks
      [-1n, 8], // attr.atime
      [-1n, 8], // attr.mtime
      [-86_401n, 8], // attr.ctime
      [999_999_999, 4], // attr.atimensec
      [0, 4], // attr.mtimensec
      [999_999_999, 4], // attr.ctimensec
      [S_IFREG | 0o644, 4], // attr.mode
      [1, 4], // attr.nlink
      [1000, 4], // attr.uid
      [100, 4], // attr.gid
      [0, 4], // attr.rdev
      [4096, 4], // attr.blksize
      [0, 4], // attr.flags (absent: 0)
    );
    assert.deepEqual(b, expected);
    assert.equal(b.readBigInt64LE(16 + 24), -1n);
  });

  test('64-bit fields land in their own buffer when more buffers than the view cache holds take turns', () => {
    const bufs = Array.from({ length: 6 }, () => dirty(16));
    for (let round = 0; round < 3; round++) {
      bufs.forEach((b, i) => R.encodeOutHeader(b, 0, 16, -i, BigInt(round * 100 + i)));
      bufs.forEach((b, i) => assert.equal(b.readBigUInt64LE(8), BigInt(round * 100 + i), `buffer ${i}, round ${round}`));
    }
    // A view of a Buffer that is a slice of a larger ArrayBuffer starts at the slice.
    const big = dirty(64);
    const slice = big.subarray(24, 40);
    R.encodeOutHeader(slice, 0, 16, 0, 0x1122334455667788n);
    assert.equal(big.readBigUInt64LE(32), 0x1122334455667788n);
  });

  test('a negative u64 field is a RangeError, not a wrapped number', () => {
    const attr = { ino: 1n, size: -1n, blocks: 0n, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096 };
    assert.throws(() => R.encodeAttr(dirty(88), 0, attr), RangeError);
    assert.throws(() => R.encodeOpenOut(dirty(16), 0, { fh: -2n }), RangeError);
    // Through the entry's view (attributes, node id) and the dirent copied from a host record.
    assert.throws(() => R.encodeEntryOut(dirty(128), 0, { nodeid: 2n, entryTimeout: 1, attrTimeout: 1, attr }), RangeError);
    const d = dirty(32);
    assert.throws(() => R.encodeDirentCopy(d, new DataView(d.buffer, d.byteOffset, d.length), 0, -1n, 8, new Uint8Array(16), 0, 8, 1), RangeError);
    // 32-bit fields a filesystem fills without a mask: out of range is a RangeError too.
    assert.throws(() => R.encodeOpenOut(dirty(16), 0, { fh: 1n, backingId: 2 ** 31 }), RangeError);
    assert.throws(() => R.encodeOpenOut(dirty(16), 0, { fh: 1n, backingId: 1.5 }), RangeError);
    assert.throws(() => R.encodeIoctlOut(dirty(16), 0, 2 ** 31), RangeError);
    assert.equal(R.encodeU64(dirty(8), 0, (1n << 64n) - 1n), 8);
  });

  test('encoded timeouts: fractions, NaN, negative, huge, past 2^32 seconds', () => {
    const attr = { ino: 1n, size: 0n, blocks: 0n, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096 };
    const FOREVER = 0xffffffffffffffffn;
    const cases: [number, bigint, number][] = [
      [1.5, 1n, 500_000_000], [0, 0n, 0], [-5, 0n, 0], [NaN, 0n, 0], [Infinity, FOREVER, 0],
      [0.9999999999, 0n, 999_999_999], [2 ** 32 + 0.5, 2n ** 32n, 500_000_000], [2 ** 40 + 3, 2n ** 40n + 3n, 0],
      [2 ** 53 - 1, 2n ** 53n - 1n, 0], [2 ** 53, FOREVER, 0],
    ];
    for (const [t, sec, nsec] of cases) {
      const e = dirty(128);
      R.encodeEntryOut(e, 0, { nodeid: 2n, entryTimeout: t, attrTimeout: t, attr });
      assert.deepEqual([e.readBigUInt64LE(16), e.readUInt32LE(32)], [sec, nsec], `entry_valid for ${t}`);
      assert.deepEqual([e.readBigUInt64LE(24), e.readUInt32LE(36)], [sec, nsec], `attr_valid for ${t}`);
      const a = dirty(104);
      R.encodeAttrOut(a, 0, { attr, attrTimeout: t });
      assert.deepEqual([a.readBigUInt64LE(0), a.readUInt32LE(8)], [sec, nsec], `fuse_attr_out for ${t}`);
      const n = dirty(128);
      R.encodeNegativeEntry(n, 0, t);
      assert.deepEqual([n.readBigUInt64LE(16), n.readUInt32LE(32)], [sec, nsec], `negative entry for ${t}`);
    }
  });

  test('fuse_open_out with a backing id', () => {
    const b = dirty(16);
    assert.equal(R.encodeOpenOut(b, 0, { fh: 0xfeedn, openFlags: FOPEN_PASSTHROUGH | FOPEN_KEEP_CACHE, backingId: 7 }), 16);
    assert.deepEqual(b, le(
      [0xfeedn, 8], // fh
      [0x80 | 0x2, 4], // open_flags = FOPEN_PASSTHROUGH | FOPEN_KEEP_CACHE
      [7, 4], // backing_id
    ));
    R.encodeOpenOut(b, 0, { fh: 1n });
    assert.deepEqual(b, le(
      [1n, 8], // fh
      [0, 4], // open_flags
      [0, 4], // backing_id
    ));
  });

  test('fuse_open_out described for debug logs: flag names, unnamed bits in hex, the backing id when set', () => {
    const b = dirty(16);
    R.encodeOpenOut(b, 0, { fh: 0xfeedn, openFlags: FOPEN_PASSTHROUGH | FOPEN_KEEP_CACHE | (1 << 12), backingId: 7 });
    assert.equal(R.describeOpenOut(b, 0), 'fh=65261 open_flags=KEEP_CACHE|PASSTHROUGH|0x1000 backing_id=7');
    R.encodeOpenOut(b, 0, { fh: 1n });
    assert.equal(R.describeOpenOut(b, 0), 'fh=1 open_flags=0');
  });

  test('fuse_entry_out + fuse_open_out for CREATE, through the table', () => {
    const b = dirty(16 + 144);
    const end = OPS[Opcode.FUSE_CREATE]!.encode!(b, 16, {
      entry: { nodeid: 0x10n, generation: 3n, entryTimeout: 1.5, attrTimeout: 0.25, attr },
      open: { fh: 5n, openFlags: 1 },
    }, undefined);
    assert.equal(end, 16 + 144);
    assert.deepEqual(b.subarray(16 + 128), le(
      [5n, 8], // fh
      [1, 4], // open_flags = FOPEN_DIRECT_IO
      [0, 4], // backing_id
    ));
  });

  test('fuse_kstatfs', () => {
    const b = dirty(80);
    const end = R.encodeStatfsOut(b, 0, {
      blocks: 1n << 40n, bfree: 1n << 39n, bavail: (1n << 39n) - 1n, files: 1000000n, ffree: 999000n, bsize: 4096, namelen: 255, frsize: 512,
    });
    assert.equal(end, 80);
    assert.deepEqual(b, le(
      [1n << 40n, 8], // blocks
      [1n << 39n, 8], // bfree
      [(1n << 39n) - 1n, 8], // bavail
      [1000000n, 8], // files
      [999000n, 8], // ffree
      [4096, 4], // bsize
      [255, 4], // namelen
      [512, 4], // frsize
      [0, 4], // padding
      zeros(24), // spare[6]
    ));
  });

  test('fuse_dirent: names of 1, 7, 8, 9 bytes make 32, 32, 32, 40-byte records, zero padded', () => {
    const cases: [string, number][] = [['a', 32], ['abcdefg', 32], ['abcdefgh', 32], ['abcdefghi', 40]];
    for (const [name, size] of cases) {
      assert.equal(R.direntSize(name.length), size);
      const b = dirty(size + 8);
      const end = R.encodeDirent(b, 0, 0x1234n, 99n, 8 /* DT_REG */, raw(name));
      assert.equal(end, size, name);
      const expected = le(
        [0x1234n, 8], // ino
        [99n, 8], // off: where the next readdir starts
        [name.length, 4], // namelen
        [8, 4], // type = DT_REG
        raw(name), // name, not NUL-terminated
        zeros(size - 24 - name.length), // padding to 8 bytes
      );
      assert.deepEqual(b.subarray(0, size), expected, name);
      assert.deepEqual(b.subarray(size), dirty(8), `${name}: nothing written after the record`);
    }
  });

  test('READDIR through DirBuffer: records back to back, refusal when full', () => {
    const b = dirty(16 + 64);
    const d = new DirBuffer(b, 16, 16 + 64, false);
    assert.equal(d.add(1n, raw('.'), 4, 1n), true);
    assert.equal(d.add(1n, raw('..'), 4, 2n), true);
    assert.equal(d.fits(1), false);
    assert.equal(d.add(7n, raw('x'), 8, 3n), false);
    assert.equal(d.length, 64);
    assert.deepEqual(b.subarray(16), le(
      [1n, 8], [1n, 8], [1, 4], [4, 4], raw('.'), zeros(7), // ".": ino, off, namelen, type = DT_DIR, name, pad
      [1n, 8], [2n, 8], [2, 4], [4, 4], raw('..'), zeros(6), // "..": ino, off, namelen, type = DT_DIR, name, pad
    ));
    assert.throws(() => d.addPlus(null, raw('x'), 8, 3n));
    assert.deepEqual(R.countDirents(b, 16, 16 + 64, false), { entries: 2, withAttributes: 0 });
  });

  test('addCopy/addPlusCopy: the same bytes as add/addPlus, from a host record\'s offset and name', () => {
    // A linux_dirent64-like source: d_off at 8, the name at 19, then junk.
    for (const name of ['a', 'abcdefg', 'abcdefgh', 'x'.repeat(255)]) {
      const src = dirty(19 + name.length + 8);
      src.writeBigInt64LE(-(1n << 62n) + 12345n, 8);
      raw(name).copy(src, 19);
      for (const plus of [false, true]) {
        const size = plus ? R.direntplusSize(name.length) : R.direntSize(name.length);
        const want = dirty(size + 8);
        const got = dirty(size + 8);
        const w = new DirBuffer(want, 0, size, plus);
        const g = new DirBuffer(got, 0, size, plus);
        assert.equal(plus ? w.addPlus(null, raw(name), 10, src.readBigUInt64LE(8), 0x1234567890n) : w.add(0x1234567890n, raw(name), 10, src.readBigUInt64LE(8)), true);
        assert.equal(plus ? g.addPlusCopy(0x1234567890n, 10, src, 8, 19, name.length) : g.addCopy(0x1234567890n, 10, src, 8, 19, name.length), true);
        assert.deepEqual(got, want, `${plus ? 'plus' : 'plain'}, ${name.length}-byte name`);
        assert.equal(g.length, size);
        // Full: refused, nothing written.
        const before = Buffer.from(got);
        assert.equal(plus ? g.addPlusCopy(1n, 8, src, 8, 19, 1) : g.addCopy(1n, 8, src, 8, 19, 1), false);
        assert.deepEqual(got, before);
        assert.throws(() => (plus ? g.addCopy(1n, 8, src, 8, 19, 1) : g.addPlusCopy(1n, 8, src, 8, 19, 1)));
      }
    }
  });

  test('fuse_direntplus: entry_out, then dirent', () => {
    assert.equal(R.direntplusSize(3), 152 + 8);
    const size = 160 + 152 + 8;
    const b = dirty(size + 8);
    const d = new DirBuffer(b, 0, size, true);
    assert.equal(d.addPlus({ nodeid: 0x10n, generation: 3n, entryTimeout: 1.5, attrTimeout: 0.25, attr }, raw('abc'), 8, 1n), true);
    assert.equal(d.addPlus(null, raw('..'), 4, 2n, 1n), true);
    assert.equal(d.length, size);
    assert.equal(d.addPlus(null, raw('x'), 4, 3n), false);
    const expected = le(
      [0x10n, 8], // entry_out.nodeid
      [3n, 8], // entry_out.generation
      [1n, 8], // entry_out.entry_valid
      [0n, 8], // entry_out.attr_valid
      [500_000_000, 4], // entry_out.entry_valid_nsec
      [250_000_000, 4], // entry_out.attr_valid_nsec
      attrBytes, // entry_out.attr
      [0x10n, 8], // dirent.ino (from the attributes)
      [1n, 8], // dirent.off
      [3, 4], // dirent.namelen
      [8, 4], // dirent.type = DT_REG
      raw('abc'), // dirent.name
      zeros(5), // padding
      zeros(128), // second: entry_out all zero (nodeid 0: no lookup counted)
      [1n, 8], // dirent.ino (given)
      [2n, 8], // dirent.off
      [2, 4], // dirent.namelen
      [4, 4], // dirent.type = DT_DIR
      raw('..'), // dirent.name
      zeros(6), // padding
    );
    assert.deepEqual(b.subarray(0, size), expected);
    assert.deepEqual(b.subarray(size), dirty(8));
    // The debug log's summary of such a body: entries, and those with a node id.
    assert.deepEqual(R.countDirents(b, 0, size, true), { entries: 2, withAttributes: 1 });
    // A node id with only its high half set still carries attributes.
    b.writeUInt32LE(0, 0);
    b.writeUInt32LE(1, 4);
    assert.deepEqual(R.countDirents(b, 0, size, true), { entries: 2, withAttributes: 1 });
    assert.deepEqual(R.countDirents(b, 0, 160, true), { entries: 1, withAttributes: 1 });
  });

  test('GETXATTR through the table: size probe, value, ERANGE', () => {
    const spec = OPS[Opcode.FUSE_GETXATTR]!;
    const name = raw('user.x');
    // size 0: reply fuse_getxattr_out with the length
    let b = dirty(32);
    assert.equal(spec.encode!(b, 16, 5, { size: 0, name }), 24);
    assert.deepEqual(b.subarray(16, 24), le(
      [5, 4], // size
      [0, 4], // padding
    ));
    // a filesystem that returns the value for a probe: its length is replied
    b = dirty(32);
    assert.equal(spec.encode!(b, 16, raw('hello'), { size: 0, name }), 24);
    assert.deepEqual(b.subarray(16, 24), le([5, 4], [0, 4])); // size, padding
    // size large enough: the value itself, no struct
    b = dirty(32);
    assert.equal(spec.encode!(b, 16, raw('hello'), { size: 10, name }), 21);
    assert.deepEqual(b.subarray(16, 21), raw('hello'));
    // exactly the size is fine
    assert.equal(spec.encode!(dirty(32), 16, raw('hello'), { size: 5, name }), 21);
    // the value exceeds the caller's buffer: ERANGE
    assert.throws(() => spec.encode!(dirty(32), 16, raw('hello'), { size: 4, name }),
      (e: unknown) => e instanceof EncodeErrno && e.errno === 34);
    // a length where a value was asked for: ERANGE too
    assert.throws(() => spec.encode!(dirty(32), 16, 5, { size: 10, name }),
      (e: unknown) => e instanceof EncodeErrno && e.errno === 34);
  });

  test('LISTXATTR through the table', () => {
    const spec = OPS[Opcode.FUSE_LISTXATTR]!;
    const list = raw('user.a\0user.b\0');
    const b = dirty(40);
    assert.equal(spec.encode!(b, 16, list.length, { size: 0 }), 24);
    assert.deepEqual(b.subarray(16, 24), le([14, 4], [0, 4])); // size, padding
    assert.equal(spec.encode!(b, 16, list, { size: 14 }), 30);
    assert.deepEqual(b.subarray(16, 30), list);
    assert.throws(() => spec.encode!(b, 16, list, { size: 13 }), (e: unknown) => e instanceof EncodeErrno && e.errno === 34);
  });

  test('READ through the table: bytes filled in place, or a Buffer copied, never more than size', () => {
    const spec = OPS[Opcode.FUSE_READ]!;
    const b = dirty(64);
    assert.equal(spec.encode!(b, 16, 10, { size: 8 }), 24);
    assert.equal(spec.encode!(b, 16, raw('abcd'), { size: 8 }), 20);
    assert.deepEqual(b.subarray(16, 20), raw('abcd'));
    assert.throws(() => spec.encode!(b, 16, raw('abcdefghi'), { size: 8 }), EncodeErrno);
  });

  test('WRITE, LSEEK, COPY_FILE_RANGE replies', () => {
    const b = dirty(24);
    assert.equal(OPS[Opcode.FUSE_WRITE]!.encode!(b, 16, 4096, undefined), 24);
    assert.deepEqual(b.subarray(16), le([4096, 4], [0, 4])); // fuse_write_out: size, padding
    assert.equal(OPS[Opcode.FUSE_LSEEK]!.encode!(b, 16, 1n << 40n, undefined), 24);
    assert.deepEqual(b.subarray(16), le([1n << 40n, 8])); // fuse_lseek_out.offset
    assert.equal(OPS[Opcode.FUSE_COPY_FILE_RANGE]!.encode!(b, 16, 1n << 33n, undefined), 24);
    assert.deepEqual(b.subarray(16), le([0xffffffff, 4], [0, 4])); // fuse_write_out, clamped to 32 bits
    assert.equal(OPS[Opcode.FUSE_COPY_FILE_RANGE_64]!.encode!(b, 16, 1n << 33n, undefined), 24);
    assert.deepEqual(b.subarray(16), le([1n << 33n, 8])); // fuse_copy_file_range_out.bytes_copied
  });

  test('fuse_lk_out, fuse_out_header', () => {
    const b = dirty(24);
    assert.equal(R.encodeLkOut(b, 0, { start: 0n, end: 0x7fffffffffffffffn, type: 2, pid: 17 }), 24);
    assert.deepEqual(b, le(
      [0n, 8], // start
      [0x7fffffffffffffffn, 8], // end
      [2, 4], // type = F_UNLCK
      [17, 4], // pid
    ));
    const h = dirty(16);
    assert.equal(R.encodeOutHeader(h, 0, 16, -2, 0xfedcba9876543210n), 16);
    assert.deepEqual(h, le(
      [16, 4], // len
      [-2, 4], // error = -ENOENT
      [0xfedcba9876543210n, 8], // unique
    ));
  });

  test('fuse_statx_out', () => {
    const b = dirty(288);
    const end = R.encodeStatxOut(b, 0, {
      attrTimeout: 1.25, mask: 0xfff, blksize: 4096, attributes: 0x20n, nlink: 2, uid: 1000, gid: 100, mode: S_IFDIR | 0o755,
      ino: 77n, size: 4096n, blocks: 8n, attributesMask: 0x30n,
      atime: { sec: -1n, nsec: 999_999_999 }, btime: { sec: 1n, nsec: 2 }, ctime: { sec: 3n, nsec: 4 }, mtime: { sec: 5n, nsec: 6 },
      rdevMajor: 0, rdevMinor: 0, devMajor: 0, devMinor: 42,
    });
    assert.equal(end, 288);
    assert.deepEqual(b, le(
      [1n, 8], // attr_valid
      [250_000_000, 4], // attr_valid_nsec
      [0, 4], // flags
      [0n, 8], // spare[0]
      [0n, 8], // spare[1]
      [0xfff, 4], // stat.mask
      [4096, 4], // stat.blksize
      [0x20n, 8], // stat.attributes
      [2, 4], // stat.nlink
      [1000, 4], // stat.uid
      [100, 4], // stat.gid
      [S_IFDIR | 0o755, 2], // stat.mode
      [0, 2], // stat.__spare0
      [77n, 8], // stat.ino
      [4096n, 8], // stat.size
      [8n, 8], // stat.blocks
      [0x30n, 8], // stat.attributes_mask
      [-1n, 8], [999_999_999, 4], [0, 4], // stat.atime: tv_sec, tv_nsec, __reserved
      [1n, 8], [2, 4], [0, 4], // stat.btime
      [3n, 8], [4, 4], [0, 4], // stat.ctime
      [5n, 8], [6, 4], [0, 4], // stat.mtime
      [0, 4], // stat.rdev_major
      [0, 4], // stat.rdev_minor
      [0, 4], // stat.dev_major
      [42, 4], // stat.dev_minor
      zeros(14 * 8), // stat.__spare2[14]
    ));
  });

  const initOut: R.InitOut = {
    major: 7,
    minor: 45,
    maxReadahead: 131072,
    flags: InitFlag.ASYNC_READ | InitFlag.BIG_WRITES | InitFlag.MAX_PAGES | InitFlag.INIT_EXT | InitFlag.HAS_EXPIRE_ONLY | InitFlag.PASSTHROUGH,
    maxBackground: 64,
    congestionThreshold: 48,
    maxWrite: 1 << 20,
    timeGran: 1,
    maxPages: 256,
    mapAlignment: 0,
    maxStackDepth: 1,
    requestTimeout: 0,
  };

  test('fuse_init_out for a 7.45 kernel: 64 bytes, flags split into flags and flags2', () => {
    const b = dirty(64 + 8);
    assert.equal(R.encodeInitOut(b, 0, initOut, 45), 64);
    assert.deepEqual(b.subarray(0, 64), le(
      [7, 4], // major
      [45, 4], // minor
      [131072, 4], // max_readahead
      [0x40400021, 4], // flags: ASYNC_READ (0) | BIG_WRITES (5) | MAX_PAGES (22) | INIT_EXT (30)
      [64, 2], // max_background
      [48, 2], // congestion_threshold
      [1 << 20, 4], // max_write
      [1, 4], // time_gran
      [256, 2], // max_pages
      [0, 2], // map_alignment
      [0x28, 4], // flags2: HAS_EXPIRE_ONLY (35 - 32 = 3) | PASSTHROUGH (37 - 32 = 5)
      [1, 4], // max_stack_depth
      [0, 2], // request_timeout
      zeros(22), // unused[11]
    ));
    assert.deepEqual(b.subarray(64), dirty(8));
  });

  test('fuse_init_out for 7.23..7.35 kernels is 64 bytes too', () => {
    assert.equal(R.encodeInitOut(dirty(64), 0, initOut, 23), 64);
    assert.equal(R.encodeInitOut(dirty(64), 0, initOut, 31), 64);
  });

  test('fuse_init_out for a 7.22 kernel: 24 bytes', () => {
    const b = dirty(64);
    assert.equal(R.encodeInitOut(b, 0, { ...initOut, flags: InitFlag.ASYNC_READ | InitFlag.BIG_WRITES }, 22), 24);
    assert.deepEqual(b.subarray(0, 24), le(
      [7, 4], // major
      [45, 4], // minor
      [131072, 4], // max_readahead
      [0x21, 4], // flags: ASYNC_READ | BIG_WRITES
      [64, 2], // max_background
      [48, 2], // congestion_threshold
      [1 << 20, 4], // max_write
    ));
    assert.deepEqual(b.subarray(24), dirty(40), 'nothing written past 24 bytes');
  });

  test('fuse_init_out for a kernel before 7.5: 8 bytes', () => {
    const b = dirty(16);
    assert.equal(R.encodeInitOut(b, 0, initOut, 4), 8);
    assert.deepEqual(b.subarray(0, 8), le([7, 4], [45, 4])); // major, minor
    assert.deepEqual(b.subarray(8), dirty(8));
  });
});

// ---- notifications ------------------------------------------------------------------------------

describe('notifications', () => {
  test('encoders', () => {
    let b = dirty(24);
    assert.equal(R.encodeNotifyInvalInode(b, 0, 5n, -1n, 0n), 24);
    assert.deepEqual(b, le(
      [5n, 8], // ino
      [-1n, 8], // off: -1 = attributes only
      [0n, 8], // len
    ));
    b = dirty(20 + 8);
    assert.equal(R.encodeNotifyInvalEntry(b, 0, 1n, raw('foo'), 1), 20);
    assert.deepEqual(b.subarray(0, 20), le(
      [1n, 8], // parent
      [3, 4], // namelen
      [1, 4], // flags = FUSE_EXPIRE_ONLY
      z('foo'), // name + NUL
    ));
    assert.deepEqual(b.subarray(20), dirty(8));
    b = dirty(30);
    assert.equal(R.encodeNotifyDelete(b, 0, 1n, 9n, raw('bar!')), 29);
    assert.deepEqual(b.subarray(0, 29), le(
      [1n, 8], // parent
      [9n, 8], // child
      [4, 4], // namelen
      [0, 4], // padding
      z('bar!'), // name + NUL
    ));
    b = dirty(27);
    assert.equal(R.encodeNotifyStore(b, 0, 9n, 4096n, raw('xyz')), 27);
    assert.deepEqual(b, le(
      [9n, 8], // nodeid
      [4096n, 8], // offset
      [3, 4], // size
      [0, 4], // padding
      raw('xyz'), // data
    ));
    b = dirty(32);
    assert.equal(R.encodeNotifyRetrieve(b, 0, 77n, 9n, 8192n, 1000), 32);
    assert.deepEqual(b, le(
      [77n, 8], // notify_unique
      [9n, 8], // nodeid
      [8192n, 8], // offset
      [1000, 4], // size
      [0, 4], // padding
    ));
  });

  test('whole messages through the Notifier: header with unique 0 and the code as error', async () => {
    const sent: Buffer[] = [];
    const n = new Notifier((msg) => {
      sent.push(Buffer.from(msg));
      return 0;
    });
    n.dispatching = true; // queue only, as inside a handler
    n.invalInode(5n, 0n, 4096n);
    n.invalEntry(1n, 'foo', true);
    n.delete(1n, 9n, Buffer.from('bar'));
    n.store(9n, 0n, raw('data'));
    const retrieved = n.retrieve(9n, 0n, 100);
    assert.equal(sent.length, 0, 'nothing is sent while dispatching');
    n.dispatching = false;
    n.flush();
    assert.equal(sent.length, 5);
    assert.deepEqual(sent[0], le(
      [16 + 24, 4], // len
      [NotifyCode.FUSE_NOTIFY_INVAL_INODE, 4], // error = notify code 2
      [0n, 8], // unique 0: a notification
      [5n, 8], // ino
      [0n, 8], // off
      [4096n, 8], // len
    ));
    assert.deepEqual(sent[1], le(
      [16 + 16 + 4, 4], // len
      [NotifyCode.FUSE_NOTIFY_INVAL_ENTRY, 4], // error = 3
      [0n, 8], // unique
      [1n, 8], // parent
      [3, 4], // namelen
      [1, 4], // flags = FUSE_EXPIRE_ONLY
      z('foo'), // name + NUL
    ));
    assert.deepEqual(sent[2], le(
      [16 + 24 + 4, 4], // len
      [NotifyCode.FUSE_NOTIFY_DELETE, 4], // error = 6
      [0n, 8], // unique
      [1n, 8], // parent
      [9n, 8], // child
      [3, 4], // namelen
      [0, 4], // padding
      z('bar'), // name + NUL
    ));
    assert.deepEqual(sent[3], le(
      [16 + 24 + 4, 4], // len
      [NotifyCode.FUSE_NOTIFY_STORE, 4], // error = 4
      [0n, 8], // unique
      [9n, 8], // nodeid
      [0n, 8], // offset
      [4, 4], // size
      [0, 4], // padding
      raw('data'), // data
    ));
    assert.deepEqual(sent[4], le(
      [16 + 32, 4], // len
      [NotifyCode.FUSE_NOTIFY_RETRIEVE, 4], // error = 5
      [0n, 8], // unique
      [1n, 8], // notify_unique: the first retrieve
      [9n, 8], // nodeid
      [0n, 8], // offset
      [100, 4], // size
      [0, 4], // padding
    ));
    // The kernel answers with a NOTIFY_REPLY whose unique is notify_unique.
    n.retrieved(1n, raw('cached'));
    assert.deepEqual(await retrieved, raw('cached'));
  });

  test('a failed retrieve send rejects the promise', async () => {
    const n = new Notifier(() => -2);
    const errors: number[] = [];
    n.onError = (_code, errno) => errors.push(errno);
    n.dispatching = true;
    const p = n.retrieve(9n, 0n, 10);
    n.dispatching = false;
    n.flush();
    await assert.rejects(p, (e: unknown) => (e as { errno?: number }).errno === 2);
    assert.deepEqual(errors, [2]);
  });
});
