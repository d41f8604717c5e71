// Session-level fuzz against a simulated kernel (test/security-harness.ts):
// whole sessions of plausible requests (INIT, LOOKUP of names, GETATTR,
// SETATTR, OPEN/READ/WRITE/RELEASE with the fhs and nodeids the replies gave
// and with random ones, directory handles, creates and removals, renames,
// links, xattrs, FORGET/BATCH_FORGET...) mixed with corrupted copies of them
// (bytes flipped, bodies cut or extended, lying lengths, random opcodes and
// nodeids) and noise, against a PassthroughFs on a temporary directory.
//
// Checked after every request: dispatch never throws; every request with a
// parsable header gets exactly one reply carrying its unique (none for
// FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY); error values are valid
// negative errnos. Checked at the end: nothing outside the source directory
// changed (a sentinel tree the source's symlinks point into, and the
// directory around both), and DESTROY gives back every fd the session took.
//
// Seeded: the seed is printed; TSFUSE_FUZZ_SEED=<seed> replays a run.
// TSFUSE_LONG=1 runs longer sessions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from './helpers.js';
import { LONG, fdCount, snapshot } from './reliability-util.js';
import { NO_REPLY, Opcode, SimKernel, FATTR, header, parseEntry, setattrIn, u32, u64, z } from './security-harness.js';
import type { Reply } from './security-harness.js';
import { Rng } from './rng.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;

/**
 * Keeps the fuzz from harming the machine or hanging, whatever the corruption
 * made of a request: no device nodes other than the 0/0 whiteout (a root
 * daemon would create real ones and a later OPEN/WRITE would reach the
 * device), no FIFOs (an OPEN of one blocks; the kernel never sends OPEN for
 * special files), bounded fallocate (it allocates real blocks), and no
 * DESTROY before the end (the session closes its fds; a real kernel sends
 * nothing after it).
 */
function sanitize(buf: Buffer): void {
  if (buf.length < 8) return;
  const opcode = buf.readUInt32LE(4);
  if (opcode === Opcode.FUSE_DESTROY) buf.writeUInt32LE(0xfff0, 4);
  if (opcode === Opcode.FUSE_MKNOD && buf.length >= 48) {
    let mode = buf.readUInt32LE(40);
    const type = mode & S_IFMT;
    if (type === S_IFIFO) mode = (mode & ~S_IFMT) | S_IFSOCK;
    buf.writeUInt32LE(mode >>> 0, 40);
    if (type === S_IFCHR || type === S_IFBLK) buf.writeUInt32LE(0, 44);
  }
  if (opcode === Opcode.FUSE_FALLOCATE && buf.length >= 40 + 24) {
    buf.writeBigUInt64LE(buf.readBigUInt64LE(48) & 0xffffffn, 48); // offset < 16 MiB
    buf.writeBigUInt64LE(buf.readBigUInt64LE(56) & 0x3fffffn, 56); // length < 4 MiB
  }
}

const NAMES: (string | Buffer)[] = [
  'a', 'b', 'c', 'd', 'sub', 'f.txt', 'abs', 'rel', 'dirlink', 'dotdot', 'file', 'dir', '.', '..', 'x'.repeat(255), 'y'.repeat(256),
  'x/y', '../outside', '../outside/target', '', 'outside', Buffer.from([0xff, 0xfe, 0x01, 0x7f]), '-rf',
];
const XATTRS = ['user.a', 'user.b', 'trusted.t', 'security.x', 'system.posix_acl_access', 'user.' + 'k'.repeat(250)];
const TARGETS = ['target', '../outside/target', '/nonexistent', '..', '.'];

interface State {
  nodes: bigint[];
  lookups: Map<bigint, number>;
  fhs: { node: bigint; fh: bigint }[];
  dirFhs: { node: bigint; fh: bigint }[];
}

class Fuzzer {
  readonly rng: Rng;
  readonly k: SimKernel;
  readonly st: State = { nodes: [1n], lookups: new Map(), fhs: [], dirFhs: [] };
  readonly failures: string[] = [];
  ok = 0;
  errors = 0;
  readonly opsOk = new Set<number>();

  constructor(readonly seed: number, source: string, extraTargets: string[]) {
    this.rng = new Rng(seed);
    this.k = new SimKernel({ source });
    TARGETS.push(...extraTargets.filter((t) => !TARGETS.includes(t)));
  }

  name(): Buffer {
    const n = this.rng.pick(NAMES);
    return Buffer.isBuffer(n) ? n : Buffer.from(n, 'latin1');
  }

  node(): bigint {
    const r = this.rng.int(20);
    if (r === 0) return this.rng.u64();
    if (r === 1) return BigInt(this.rng.range(0, 50));
    return this.rng.pick(this.st.nodes);
  }

  fh(dir = false): { node: bigint; fh: bigint } {
    const list = dir ? this.st.dirFhs : this.st.fhs;
    if (list.length && this.rng.chance(0.85)) return this.rng.pick(list);
    return { node: this.node(), fh: this.rng.chance(0.5) ? BigInt(this.rng.range(0, 64)) : this.rng.u64() };
  }

  /** A plausible request: opcode, nodeid and body. */
  plausible(): [number, bigint, Buffer] {
    const r = this.rng;
    const mode = (): number => r.pick([0o644, 0o600, 0o755, 0o4755, 0o2755, 0o1777, 0o000, 0o777]);
    switch (r.int(34)) {
      case 0: case 1: case 2: return [Opcode.FUSE_LOOKUP, this.node(), z(this.name())];
      case 3: return [Opcode.FUSE_GETATTR, this.node(), Buffer.concat([u32(r.int(2)), u32(0), u64(this.fh().fh)])];
      case 4: {
        const valid = r.pick([FATTR.MODE, FATTR.UID | FATTR.GID, FATTR.UID, FATTR.GID, FATTR.SIZE, FATTR.ATIME | FATTR.MTIME, FATTR.ATIME_NOW | FATTR.ATIME, FATTR.MTIME | FATTR.MTIME_NOW, FATTR.SIZE | FATTR.FH, FATTR.KILL_SUIDGID, r.int(4096)]);
        const f = this.fh();
        return [Opcode.FUSE_SETATTR, r.chance(0.5) ? f.node : this.node(), setattrIn({
          valid, fh: f.fh, size: BigInt(r.pick([0, 1, 4095, 4096, 100000, 1 << 20, r.int(1 << 22)])), mode: mode() | r.pick([0, S_IFREG, S_IFDIR]),
          uid: r.pick([0, 1000, 1001, 65534, r.int(70000)]), gid: r.pick([0, 1000, 2000, r.int(70000)]),
          atime: BigInt(r.range(-100, 2e9)), mtime: BigInt(r.range(0, 2e9)), atimensec: r.int(1e9), mtimensec: r.int(1e9),
        })];
      }
      case 5: return [Opcode.FUSE_READLINK, this.node(), Buffer.alloc(0)];
      case 6: return [Opcode.FUSE_SYMLINK, this.node(), Buffer.concat([z(this.name()), z(r.pick(TARGETS))])];
      case 7: return [Opcode.FUSE_MKNOD, this.node(), Buffer.concat([u32(r.pick([S_IFREG | 0o644, S_IFSOCK | 0o755, S_IFCHR | 0o600, S_IFIFO | 0o644, 0o644])), u32(0), u32(0o022), u32(0), z(this.name())])];
      case 8: return [Opcode.FUSE_MKDIR, this.node(), Buffer.concat([u32(mode()), u32(0o022), z(this.name())])];
      case 9: return [r.pick([Opcode.FUSE_UNLINK, Opcode.FUSE_RMDIR]), this.node(), z(this.name())];
      case 10: {
        if (r.chance(0.5)) return [Opcode.FUSE_RENAME, this.node(), Buffer.concat([u64(this.node()), z(this.name()), z(this.name())])];
        return [Opcode.FUSE_RENAME2, this.node(), Buffer.concat([u64(this.node()), u32(r.pick([0, 1, 2, 4, 3, 7])), u32(0), z(this.name()), z(this.name())])];
      }
      case 11: return [Opcode.FUSE_LINK, this.node(), Buffer.concat([u64(this.node()), z(this.name())])];
      case 12: case 13: return [Opcode.FUSE_OPEN, this.node(), Buffer.concat([u32(r.pick([0, 1, 2, 0o1002, 0o2001, 0o200000, 0o40000, 0o4000, 0o100000 | 2])), u32(0)])];
      case 14: case 15: {
        const f = this.fh();
        return [Opcode.FUSE_READ, f.node, Buffer.concat([u64(f.fh), u64(BigInt(r.pick([0, 1, 4096, r.int(1 << 21)]))), u32(r.pick([0, 1, 4096, 65536, 131072, 1 << 20])), u32(0), u64(0n), u32(0), u32(0)])];
      }
      case 16: case 17: {
        const f = this.fh();
        const data = r.bytes(r.pick([0, 1, 100, 4096, 20000]));
        return [Opcode.FUSE_WRITE, f.node, Buffer.concat([u64(f.fh), u64(BigInt(r.pick([0, 1, 4096, r.int(1 << 21)]))), u32(data.length), u32(r.pick([0, 1, 4])), u64(0n), u32(0), u32(0), data])];
      }
      case 18: {
        const f = this.fh();
        return [r.pick([Opcode.FUSE_RELEASE, Opcode.FUSE_FLUSH, Opcode.FUSE_FSYNC]), f.node, Buffer.concat([u64(f.fh), u32(r.int(2)), u32(0), u64(0n)])];
      }
      case 19: return [Opcode.FUSE_OPENDIR, this.node(), Buffer.concat([u32(0), u32(0)])];
      case 20: case 21: {
        const d = this.fh(true);
        return [r.pick([Opcode.FUSE_READDIR, Opcode.FUSE_READDIRPLUS]), d.node, Buffer.concat([u64(d.fh), u64(BigInt(r.pick([0, 1, 2, 5, r.int(1000), Number.MAX_SAFE_INTEGER]))), u32(r.pick([0, 1, 80, 4096, 65536])), u32(0), u64(0n), u32(0), u32(0)])];
      }
      case 22: {
        const d = this.fh(true);
        return [r.pick([Opcode.FUSE_RELEASEDIR, Opcode.FUSE_FSYNCDIR]), d.node, Buffer.concat([u64(d.fh), u32(0), u32(0), u64(0n)])];
      }
      case 23: return [Opcode.FUSE_CREATE, this.node(), Buffer.concat([u32(r.pick([0o101, 0o102, 0o1102, 0o302, 0o2101])), u32(S_IFREG | mode()), u32(0o022), u32(0), z(this.name())])];
      case 24: {
        const v = r.bytes(r.pick([0, 1, 10, 300]));
        return [Opcode.FUSE_SETXATTR, this.node(), Buffer.concat([u32(v.length), u32(r.pick([0, 1, 2, 3])), u32(0), u32(0), z(r.pick(XATTRS)), v])];
      }
      case 25: return [Opcode.FUSE_GETXATTR, this.node(), Buffer.concat([u32(r.pick([0, 1, 4, 65536])), u32(0), z(r.pick(XATTRS))])];
      case 26: return [r.pick([Opcode.FUSE_LISTXATTR, Opcode.FUSE_REMOVEXATTR]), this.node(), r.chance(0.5) ? Buffer.concat([u32(r.pick([0, 1, 65536])), u32(0)]) : z(r.pick(XATTRS))];
      case 27: {
        if (r.chance(0.5)) {
          const n = this.node();
          return [Opcode.FUSE_FORGET, n, u64(BigInt(r.pick([1, 1, 2, 1000])))];
        }
        const k = r.range(0, 5);
        const items: Buffer[] = [];
        for (let i = 0; i < k; i++) items.push(u64(this.node()), u64(BigInt(r.range(1, 3))));
        return [Opcode.FUSE_BATCH_FORGET, 0n, Buffer.concat([u32(k), u32(0), ...items])];
      }
      case 28: {
        const f = this.fh();
        return [Opcode.FUSE_FALLOCATE, f.node, Buffer.concat([u64(f.fh), u64(BigInt(r.int(1 << 20))), u64(BigInt(r.range(1, 1 << 18))), u32(r.pick([0, 1, 3, 0x10, 0x08, 0x20])), u32(0)])];
      }
      case 29: {
        const f = this.fh();
        return [Opcode.FUSE_LSEEK, f.node, Buffer.concat([u64(f.fh), u64(BigInt(r.int(1 << 20))), u32(r.pick([0, 1, 2, 3, 4, 9])), u32(0)])];
      }
      case 30: {
        const a = this.fh();
        const b = this.fh();
        return [Opcode.FUSE_COPY_FILE_RANGE, a.node, Buffer.concat([u64(a.fh), u64(BigInt(r.int(1 << 20))), u64(b.node), u64(b.fh), u64(BigInt(r.int(1 << 20))), u64(BigInt(r.pick([0, 1, 4096, 1 << 20]))), u64(0n)])];
      }
      case 31: return [r.pick([Opcode.FUSE_STATFS, Opcode.FUSE_ACCESS, Opcode.FUSE_SYNCFS]), this.node(), Buffer.concat([u32(r.int(8)), u32(0)])];
      case 32: return [Opcode.FUSE_STATX, this.node(), Buffer.concat([u32(r.int(2)), u32(0), u64(this.fh().fh), u32(r.pick([0, 0x2000, 0x4000])), u32(r.pick([0x7ff, 0xfff, 0xffffffff]))])];
      default: return [r.pick([Opcode.FUSE_TMPFILE, Opcode.FUSE_GETLK, Opcode.FUSE_SETLK, Opcode.FUSE_IOCTL, Opcode.FUSE_POLL, Opcode.FUSE_BMAP, Opcode.FUSE_INTERRUPT]), this.node(), Buffer.concat([u32(0o2), u32(S_IFREG | 0o600), u32(0), u32(0), r.bytes(r.int(64))])];
    }
  }

  /** A corrupted copy of a plausible request. */
  corrupt(req: Buffer): Buffer {
    const r = this.rng;
    let b = Buffer.from(req);
    switch (r.int(7)) {
      case 0: { // flip bytes in the body
        for (let i = 0, n = r.range(1, 8); i < n && b.length > 40; i++) b[40 + r.int(b.length - 40)] = r.int(256);
        break;
      }
      case 1: b = b.subarray(0, r.range(40, Math.max(40, b.length - 1))); b.writeUInt32LE(b.length, 0); break; // cut, honest len
      case 2: b = Buffer.concat([b, r.bytes(r.range(1, 100))]); b.writeUInt32LE(b.length, 0); break; // extended
      case 3: b.writeUInt32LE(r.pick([b.length + 1, b.length - 1, 0, 40, 0xffffffff, r.int(0x100000000)]) >>> 0, 0); break; // lying len
      case 4: b.writeUInt32LE(r.pick([0, 7, 60, 4096, 0xffffffff, r.range(1, 53)]), 4); break; // opcode
      case 5: b.writeBigUInt64LE(r.u64(), 16); break; // nodeid
      default: b.writeUInt16LE(r.int(0x10000), 36); break; // total_extlen
    }
    return b;
  }

  /** How many replies `buf` must get, and with which unique. */
  expected(buf: Buffer): { n: 0 | 1; unique?: bigint } {
    if (buf.length < 16) return { n: 0 };
    const unique = buf.readBigUInt64LE(8);
    if (buf.length < 40 || buf.readUInt32LE(0) !== buf.length) return { n: 1, unique };
    return NO_REPLY.has(buf.readUInt32LE(4)) ? { n: 0 } : { n: 1, unique };
  }

  send(buf: Buffer, what: string): Reply | undefined {
    sanitize(buf);
    const exp = this.expected(buf);
    const replies = this.k.raw(buf);
    const tag = `${what} [${buf.subarray(0, 72).toString('hex')}]`;
    if (replies.length !== exp.n) this.failures.push(`${tag}: ${replies.length} replies, expected ${exp.n}`);
    for (const rep of replies) {
      if (exp.unique !== undefined && rep.unique !== exp.unique) this.failures.push(`${tag}: reply to ${rep.unique}, expected ${exp.unique}`);
      if (!(rep.error <= 0 && rep.error > -4096)) this.failures.push(`${tag}: error value ${rep.error}`);
      if (rep.error === 0) {
        this.ok++;
        if (buf.length >= 8) this.opsOk.add(buf.readUInt32LE(4));
      } else this.errors++;
    }
    return replies[0];
  }

  /** Learns nodeids and handles from a successful reply. */
  learn(opcode: number, nodeid: bigint, body: Buffer, rep: Reply | undefined): void {
    if (!rep || rep.error !== 0) {
      if (opcode === Opcode.FUSE_FORGET) this.forgot(nodeid, Number(body.readBigUInt64LE(0)));
      return;
    }
    const b = rep.body;
    switch (opcode) {
      case Opcode.FUSE_LOOKUP: case Opcode.FUSE_MKNOD: case Opcode.FUSE_MKDIR: case Opcode.FUSE_SYMLINK: case Opcode.FUSE_LINK:
        if (b.length >= 128) this.addNode(parseEntry(b).nodeid);
        break;
      case Opcode.FUSE_CREATE: case Opcode.FUSE_TMPFILE:
        if (b.length >= 144) {
          const e = parseEntry(b);
          this.addNode(e.nodeid);
          this.st.fhs.push({ node: e.nodeid, fh: b.readBigUInt64LE(128) });
        }
        break;
      case Opcode.FUSE_OPEN:
        if (b.length >= 16) this.st.fhs.push({ node: nodeid, fh: b.readBigUInt64LE(0) });
        break;
      case Opcode.FUSE_OPENDIR:
        if (b.length >= 16) this.st.dirFhs.push({ node: nodeid, fh: b.readBigUInt64LE(0) });
        break;
      case Opcode.FUSE_RELEASE: {
        const fh = body.readBigUInt64LE(0);
        this.st.fhs = this.st.fhs.filter((f) => f.fh !== fh);
        break;
      }
      case Opcode.FUSE_RELEASEDIR: {
        const fh = body.readBigUInt64LE(0);
        this.st.dirFhs = this.st.dirFhs.filter((f) => f.fh !== fh);
        break;
      }
    }
  }

  addNode(n: bigint): void {
    if (!this.st.lookups.has(n)) this.st.nodes.push(n);
    this.st.lookups.set(n, (this.st.lookups.get(n) ?? 0) + 1);
  }

  forgot(n: bigint, k: number): void {
    const left = (this.st.lookups.get(n) ?? 0) - k;
    if (left > 0 || n === 1n) {
      this.st.lookups.set(n, left);
      return;
    }
    this.st.lookups.delete(n);
    this.st.nodes = this.st.nodes.filter((x) => x !== n);
  }

  step(): void {
    const r = this.rng;
    const x = r.int(100);
    if (x < 3) {
      // noise of any length
      const n = r.pick([0, 5, 15, 16, 39, 40, 41, r.int(300)]);
      const b = r.bytes(n);
      if (n >= 16) b.writeBigUInt64LE(this.k.nextUnique(), 8);
      this.send(b, 'noise');
      return;
    }
    const [opcode, nodeid, body] = this.plausible();
    const unique = this.k.nextUnique();
    const req = Buffer.concat([header(40 + body.length, opcode, unique, nodeid, r.chance(0.9) ? 0 : r.pick([1000, 1001, 65534]), r.chance(0.9) ? 0 : 1000), body]);
    if (x < 30) {
      this.send(this.corrupt(req), `corrupted op ${opcode}`);
      return;
    }
    const rep = this.send(req, `op ${opcode}`);
    this.learn(opcode, nodeid, body, rep);
    if (opcode === Opcode.FUSE_FORGET) this.forgot(nodeid, Number(body.readBigUInt64LE(0)));
    if (opcode === Opcode.FUSE_BATCH_FORGET) {
      for (let i = 0, n = body.readUInt32LE(0); i < n; i++) this.forgot(body.readBigUInt64LE(8 + i * 16), Number(body.readBigUInt64LE(16 + i * 16)));
    }
  }
}

const BASE_SEED = process.env.TSFUSE_FUZZ_SEED !== undefined ? Number(process.env.TSFUSE_FUZZ_SEED) : (Date.now() ^ (process.pid << 16)) >>> 0;
const STEPS = LONG ? 200_000 : 20_000;

function world(): { T: string; src: string; outside: string } {
  const T = tmpdir('tsfuse-sfuzz-');
  const src = path.join(T, 'src');
  const outside = path.join(T, 'outside');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(src, 'dir'));
  fs.mkdirSync(path.join(outside, 'odir'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'target'), 'outside data');
  fs.writeFileSync(path.join(outside, 'odir', 'inner'), 'inner');
  fs.writeFileSync(path.join(src, 'a'), 'a'.repeat(5000));
  fs.writeFileSync(path.join(src, 'file'), 'file');
  fs.writeFileSync(path.join(src, 'sub', 'b'), 'b');
  fs.symlinkSync(path.join(outside, 'target'), path.join(src, 'abs'));
  fs.symlinkSync('../outside/target', path.join(src, 'rel'));
  fs.symlinkSync(path.join(outside, 'odir'), path.join(src, 'dirlink'));
  fs.symlinkSync('..', path.join(src, 'dotdot'));
  return { T, src, outside };
}

for (const [i, steps] of [[0, STEPS], [1, STEPS / 2], [2, STEPS / 2]] as const) {
  const seed = (BASE_SEED + i) >>> 0;
  test(`session fuzz against PassthroughFs (seed ${seed}, ${steps} requests): no throw, one reply each, nothing outside changes, fds returned`, async (t) => {
    const w = world();
    const before = snapshot(w.outside);
    const aroundBefore = fs.readdirSync(w.T).sort();
    const fds0 = fdCount();
    const f = new Fuzzer(seed, w.src, [path.join(w.outside, 'target'), path.join(w.outside, 'odir')]);
    try {
      f.k.init();
      for (let s = 0; s < steps; s++) {
        f.step();
        if (f.failures.length > 20 || f.k.thrown.length) break;
      }
      // Still serving: a well-formed request at the end.
      const last = f.k.request(Opcode.FUSE_GETATTR, 1n, Buffer.concat([u32(0), u32(0), u64(0n)]));
      assert.equal(last?.error, 0, 'GETATTR of the root after the fuzz');
      // DESTROY: the session closes everything it opened, then replies.
      const destroy = header(40, Opcode.FUSE_DESTROY, f.k.nextUnique(), 0n);
      const early = f.k.raw(destroy);
      await new Promise((r) => setTimeout(r, 50));
      const destroyReplies = [...early, ...f.k.replyOnly(f.k.drain())];
      assert.equal(destroyReplies.length, 1, 'one reply to DESTROY');
      assert.equal(destroyReplies[0]!.error, 0);
      t.diagnostic(`seed ${seed}: ${f.k.sent} requests, ${f.ok} answered OK over ${f.opsOk.size} opcodes, ${f.errors} errors, ${f.k.notifications} notifications; nodes known at the end ${f.st.nodes.length}, open fhs ${f.st.fhs.length}`);
      const ctx = `(reproduce with TSFUSE_FUZZ_SEED=${seed - i})`;
      assert.deepEqual(f.k.thrown, [], `dispatch threw ${ctx}`);
      assert.deepEqual(f.failures, [], `reply accounting ${ctx}`);
      assert.deepEqual(f.k.badNotifications, [], `malformed notifications ${ctx}`);
      assert.ok(f.opsOk.size >= 20, `only ${f.opsOk.size} opcodes ever succeeded ${ctx}`);
      assert.equal(snapshot(w.outside), before, `something outside the source changed ${ctx}`);
      assert.deepEqual(fs.readdirSync(w.T).sort(), aroundBefore, `something appeared next to the source ${ctx}`);
    } finally {
      f.k.close();
    }
    assert.ok(fdCount() <= fds0, `fds ${fds0} -> ${fdCount()} after DESTROY`);
  });
}

// Found by the long fuzz (seed 1336815236): a second INIT set up a second
// io_uring and left the first one's fd open after DESTROY. It is now refused.
test('an INIT sent twice keeps one io_uring: after DESTROY every fd is given back', async () => {
  const w = world();
  const fds0 = fdCount();
  const k = new SimKernel({ source: w.src });
  try {
    k.init();
    assert.throws(() => k.init(), /INIT failed: -5/, 'a second INIT is refused with EIO');
    const early = k.raw(header(40, Opcode.FUSE_DESTROY, k.nextUnique(), 0n));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal([...early, ...k.replyOnly(k.drain())].length, 1, 'one reply to DESTROY');
  } finally {
    k.close();
  }
  assert.ok(fdCount() <= fds0, `fds ${fds0} -> ${fdCount()} after DESTROY`);
});
