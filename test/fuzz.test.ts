// Robustness of Session.dispatch against what a kernel never sends (and a
// few things it does): random buffers, truncated bodies, lying headers,
// oversized extension lengths, plus well-formed requests against a MemFs.
// dispatch must never throw; every request with a parsable header gets
// exactly one reply carrying its unique (none for FORGET, BATCH_FORGET,
// INTERRUPT, NOTIFY_REPLY); malformed ones get EINVAL or EIO.
//
// Replies go to a temporary regular file instead of /dev/fuse (a pipe would
// fill up and block: nothing reads it while we dispatch), then the file is
// parsed back, framed by each reply's len field.
//
// Reproduce a failure with TSFUSE_FUZZ_SEED=<seed printed in the failure>.
// TSFUSE_FUZZ_STUB_SYS=1 replaces src/sys with a node:fs stub (also used
// automatically when src/sys cannot be loaded).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { register } from 'node:module';
import { FATTR_SIZE, Opcode } from '../src/protocol/kernel.js';
import type { SetattrIn, WriteIn } from '../src/protocol/requests.js';
import { MemFs } from '../src/fs/memfs.js';
import type { MemFsOptions } from '../src/fs/memfs.js';
import { Errno, FuseError } from '../src/session/errors.js';
import type { AttrReply, RequestContext } from '../src/session/filesystem.js';
import { Rng } from './rng.js';

// ---- the sys layer, or a stand-in -------------------------------------------------

const SYS_STUB = `
import { writeSync, readSync, closeSync } from 'node:fs';
const wrap = (f) => { try { return f(); } catch (e) { return typeof e.errno === 'number' ? e.errno : -5; } };
export function write(fd, buf, len) { return wrap(() => writeSync(fd, buf, 0, len)); }
export function read(fd, buf, len) { return wrap(() => readSync(fd, buf, 0, len)); }
export function close(fd) { return wrap(() => (closeSync(fd), 0)); }
`;

const SYS_HOOK = `
const STUB = ${JSON.stringify('data:text/javascript,' + encodeURIComponent(SYS_STUB))};
export async function resolve(specifier, context, next) {
  if (specifier === '../sys/index.js' && context.parentURL && context.parentURL.includes('/src/session/')) {
    return { url: STUB, shortCircuit: true };
  }
  return next(specifier, context);
}
`;

let sysNote = 'src/sys';
let useStub = process.env.TSFUSE_FUZZ_STUB_SYS === '1';
if (!useStub) {
  try {
    await import('../src/sys/index.js');
  } catch (e) {
    useStub = true;
    sysNote = `a node:fs stub (src/sys did not load: ${(e as Error).message.split('\n')[0]})`;
  }
}
if (useStub) {
  if (sysNote === 'src/sys') sysNote = 'a node:fs stub';
  register('data:text/javascript,' + encodeURIComponent(SYS_HOOK));
}
const { Session } = await import('../src/session/session.js');
type SessionT = InstanceType<typeof Session>;


// ---- the filesystem ---------------------------------------------------------------------

/**
 * MemFs keeps files in one Buffer each (not sparse): a random WRITE at offset
 * 3 GB would allocate 3 GB. The fuzz is about the protocol engine, so files
 * are capped at 1 MiB here (EFBIG beyond).
 */
class BoundedMemFs extends MemFs {
  static readonly LIMIT = 1n << 20n;
  override write(ctx: RequestContext, ino: bigint, a: WriteIn): number {
    if (a.offset + BigInt(a.data.length) > BoundedMemFs.LIMIT) throw new FuseError(Errno.EFBIG);
    return super.write(ctx, ino, a);
  }
  override setattr(ctx: RequestContext, ino: bigint, s: SetattrIn): AttrReply {
    if (s.valid & FATTR_SIZE && s.size > BoundedMemFs.LIMIT) throw new FuseError(Errno.EFBIG);
    return super.setattr(ctx, ino, s);
  }
}

// ---- request building --------------------------------------------------------------------

const EINVAL = -22;
const EIO = -5;
const NO_REPLY = new Set<number>([Opcode.FUSE_FORGET, Opcode.FUSE_BATCH_FORGET, Opcode.FUSE_INTERRUPT, Opcode.FUSE_NOTIFY_REPLY]);
const KNOWN = new Set<number>(Object.values(Opcode).filter((v): v is number => typeof v === 'number'));

/** Smallest argument size each opcode needs at any protocol minor; anything shorter is malformed. */
const MIN_ARGS: Partial<Record<Opcode, number>> = {
  [Opcode.FUSE_FORGET]: 8, [Opcode.FUSE_SETATTR]: 88, [Opcode.FUSE_MKNOD]: 8, [Opcode.FUSE_MKDIR]: 8,
  [Opcode.FUSE_RENAME]: 8, [Opcode.FUSE_LINK]: 8, [Opcode.FUSE_OPEN]: 8, [Opcode.FUSE_READ]: 24,
  [Opcode.FUSE_WRITE]: 24, [Opcode.FUSE_RELEASE]: 16, [Opcode.FUSE_FSYNC]: 16, [Opcode.FUSE_SETXATTR]: 8,
  [Opcode.FUSE_GETXATTR]: 8, [Opcode.FUSE_LISTXATTR]: 8, [Opcode.FUSE_FLUSH]: 24, [Opcode.FUSE_INIT]: 16,
  [Opcode.FUSE_OPENDIR]: 8, [Opcode.FUSE_READDIR]: 24, [Opcode.FUSE_RELEASEDIR]: 16, [Opcode.FUSE_FSYNCDIR]: 16,
  [Opcode.FUSE_GETLK]: 48, [Opcode.FUSE_SETLK]: 48, [Opcode.FUSE_SETLKW]: 48, [Opcode.FUSE_ACCESS]: 8,
  [Opcode.FUSE_CREATE]: 8, [Opcode.FUSE_INTERRUPT]: 8, [Opcode.FUSE_BMAP]: 16, [Opcode.FUSE_IOCTL]: 32,
  [Opcode.FUSE_POLL]: 24, [Opcode.FUSE_NOTIFY_REPLY]: 40, [Opcode.FUSE_BATCH_FORGET]: 8, [Opcode.FUSE_FALLOCATE]: 32,
  [Opcode.FUSE_READDIRPLUS]: 24, [Opcode.FUSE_RENAME2]: 16, [Opcode.FUSE_LSEEK]: 24, [Opcode.FUSE_COPY_FILE_RANGE]: 56,
  [Opcode.FUSE_SYNCFS]: 8, [Opcode.FUSE_TMPFILE]: 8, [Opcode.FUSE_STATX]: 24, [Opcode.FUSE_COPY_FILE_RANGE_64]: 56,
};
const TRUNCATABLE = Object.keys(MIN_ARGS).map(Number);

/** Opcodes whose arguments end with NUL-terminated names, and the largest fixed struct before them. */
const NAME_OPS: [Opcode, number][] = [
  [Opcode.FUSE_LOOKUP, 0], [Opcode.FUSE_UNLINK, 0], [Opcode.FUSE_RMDIR, 0], [Opcode.FUSE_REMOVEXATTR, 0],
  [Opcode.FUSE_SYMLINK, 0], [Opcode.FUSE_MKNOD, 16], [Opcode.FUSE_MKDIR, 8], [Opcode.FUSE_RENAME, 8],
  [Opcode.FUSE_RENAME2, 16], [Opcode.FUSE_LINK, 8], [Opcode.FUSE_CREATE, 16], [Opcode.FUSE_TMPFILE, 16],
  [Opcode.FUSE_SETXATTR, 16], [Opcode.FUSE_GETXATTR, 8],
];

/** Size of a successful reply (header included) for opcodes with a fixed-size answer. */
const OK_LEN: Partial<Record<Opcode, number>> = {
  [Opcode.FUSE_LOOKUP]: 16 + 128, [Opcode.FUSE_MKNOD]: 16 + 128, [Opcode.FUSE_MKDIR]: 16 + 128,
  [Opcode.FUSE_SYMLINK]: 16 + 128, [Opcode.FUSE_LINK]: 16 + 128, [Opcode.FUSE_CREATE]: 16 + 144,
  [Opcode.FUSE_GETATTR]: 16 + 104, [Opcode.FUSE_SETATTR]: 16 + 104, [Opcode.FUSE_OPEN]: 16 + 16,
  [Opcode.FUSE_OPENDIR]: 16 + 16, [Opcode.FUSE_WRITE]: 16 + 8, [Opcode.FUSE_STATFS]: 16 + 80,
  [Opcode.FUSE_UNLINK]: 16, [Opcode.FUSE_RMDIR]: 16, [Opcode.FUSE_RENAME]: 16, [Opcode.FUSE_RENAME2]: 16,
  [Opcode.FUSE_RELEASE]: 16, [Opcode.FUSE_SETXATTR]: 16, [Opcode.FUSE_REMOVEXATTR]: 16, [Opcode.FUSE_DESTROY]: 16,
};

function header(len: number, opcode: number, unique: bigint, nodeid: bigint, extlen = 0): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32LE(len >>> 0, 0); // len
  h.writeUInt32LE(opcode >>> 0, 4); // opcode
  h.writeBigUInt64LE(unique, 8); // unique
  h.writeBigUInt64LE(nodeid, 16); // nodeid
  h.writeUInt32LE(1000, 24); // uid
  h.writeUInt32LE(1000, 28); // gid
  h.writeUInt32LE(4242, 32); // pid
  h.writeUInt16LE(extlen, 36); // total_extlen
  return h;
}

const u32le = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const u64le = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
};
const z = (s: string): Buffer => Buffer.from(s + '\0', 'latin1');

function initArgs(minor = 45, flags = 0xffffffffn | (0x7ffn << 32n)): Buffer {
  return Buffer.concat([
    u32le(7), // major
    u32le(minor), // minor
    u32le(131072), // max_readahead
    u32le(Number(flags & 0xffffffffn)), // flags
    u32le(Number(flags >> 32n)), // flags2
    Buffer.alloc(44), // unused[11]
  ]);
}

// ---- the harness ---------------------------------------------------------------------------

interface Expectation {
  /** undefined: the request is too short to carry one, so no reply can be matched. */
  unique: bigint | undefined;
  opcode: number;
  replies: 0 | 1;
  /** Allowed error values when a reply is due; undefined: any. */
  errors?: number[];
  what: string;
  bytes: string;
}

interface Reply {
  len: number;
  error: number;
  unique: bigint;
}

class Harness {
  readonly file: string;
  readonly fd: number;
  readonly session: SessionT;
  readonly expected: Expectation[] = [];
  readonly thrown: string[] = [];
  private uniq = 1000n;
  logLines = 0;
  /** Replies with error 0, and how many distinct opcodes they answered. */
  succeeded = 0;
  succeededOps = 0;

  constructor(readonly rng: Rng, fsOptions: MemFsOptions = {}) {
    this.file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsfuse-fuzz-')), 'replies');
    this.fd = fs.openSync(this.file, 'w+');
    this.session = new Session(this.fd, new BoundedMemFs(fsOptions), { log: () => void this.logLines++ });
  }

  nextUnique(): bigint {
    return this.uniq++;
  }

  get minor(): number {
    return this.session.conn?.minor ?? 0;
  }

  /**
   * Dispatches `req` from inside a larger buffer whose tail (past the request)
   * is non-NUL junk, as in the session's real read buffer, and records what
   * reply is due.
   */
  send(req: Buffer, what: string, malformed: 'body' | null = null): void {
    const n = req.length;
    const buf = Buffer.concat([req, this.rng.nonzero(this.rng.range(0, 64))]);
    let e: Expectation;
    const hex = req.subarray(0, 96).toString('hex') + (n > 96 ? '…' : '');
    if (n < 40 || req.readUInt32LE(0) !== n) {
      // No parsable header: EIO to the unique it seems to carry, if it has one.
      e = n >= 16
        ? { unique: req.readBigUInt64LE(8), opcode: req.readUInt32LE(4), replies: 1, errors: [EIO], what, bytes: hex }
        : { unique: undefined, opcode: -1, replies: 0, what, bytes: hex };
    } else {
      const opcode = req.readUInt32LE(4);
      const unique = req.readBigUInt64LE(8);
      if (NO_REPLY.has(opcode)) e = { unique, opcode, replies: 0, what, bytes: hex };
      else if (malformed && KNOWN.has(opcode)) e = { unique, opcode, replies: 1, errors: [EINVAL], what, bytes: hex };
      else e = { unique, opcode, replies: 1, what, bytes: hex };
    }
    this.expected.push(e);
    try {
      this.session.dispatch(buf, n);
    } catch (err) {
      this.thrown.push(`${what} [${hex}]: ${String((err as Error)?.stack ?? err)}`);
    }
  }

  /** A request with a correct header around `args`. */
  request(opcode: number, nodeid: bigint, args: Buffer, what: string, malformed: 'body' | null = null): void {
    this.send(Buffer.concat([header(40 + args.length, opcode, this.nextUnique(), nodeid), args]), what, malformed);
  }

  readReplies(): Reply[] {
    const out = fs.readFileSync(this.file);
    const replies: Reply[] = [];
    let off = 0;
    while (off < out.length) {
      assert.ok(off + 16 <= out.length, `a partial reply header at ${off} of ${out.length}`);
      const len = out.readUInt32LE(off);
      assert.ok(len >= 16, `reply at ${off} has len ${len}`);
      assert.ok(off + len <= out.length, `reply at ${off} (len ${len}) runs past the end (${out.length})`);
      replies.push({ len, error: out.readInt32LE(off + 4), unique: out.readBigUInt64LE(off + 8) });
      off += len;
    }
    return replies;
  }

  /** Waits until every due reply has been written (asynchronous handlers, DESTROY). */
  async settle(): Promise<Reply[]> {
    const due = this.expected.reduce((s, e) => s + e.replies, 0);
    const deadline = Date.now() + 10_000;
    let replies = this.readReplies();
    while (replies.length < due && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      replies = this.readReplies();
    }
    // A little longer, so a stray extra reply would show up too.
    await new Promise((r) => setImmediate(r));
    return this.readReplies();
  }

  check(replies: Reply[]): void {
    assert.deepEqual(this.thrown, [], 'dispatch threw');
    const byUnique = new Map<bigint, Reply[]>();
    for (const r of replies) {
      assert.notEqual(r.unique, 0n, 'no notification was expected');
      assert.ok(r.error <= 0 && r.error > -4096, `error ${r.error} for ${r.unique}`);
      if (r.error !== 0) assert.equal(r.len, 16, `an error reply (${r.error}) carries no body`);
      const l = byUnique.get(r.unique);
      if (l) l.push(r);
      else byUnique.set(r.unique, [r]);
    }
    let due = 0;
    const seen = new Set<bigint>();
    for (const e of this.expected) {
      due += e.replies;
      if (e.unique === undefined) continue;
      assert.ok(!seen.has(e.unique), `unique ${e.unique} used twice by the test`);
      seen.add(e.unique);
      const got = byUnique.get(e.unique) ?? [];
      const ctx = `${e.what} (opcode ${e.opcode}, unique ${e.unique}) [${e.bytes}]`;
      assert.equal(got.length, e.replies, `${ctx}: ${got.length} replies, expected ${e.replies}`);
      if (e.replies === 1) {
        const r = got[0]!;
        if (e.errors) assert.ok(e.errors.includes(r.error), `${ctx}: error ${r.error}, expected one of ${e.errors}`);
        const okLen = OK_LEN[e.opcode as Opcode];
        if (r.error === 0 && okLen !== undefined && e.errors === undefined) assert.equal(r.len, okLen, `${ctx}: reply length`);
      }
    }
    for (const u of byUnique.keys()) assert.ok(seen.has(u), `a reply to unique ${u}, which no request carried`);
    assert.equal(replies.length, due, 'total number of replies');
  }

  close(): void {
    fs.closeSync(this.fd);
    fs.rmSync(path.dirname(this.file), { recursive: true, force: true });
  }
}

// ---- generators ------------------------------------------------------------------------------

const NAMES = ['a', 'b', 'c', 'dir', 'sub', 'f.txt', 'g', 'link', '.', '..', 'x'.repeat(255), 'y'.repeat(256)];
const XATTRS = ['user.a', 'user.b', 'trusted.x', 'security.selinux'];

function nodeid(rng: Rng): bigint {
  return rng.chance(0.9) ? BigInt(rng.range(0, 40)) : rng.u64();
}

/** Pure noise: any length, any bytes (unique planted where there is room, for matching). */
function genGarbage(h: Harness, rng: Rng): void {
  const n = rng.chance(0.2) ? rng.range(0, 40) : rng.range(0, rng.chance(0.05) ? 5000 : 300);
  const b = rng.bytes(n, 0.2);
  if (n >= 16) b.writeBigUInt64LE(h.nextUnique(), 8);
  h.send(b, 'garbage');
}

/** A correct header, a random opcode 0..60, a random body. */
function genRandomBody(h: Harness, rng: Rng): void {
  const opcode = rng.range(0, 60);
  const len = rng.chance(0.1) ? rng.range(0, 2000) : rng.range(0, 120);
  h.request(opcode, nodeid(rng), rng.bytes(len, rng.pick([0, 0.1, 0.5])), `random body op ${opcode}`);
}

/** A correct header and a body shorter than the opcode's struct. */
function genTruncated(h: Harness, rng: Rng): void {
  const opcode = rng.pick(TRUNCATABLE);
  const min = MIN_ARGS[opcode as Opcode]!;
  h.request(opcode, nodeid(rng), rng.bytes(rng.range(0, min - 1), 0.3), `truncated op ${opcode}`, 'body');
}

/** GETATTR with a partial fuse_getattr_in (empty is fine: before 7.9 there was none). */
function genTruncatedGetattr(h: Harness, rng: Rng): void {
  const len = rng.range(1, 15);
  h.request(Opcode.FUSE_GETATTR, nodeid(rng), rng.bytes(len), `getattr ${len} bytes`, h.minor >= 9 ? 'body' : null);
}

/** The fixed struct present, the name without its NUL. */
function genUnterminatedName(h: Harness, rng: Rng): void {
  const [opcode, fixed] = rng.pick(NAME_OPS);
  h.request(opcode, nodeid(rng), rng.nonzero(fixed + rng.range(0, 40)), `unterminated name op ${opcode}`, 'body');
}

/** A header whose len does not match the bytes read. */
function genLyingLen(h: Harness, rng: Rng): void {
  const body = rng.bytes(rng.range(0, 100), 0.3);
  const n = 40 + body.length;
  const len = rng.pick([n + 1, n - 1, n + 8, 0, 40, 0xffffffff, rng.u32(), n * 2]);
  if (len === n) return;
  const opcode = rng.chance(0.5) ? rng.pick([...KNOWN]) : rng.range(0, 60);
  h.send(Buffer.concat([header(len, opcode, h.nextUnique(), nodeid(rng)), body]), `len says ${len}, read ${n}`);
}

/** A request shorter than the header, its len field honest. */
function genShort(h: Harness, rng: Rng): void {
  const n = rng.range(0, 39);
  const b = rng.bytes(n, 0.2);
  if (n >= 4) b.writeUInt32LE(n, 0);
  if (n >= 16) b.writeBigUInt64LE(h.nextUnique(), 8);
  h.send(b, `short ${n}`);
}

/** total_extlen claiming more than the request holds. */
function genBadExtlen(h: Harness, rng: Rng): void {
  const opcode = rng.pick([...KNOWN]);
  const body = rng.bytes(rng.range(0, 64), 0.3);
  const extlen = rng.range(Math.floor(body.length / 8) + 1, 0xffff);
  const req = Buffer.concat([header(40 + body.length, opcode, h.nextUnique(), nodeid(rng), extlen), body]);
  h.send(req, `extlen ${extlen} with ${body.length} bytes`, 'body');
}

/** Well-formed requests with plausible values, to drive MemFs through its paths. */
function genValid(h: Harness, rng: Rng): void {
  const ino = BigInt(rng.range(1, 30));
  const name = (): Buffer => z(rng.pick(NAMES));
  const fh = BigInt(rng.range(0, 3));
  const mode = rng.pick([0o100644, 0o040755, 0o120777, 0o010644, 0o020620, 0o140755, 0o644, 0]);
  const sizeField = (): number => rng.pick([0, 1, 100, 4096, 8192, 65536]);
  switch (rng.int(22)) {
    case 0: return h.request(Opcode.FUSE_LOOKUP, ino, name(), 'lookup');
    case 1: return h.request(Opcode.FUSE_MKDIR, ino, Buffer.concat([u32le(0o755), u32le(0o022), name()]), 'mkdir');
    case 2: return h.request(Opcode.FUSE_MKNOD, ino, Buffer.concat([u32le(mode), u32le(rng.u32()), u32le(0o022), u32le(0), name()]), 'mknod');
    case 3: return h.request(Opcode.FUSE_CREATE, ino, Buffer.concat([u32le(0o101), u32le(0o100644), u32le(0o022), u32le(0), name()]), 'create');
    case 4: return h.request(Opcode.FUSE_SYMLINK, ino, Buffer.concat([name(), z('target/' + rng.pick(NAMES))]), 'symlink');
    case 5: return h.request(Opcode.FUSE_LINK, ino, Buffer.concat([u64le(BigInt(rng.range(1, 30))), name()]), 'link');
    case 6: return h.request(rng.pick([Opcode.FUSE_UNLINK, Opcode.FUSE_RMDIR]), ino, name(), 'unlink/rmdir');
    case 7: {
      const newdir = u64le(BigInt(rng.range(1, 30)));
      if (rng.chance(0.5)) return h.request(Opcode.FUSE_RENAME, ino, Buffer.concat([newdir, name(), name()]), 'rename');
      return h.request(Opcode.FUSE_RENAME2, ino, Buffer.concat([newdir, u32le(rng.range(0, 7)), u32le(0), name(), name()]), 'rename2');
    }
    case 8: return h.request(rng.pick([Opcode.FUSE_OPEN, Opcode.FUSE_OPENDIR]), ino, Buffer.concat([u32le(rng.pick([0, 1, 2, 0o1002])), u32le(0)]), 'open');
    case 9: case 10: {
      const opcode = rng.pick([Opcode.FUSE_READ, Opcode.FUSE_READDIR, Opcode.FUSE_READDIRPLUS]);
      const args = Buffer.concat([u64le(fh), u64le(BigInt(rng.range(0, 70000))), u32le(sizeField()), u32le(0), u64le(0n), u32le(0), u32le(0)]);
      return h.request(opcode, ino, args, 'read');
    }
    case 11: case 12: {
      const data = rng.bytes(rng.range(0, 4096));
      const args = Buffer.concat([u64le(fh), u64le(BigInt(rng.range(0, 65536))), u32le(data.length), u32le(0), u64le(0n), u32le(1), u32le(0), data]);
      return h.request(Opcode.FUSE_WRITE, ino, args, 'write');
    }
    case 13: return h.request(Opcode.FUSE_GETATTR, ino, Buffer.concat([u32le(rng.range(0, 1)), u32le(0), u64le(fh)]), 'getattr');
    case 14: {
      const valid = rng.int(1 << 12);
      const t = (): bigint => BigInt(rng.range(-3_000_000_000, 3_000_000_000));
      const args = Buffer.concat([
        u32le(valid), u32le(0), u64le(fh), u64le(BigInt(rng.range(0, 65536))), u64le(0n),
        u64le(t()), u64le(t()), u64le(t()), u32le(rng.range(0, 999_999_999)), u32le(rng.range(0, 999_999_999)), u32le(0),
        u32le(mode), u32le(0), u32le(rng.range(0, 2000)), u32le(rng.range(0, 2000)), u32le(0),
      ]);
      return h.request(Opcode.FUSE_SETATTR, ino, args, 'setattr');
    }
    case 15: {
      const value = rng.bytes(rng.range(0, 64));
      return h.request(Opcode.FUSE_SETXATTR, ino, Buffer.concat([u32le(value.length), u32le(rng.range(0, 3)), z(rng.pick(XATTRS)), value]), 'setxattr');
    }
    case 16: return h.request(Opcode.FUSE_GETXATTR, ino, Buffer.concat([u32le(rng.pick([0, 1, 4, 64, 65536])), u32le(0), z(rng.pick(XATTRS))]), 'getxattr');
    case 17: return h.request(Opcode.FUSE_LISTXATTR, ino, Buffer.concat([u32le(rng.pick([0, 1, 8, 65536])), u32le(0)]), 'listxattr');
    case 18: return h.request(Opcode.FUSE_REMOVEXATTR, ino, z(rng.pick(XATTRS)), 'removexattr');
    case 19: return h.request(rng.pick([Opcode.FUSE_STATFS, Opcode.FUSE_READLINK]), ino, Buffer.alloc(0), 'statfs/readlink');
    case 20: {
      if (rng.chance(0.5)) return h.request(Opcode.FUSE_FORGET, ino, u64le(BigInt(rng.range(1, 3))), 'forget');
      const k = rng.range(0, 4);
      const items = [];
      for (let i = 0; i < k; i++) items.push(u64le(BigInt(rng.range(1, 30))), u64le(1n));
      return h.request(Opcode.FUSE_BATCH_FORGET, 0n, Buffer.concat([u32le(k), u32le(0), ...items]), 'batch_forget');
    }
    default: {
      const opcode = rng.pick([Opcode.FUSE_RELEASE, Opcode.FUSE_RELEASEDIR]);
      return h.request(opcode, ino, Buffer.concat([u64le(fh), u32le(0), u32le(0), u64le(0n)]), 'release');
    }
  }
}

/** INTERRUPT and NOTIFY_REPLY, well formed: never answered. */
function genSilent(h: Harness, rng: Rng): void {
  if (rng.chance(0.5)) {
    h.request(Opcode.FUSE_INTERRUPT, 0n, u64le(BigInt(rng.range(0, 3000))), 'interrupt');
  } else {
    const data = rng.bytes(rng.range(0, 32));
    h.request(Opcode.FUSE_NOTIFY_REPLY, 1n, Buffer.concat([u64le(0n), u64le(0n), u32le(data.length), u32le(0), u64le(0n), u64le(0n), data]), 'notify_reply');
  }
}

const GENERATORS: [number, (h: Harness, rng: Rng) => void][] = [
  [10, genGarbage], [25, genRandomBody], [12, genTruncated], [3, genTruncatedGetattr], [8, genUnterminatedName],
  [8, genLyingLen], [4, genShort], [5, genBadExtlen], [22, genValid], [3, genSilent],
];
const TOTAL_WEIGHT = GENERATORS.reduce((s, [w]) => s + w, 0);

function pickGenerator(rng: Rng): (h: Harness, rng: Rng) => void {
  let x = rng.int(TOTAL_WEIGHT);
  for (const [w, g] of GENERATORS) {
    if (x < w) return g;
    x -= w;
  }
  return genGarbage;
}

// ---- the runs ---------------------------------------------------------------------------------

const BASE_SEED = process.env.TSFUSE_FUZZ_SEED !== undefined ? Number(process.env.TSFUSE_FUZZ_SEED) : (Date.now() ^ (process.pid << 16)) >>> 0;

async function run(seed: number, iterations: number, fsOptions: MemFsOptions): Promise<Harness> {
  const rng = new Rng(seed);
  const h = new Harness(rng, fsOptions);
  try {
    // Before INIT, the filesystem is not served.
    h.request(Opcode.FUSE_GETATTR, 1n, Buffer.alloc(0), 'getattr before INIT');
    h.expected.at(-1)!.errors = [EIO];
    h.request(Opcode.FUSE_LOOKUP, 1n, z('a'), 'lookup before INIT');
    h.expected.at(-1)!.errors = [EIO];
    // A valid INIT from a 7.45 kernel offering everything.
    h.request(Opcode.FUSE_INIT, 0n, initArgs(), 'INIT');
    h.expected.at(-1)!.errors = [0];
    assert.equal(h.session.conn?.minor, 45);
    for (let i = 0; i < iterations; i++) pickGenerator(rng)(h, rng);
    // One more well-formed request at the end must still be served.
    h.request(Opcode.FUSE_GETATTR, 1n, Buffer.alloc(0), 'final getattr');
    h.expected.at(-1)!.errors = [0];
    const replies = await h.settle();
    const init = replies.find((r) => r.unique === 1002n);
    assert.ok(init && init.error === 0 && init.len === 16 + 64, 'the INIT reply is 64 bytes');
    h.check(replies);
    // The fuzz must also reach the filesystem's success paths, not only error replies.
    const opOf = new Map(h.expected.map((e) => [e.unique, e.opcode]));
    const ok = replies.filter((r) => r.error === 0);
    h.succeeded = ok.length;
    h.succeededOps = new Set(ok.map((r) => opOf.get(r.unique)!)).size;
    return h;
  } catch (e) {
    const err = e as Error;
    err.message = `fuzz seed ${seed} (reproduce with TSFUSE_FUZZ_SEED=${seed}, sys: ${sysNote}): ${err.message}`;
    throw err;
  } finally {
    h.close();
  }
}

test(`dispatch survives random and malformed requests (synchronous MemFs; seed ${BASE_SEED})`, async (t) => {
  const h = await run(BASE_SEED, 20_000, {});
  t.diagnostic(`seed ${BASE_SEED}: ${h.expected.length} requests, ${h.succeeded} answered OK (${h.succeededOps} opcodes), sys: ${sysNote}`);
  assert.ok(h.succeeded > 500 && h.succeededOps >= 15, `seed ${BASE_SEED}: only ${h.succeeded} successful replies over ${h.succeededOps} opcodes`);
});

test(`dispatch survives random and malformed requests (asynchronous MemFs; seed ${BASE_SEED + 1})`, async (t) => {
  const h = await run(BASE_SEED + 1, 5_000, { async: true });
  t.diagnostic(`seed ${BASE_SEED + 1}: ${h.expected.length} requests, ${h.succeeded} answered OK (${h.succeededOps} opcodes)`);
});

test('fixed seeds', async () => {
  for (const seed of [1, 2, 0xdeadbeef]) await run(seed, 3_000, { async: seed === 2 });
});

test('a truncated INTERRUPT or FORGET gets no reply', async () => {
  const h = new Harness(new Rng(7));
  try {
    h.request(Opcode.FUSE_INIT, 0n, initArgs(), 'INIT');
    for (const opcode of [Opcode.FUSE_INTERRUPT, Opcode.FUSE_FORGET, Opcode.FUSE_BATCH_FORGET, Opcode.FUSE_NOTIFY_REPLY]) {
      h.request(opcode, 1n, Buffer.alloc(3), `truncated ${opcode}`, 'body');
    }
    const replies = await h.settle();
    h.check(replies);
    assert.equal(replies.length, 1);
  } finally {
    h.close();
  }
});
