// A simulated kernel for protocol-level security tests: feeds requests to
// Session.dispatch with a PassthroughFs behind it, and reads each reply back
// from a regular file standing in for /dev/fuse. PassthroughFs answers
// synchronously, so every reply is in the file when dispatch returns: the
// harness checks there is exactly one (none for FORGET, BATCH_FORGET,
// INTERRUPT, NOTIFY_REPLY) and that it carries the request's unique.
//
// Used by test/security-confinement.test.ts (requests a real kernel would
// never send, to prove the daemon itself never follows a symlink or climbs
// out of the source) and test/security-session-fuzz.test.ts.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Session } from '../src/session/session.js';
import { PassthroughFs } from '../src/fs/passthrough/index.js';
import type { PassthroughOptions } from '../src/fs/passthrough/index.js';
import { InitFlag, Opcode } from '../src/protocol/kernel.js';

export { Opcode };

export const NO_REPLY = new Set<number>([Opcode.FUSE_FORGET, Opcode.FUSE_BATCH_FORGET, Opcode.FUSE_INTERRUPT, Opcode.FUSE_NOTIFY_REPLY]);

export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
export const u64 = (v: bigint | number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
  return b;
};
export const z = (s: string | Buffer): Buffer => Buffer.concat([Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'), Buffer.alloc(1)]);

export function header(len: number, opcode: number, unique: bigint, nodeid: bigint, uid = 0, gid = 0, pid = process.pid, extlen = 0): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32LE(len >>> 0, 0);
  h.writeUInt32LE(opcode >>> 0, 4);
  h.writeBigUInt64LE(unique, 8);
  h.writeBigUInt64LE(BigInt.asUintN(64, nodeid), 16);
  h.writeUInt32LE(uid >>> 0, 24);
  h.writeUInt32LE(gid >>> 0, 28);
  h.writeUInt32LE(pid >>> 0, 32);
  h.writeUInt16LE(extlen, 36);
  return h;
}

export interface Reply {
  error: number;
  unique: bigint;
  body: Buffer;
}

export interface Entry {
  nodeid: bigint;
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  ino: bigint;
}

export function parseEntry(b: Buffer, off = 0): Entry {
  return {
    nodeid: b.readBigUInt64LE(off),
    ino: b.readBigUInt64LE(off + 40),
    size: b.readBigUInt64LE(off + 48),
    mode: b.readUInt32LE(off + 100),
    uid: b.readUInt32LE(off + 108),
    gid: b.readUInt32LE(off + 112),
  };
}

// FATTR_* bits of fuse_setattr_in.valid
export const FATTR = { MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 16, MTIME: 32, FH: 64, ATIME_NOW: 128, MTIME_NOW: 256, CTIME: 1024, KILL_SUIDGID: 2048 };

export function setattrIn(o: { valid: number; fh?: bigint; size?: bigint; atime?: bigint; mtime?: bigint; atimensec?: number; mtimensec?: number; mode?: number; uid?: number; gid?: number }): Buffer {
  return Buffer.concat([
    u32(o.valid), u32(0), u64(o.fh ?? 0n), u64(o.size ?? 0n), u64(0n),
    u64(o.atime ?? 0n), u64(o.mtime ?? 0n), u64(0n), u32(o.atimensec ?? 0), u32(o.mtimensec ?? 0), u32(0),
    u32(o.mode ?? 0), u32(0), u32(o.uid ?? 0), u32(o.gid ?? 0), u32(0),
  ]);
}

/** All INIT flags a 6.18 kernel offers, except kernel passthrough (there is no /dev/fuse to register backing files with). */
export const OFFERED = Object.values(InitFlag).reduce((a, f) => a | f, 0n) & ~InitFlag.PASSTHROUGH;

export class SimKernel {
  readonly file: string;
  readonly fd: number;
  readonly session: InstanceType<typeof Session>;
  readonly fs: PassthroughFs;
  private off = 0;
  private uniq = 100n;
  /** Requests sent, replies received, dispatch exceptions (must stay empty). */
  sent = 0;
  replies = 0;
  readonly thrown: string[] = [];
  readonly logs: string[] = [];

  constructor(options: PassthroughOptions) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsfuse-simkernel-'));
    this.file = path.join(dir, 'replies');
    this.fd = fs.openSync(this.file, 'w+');
    this.fs = new PassthroughFs(options);
    this.session = new Session(this.fd, this.fs, { log: (l) => void (this.logs.length < 1000 && this.logs.push(l)) });
  }

  nextUnique(): bigint {
    return this.uniq++;
  }

  init(flags = OFFERED, minor = 45): Reply {
    const args = Buffer.concat([u32(7), u32(minor), u32(131072), u32(Number(flags & 0xffffffffn)), u32(Number(flags >> 32n)), Buffer.alloc(44)]);
    const r = this.request(Opcode.FUSE_INIT, 0n, args);
    if (!r || r.error !== 0) throw new Error(`INIT failed: ${r?.error}`);
    return r;
  }

  /** New replies since the last call (for replies that come later, e.g. to DESTROY). */
  drain(): Reply[] {
    const st = fs.fstatSync(this.fd);
    const out: Reply[] = [];
    if (st.size === this.off) return out;
    const buf = Buffer.alloc(st.size - this.off);
    fs.readSync(this.fd, buf, 0, buf.length, this.off);
    let p = 0;
    while (p + 16 <= buf.length) {
      const len = buf.readUInt32LE(p);
      if (len < 16 || p + len > buf.length) throw new Error(`malformed reply at ${this.off + p}: len ${len}`);
      out.push({ error: buf.readInt32LE(p + 4), unique: buf.readBigUInt64LE(p + 8), body: Buffer.from(buf.subarray(p + 16, p + len)) });
      p += len;
    }
    if (p !== buf.length) throw new Error(`a partial reply at ${this.off + p}`);
    this.off = st.size;
    return out;
  }

  /**
   * Dispatches raw bytes (inside a larger buffer with junk after them, as the
   * session's real read buffer would be) and returns the replies it caused.
   * Notifications (unique 0, a positive notify code in the error field, e.g.
   * INVAL_INODE after an ACL change) are not replies: they are counted in
   * `notifications` (and must carry a known code, else they count in `badNotifications`).
   */
  raw(req: Buffer): Reply[] {
    const buf = Buffer.concat([req, Buffer.alloc(64, 0xa5)]);
    this.sent++;
    try {
      this.session.dispatch(buf, req.length);
      // Replies that the session's ring sends later (an fsync's) belong to this request too.
      if (!this.session.drainRing()) this.thrown.push(`${req.subarray(0, 64).toString('hex')}: a request on the ring never completed`);
    } catch (e) {
      this.thrown.push(`${req.subarray(0, 64).toString('hex')}: ${String((e as Error)?.stack ?? e)}`);
    }
    const r = this.replyOnly(this.drain());
    this.replies += r.length;
    return r;
  }

  notifications = 0;
  badNotifications: string[] = [];

  /** Separates notifications out of a batch of messages. */
  replyOnly(msgs: Reply[]): Reply[] {
    const out: Reply[] = [];
    for (const m of msgs) {
      if (m.unique === 0n && m.error > 0) {
        this.notifications++;
        if (m.error > 7 && this.badNotifications.length < 10) this.badNotifications.push(`notify code ${m.error}`);
      } else {
        out.push(m);
      }
    }
    return out;
  }

  /**
   * A well-formed request; returns its reply (null for opcodes that get
   * none). Throws if the number of replies or their unique is wrong.
   */
  request(opcode: number, nodeid: bigint, args: Buffer, cred: { uid?: number; gid?: number; pid?: number } = {}): Reply | null {
    const unique = this.nextUnique();
    const req = Buffer.concat([header(40 + args.length, opcode, unique, nodeid, cred.uid ?? 0, cred.gid ?? 0, cred.pid ?? process.pid), args]);
    const rs = this.raw(req);
    if (NO_REPLY.has(opcode)) {
      if (rs.length !== 0) throw new Error(`opcode ${opcode}: ${rs.length} replies, expected none`);
      return null;
    }
    if (rs.length !== 1) throw new Error(`opcode ${opcode} unique ${unique}: ${rs.length} replies, expected 1`);
    if (rs[0]!.unique !== unique) throw new Error(`opcode ${opcode}: reply to ${rs[0]!.unique}, expected ${unique}`);
    return rs[0]!;
  }

  // ---- conveniences ----

  lookup(parent: bigint, name: string | Buffer): Entry | number {
    const r = this.request(Opcode.FUSE_LOOKUP, parent, z(name))!;
    return r.error ? r.error : parseEntry(r.body);
  }

  setattr(nodeid: bigint, o: Parameters<typeof setattrIn>[0], cred?: { uid?: number; gid?: number }): number {
    return this.request(Opcode.FUSE_SETATTR, nodeid, setattrIn(o), cred)!.error;
  }

  open(nodeid: bigint, flags: number): { error: number; fh: bigint } {
    const r = this.request(Opcode.FUSE_OPEN, nodeid, Buffer.concat([u32(flags), u32(0)]))!;
    return { error: r.error, fh: r.error ? 0n : r.body.readBigUInt64LE(0) };
  }

  write(nodeid: bigint, fh: bigint, offset: bigint, data: Buffer): number {
    const args = Buffer.concat([u64(fh), u64(offset), u32(data.length), u32(0), u64(0n), u32(0), u32(0), data]);
    const r = this.request(Opcode.FUSE_WRITE, nodeid, args)!;
    return r.error ? r.error : r.body.readUInt32LE(0);
  }

  read(nodeid: bigint, fh: bigint, offset: bigint, size: number): Buffer | number {
    const args = Buffer.concat([u64(fh), u64(offset), u32(size), u32(0), u64(0n), u32(0), u32(0)]);
    const r = this.request(Opcode.FUSE_READ, nodeid, args)!;
    return r.error ? r.error : r.body;
  }

  release(nodeid: bigint, fh: bigint, dir = false): number {
    return this.request(dir ? Opcode.FUSE_RELEASEDIR : Opcode.FUSE_RELEASE, nodeid, Buffer.concat([u64(fh), u32(0), u32(0), u64(0n)]))!.error;
  }

  close(): void {
    fs.closeSync(this.fd);
    fs.rmSync(path.dirname(this.file), { recursive: true, force: true });
  }
}

/** errno numbers used by the assertions (negated in replies). */
export const E = { EPERM: 1, ENOENT: 2, EIO: 5, EBADF: 9, EACCES: 13, EEXIST: 17, EXDEV: 18, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENOSPC: 28, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61, EOPNOTSUPP: 95, ESTALE: 116 };
