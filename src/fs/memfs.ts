// A small in-memory filesystem: files, directories, symlinks, fifos and
// xattrs. It exercises the engine through the kernel in tests and is an
// example of the Filesystem API; `async` makes it answer through promises.
// The tests' faults (slow, gated or failing answers) are a subclass of it
// under test/fixtures.

import { FuseError, Errno } from '../session/errors.js';
import type { Attr, AttrReply, CreateReply, Entry, Filesystem, OpenReply, RequestContext, StatfsReply } from '../session/filesystem.js';
import type { ConnectionInfo } from '../session/connection.js';
import type { DirBuffer } from '../session/dirbuf.js';
import type { CreateIn, MkdirIn, MknodIn, OpenIn, ReadIn, RenameIn, SetattrIn, SetxattrIn, WriteIn } from '../protocol/requests.js';
import { FATTR_ATIME, FATTR_ATIME_NOW, FATTR_GID, FATTR_MODE, FATTR_MTIME, FATTR_MTIME_NOW, FATTR_SIZE, FATTR_UID } from '../protocol/kernel.js';

export interface MemFsOptions {
  /** Answer every request through a Promise on a later event-loop turn (the session's asynchronous path). */
  async?: boolean;
  /** Attribute and entry timeouts in seconds (default 1). */
  timeout?: number;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const NO_ENTRY = new FuseError(Errno.ENOENT);
const NO_DATA = new FuseError(Errno.ENODATA);
const DT = (mode: number): number => (mode & S_IFMT) >> 12;

interface Node {
  ino: bigint;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  rdev: number;
  data: Buffer;
  size: number;
  target?: Buffer;
  children?: Map<string, bigint>;
  parent: bigint;
  xattrs: Map<string, Buffer>;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  lookups: bigint;
  name: string;
}

const key = (name: Buffer): string => name.toString('latin1');

export class MemFs implements Filesystem {
  private nodes = new Map<bigint, Node>();
  private nextIno = 2n;
  private readonly timeout: number;
  constructor(options: MemFsOptions = {}) {
    this.timeout = options.timeout ?? 1;
    const t = this.now();
    this.nodes.set(1n, {
      ino: 1n, mode: S_IFDIR | 0o755, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, nlink: 2, rdev: 0,
      data: Buffer.alloc(0), size: 0, children: new Map(), parent: 1n, xattrs: new Map(), atimeNs: t, mtimeNs: t, ctimeNs: t,
      lookups: 1n, name: '',
    });
    if (options.async) this.wrapAsync();
  }

  /** The time stamped on a change, in nanoseconds (a subclass may coarsen it, as some hosts do). */
  protected now(): bigint {
    return BigInt(Date.now()) * 1_000_000n;
  }

  /**
   * Re-binds every handler so it answers through a Promise on a later
   * event-loop turn, after taking turns for `us` microseconds.
   */
  protected wrapAsync(us = 0): void {
    for (const m of ['lookup', 'getattr', 'setattr', 'readlink', 'symlink', 'mknod', 'mkdir', 'unlink', 'rmdir', 'rename', 'link', 'open', 'read', 'write', 'release', 'opendir', 'readdir', 'statfs', 'create', 'getxattr', 'setxattr', 'listxattr', 'removexattr'] as const) {
      const f = (this as unknown as Record<string, (...a: unknown[]) => unknown>)[m]!.bind(this);
      (this as unknown as Record<string, unknown>)[m] = (...a: unknown[]) =>
        new Promise((resolve, reject) => {
          const t0 = performance.now();
          const turn = (): void => {
            if ((performance.now() - t0) * 1000 < us) {
              setImmediate(turn);
              return;
            }
            try {
              resolve(f(...a));
            } catch (e) {
              reject(e);
            }
          };
          setImmediate(turn);
        });
    }
  }

  init(conn: ConnectionInfo): void {
    conn.request('ATOMIC_O_TRUNC');
    conn.request('DONT_MASK', false);
  }

  /** The name an inode was made with (for subclasses that treat some names specially). */
  protected nameOf(ino: bigint): string {
    return this.node(ino).name;
  }

  private node(ino: bigint): Node {
    const n = this.nodes.get(ino);
    if (!n) throw new FuseError(Errno.ENOENT);
    return n;
  }

  private dir(ino: bigint): Node {
    const n = this.node(ino);
    if (!n.children) throw new FuseError(Errno.ENOTDIR);
    return n;
  }

  private attr(n: Node): Attr {
    return {
      ino: n.ino, size: BigInt(n.size), blocks: BigInt(Math.ceil(n.size / 512)), atimeNs: n.atimeNs, mtimeNs: n.mtimeNs,
      ctimeNs: n.ctimeNs, mode: n.mode, nlink: n.nlink, uid: n.uid, gid: n.gid, rdev: n.rdev, blksize: 4096,
    };
  }

  private entry(n: Node): Entry {
    n.lookups++;
    return { nodeid: n.ino, entryTimeout: this.timeout, attrTimeout: this.timeout, attr: this.attr(n) };
  }

  private make(ctx: RequestContext, parent: bigint, name: Buffer, mode: number, extra: Partial<Node> = {}): Node {
    const p = this.dir(parent);
    if (name.length > 255) throw new FuseError(Errno.ENAMETOOLONG);
    if (p.children!.has(key(name))) throw new FuseError(Errno.EEXIST);
    const t = this.now();
    const isDir = (mode & S_IFMT) === S_IFDIR;
    const n: Node = {
      ino: this.nextIno++, mode, uid: ctx.uid, gid: p.mode & 0o2000 ? p.gid : ctx.gid, nlink: isDir ? 2 : 1, rdev: 0,
      data: Buffer.alloc(0), size: 0, parent, xattrs: new Map(), atimeNs: t, mtimeNs: t, ctimeNs: t, lookups: 0n,
      name: key(name), ...extra,
    };
    if (isDir) {
      n.children = new Map();
      p.nlink++;
    }
    this.nodes.set(n.ino, n);
    p.children!.set(key(name), n.ino);
    p.mtimeNs = p.ctimeNs = t;
    return n;
  }

  private maybeDrop(n: Node): void {
    if (n.nlink === 0 && n.lookups <= 0n && n.ino !== 1n) this.nodes.delete(n.ino);
  }

  lookup(_ctx: RequestContext, parent: bigint, name: Buffer): Entry | FuseError | Promise<FuseError> {
    const p = this.dir(parent);
    const k = key(name);
    const ino = k === '.' ? p.ino : k === '..' ? p.parent : p.children!.get(k);
    // Routine failures are returned, not thrown (cheaper; see Filesystem).
    if (ino === undefined) return NO_ENTRY;
    return this.entry(this.node(ino));
  }

  forget(_ctx: RequestContext, ino: bigint, nlookup: bigint): void {
    const n = this.nodes.get(ino);
    if (!n) return;
    n.lookups -= nlookup;
    this.maybeDrop(n);
  }

  getattr(_ctx: RequestContext, ino: bigint): AttrReply {
    return { attr: this.attr(this.node(ino)), attrTimeout: this.timeout };
  }

  setattr(ctx: RequestContext, ino: bigint, s: SetattrIn): AttrReply {
    const n = this.node(ino);
    const t = this.now();
    if (s.valid & FATTR_MODE) n.mode = (n.mode & S_IFMT) | (s.mode & 0o7777);
    if (s.valid & FATTR_UID) n.uid = s.uid;
    if (s.valid & FATTR_GID) n.gid = s.gid;
    if (s.valid & FATTR_SIZE) {
      if (n.children) throw new FuseError(Errno.EISDIR);
      this.resize(n, Number(s.size));
      n.mtimeNs = t;
    }
    if (s.valid & FATTR_ATIME) n.atimeNs = s.valid & FATTR_ATIME_NOW ? t : s.atime * 1_000_000_000n + BigInt(s.atimensec);
    if (s.valid & FATTR_MTIME) n.mtimeNs = s.valid & FATTR_MTIME_NOW ? t : s.mtime * 1_000_000_000n + BigInt(s.mtimensec);
    n.ctimeNs = t;
    void ctx;
    return { attr: this.attr(n), attrTimeout: this.timeout };
  }

  private resize(n: Node, size: number): void {
    if (size > n.data.length) {
      const grown = Buffer.alloc(Math.max(size, n.data.length * 2));
      n.data.copy(grown, 0, 0, n.size);
      n.data = grown;
    } else if (size < n.size) {
      n.data.fill(0, size, n.size);
    }
    n.size = size;
  }

  readlink(_ctx: RequestContext, ino: bigint): Buffer {
    const n = this.node(ino);
    if (!n.target) throw new FuseError(Errno.EINVAL);
    return n.target;
  }

  symlink(ctx: RequestContext, parent: bigint, name: Buffer, target: Buffer): Entry {
    const n = this.make(ctx, parent, name, S_IFLNK | 0o777, { target: Buffer.from(target) });
    n.size = target.length;
    return this.entry(n);
  }

  mknod(ctx: RequestContext, parent: bigint, a: MknodIn): Entry {
    return this.entry(this.make(ctx, parent, a.name, a.mode & ~a.umask, { rdev: a.rdev }));
  }

  mkdir(ctx: RequestContext, parent: bigint, a: MkdirIn): Entry {
    return this.entry(this.make(ctx, parent, a.name, S_IFDIR | (a.mode & ~a.umask & 0o7777)));
  }

  private removeName(p: Node, name: Buffer, wantDir: boolean): void {
    const ino = p.children!.get(key(name));
    if (ino === undefined) throw new FuseError(Errno.ENOENT);
    const n = this.node(ino);
    if (wantDir && !n.children) throw new FuseError(Errno.ENOTDIR);
    if (!wantDir && n.children) throw new FuseError(Errno.EISDIR);
    if (n.children && n.children.size > 0) throw new FuseError(Errno.ENOTEMPTY);
    p.children!.delete(key(name));
    n.nlink = n.children ? 0 : n.nlink - 1;
    if (n.children) p.nlink--;
    p.mtimeNs = p.ctimeNs = n.ctimeNs = this.now();
    this.maybeDrop(n);
  }

  unlink(_ctx: RequestContext, parent: bigint, name: Buffer): void {
    this.removeName(this.dir(parent), name, false);
  }

  rmdir(_ctx: RequestContext, parent: bigint, name: Buffer): void {
    this.removeName(this.dir(parent), name, true);
  }

  rename(_ctx: RequestContext, parent: bigint, a: RenameIn): void {
    const RENAME_NOREPLACE = 1;
    const RENAME_EXCHANGE = 2;
    const from = this.dir(parent);
    const to = this.dir(a.newdir);
    const ino = from.children!.get(key(a.oldname));
    if (ino === undefined) throw new FuseError(Errno.ENOENT);
    const existing = to.children!.get(key(a.newname));
    if (a.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) throw new FuseError(Errno.EINVAL);
    if (a.flags & RENAME_EXCHANGE) {
      if (existing === undefined) throw new FuseError(Errno.ENOENT);
      from.children!.set(key(a.oldname), existing);
      to.children!.set(key(a.newname), ino);
      return;
    }
    if (existing !== undefined) {
      if (a.flags & RENAME_NOREPLACE) throw new FuseError(Errno.EEXIST);
      if (existing === ino) return;
      const victim = this.node(existing);
      const moving = this.node(ino);
      if (victim.children && !moving.children) throw new FuseError(Errno.EISDIR);
      if (!victim.children && moving.children) throw new FuseError(Errno.ENOTDIR);
      this.removeName(to, a.newname, !!victim.children);
    }
    const n = this.node(ino);
    from.children!.delete(key(a.oldname));
    to.children!.set(key(a.newname), ino);
    if (n.children && from !== to) {
      from.nlink--;
      to.nlink++;
      n.parent = to.ino;
    }
    n.ctimeNs = from.mtimeNs = to.mtimeNs = this.now();
  }

  link(_ctx: RequestContext, ino: bigint, newparent: bigint, newname: Buffer): Entry {
    const n = this.node(ino);
    const p = this.dir(newparent);
    if (n.children) throw new FuseError(Errno.EPERM);
    if (p.children!.has(key(newname))) throw new FuseError(Errno.EEXIST);
    p.children!.set(key(newname), ino);
    n.nlink++;
    n.ctimeNs = this.now();
    return this.entry(n);
  }

  open(_ctx: RequestContext, ino: bigint, a: OpenIn): OpenReply {
    const n = this.node(ino);
    if (a.flags & 0o1000 /* O_TRUNC */) this.resize(n, 0);
    return { fh: 0n };
  }

  read(_ctx: RequestContext, ino: bigint, a: ReadIn, out: Buffer): number | Promise<number> {
    const n = this.node(ino);
    const off = Number(a.offset);
    const len = Math.max(0, Math.min(a.size, n.size - off));
    if (len > 0) n.data.copy(out, 0, off, off + len);
    return len;
  }

  write(_ctx: RequestContext, ino: bigint, a: WriteIn): number {
    const n = this.node(ino);
    const off = Number(a.offset);
    if (off + a.data.length > n.size) this.resize(n, off + a.data.length);
    a.data.copy(n.data, off);
    n.mtimeNs = n.ctimeNs = this.now();
    return a.data.length;
  }

  release(): void {}

  opendir(_ctx: RequestContext, ino: bigint): OpenReply {
    this.dir(ino);
    return { fh: 0n };
  }

  readdir(_ctx: RequestContext, ino: bigint, a: ReadIn, out: DirBuffer): void {
    const d = this.dir(ino);
    // Offsets are positions in [".", "..", ...children]: fine for a test filesystem.
    const names: [string, bigint][] = [['.', d.ino], ['..', d.parent], ...d.children!];
    for (let i = Number(a.offset); i < names.length; i++) {
      const [name, child] = names[i]!;
      const mode = this.nodes.get(child)?.mode ?? S_IFDIR;
      if (!out.add(child, Buffer.from(name, 'latin1'), DT(mode), BigInt(i + 1))) break;
    }
  }

  statfs(): StatfsReply {
    return { blocks: 1n << 20n, bfree: 1n << 19n, bavail: 1n << 19n, files: 1n << 20n, ffree: BigInt((1 << 20) - this.nodes.size), bsize: 4096, namelen: 255, frsize: 4096 };
  }

  create(ctx: RequestContext, parent: bigint, a: CreateIn): CreateReply {
    const n = this.make(ctx, parent, a.name, S_IFREG | (a.mode & ~a.umask & 0o7777));
    return { entry: this.entry(n), open: { fh: 0n } };
  }

  setxattr(_ctx: RequestContext, ino: bigint, a: SetxattrIn): void {
    const n = this.node(ino);
    const k = key(a.name);
    if (a.flags & 1 && n.xattrs.has(k)) throw new FuseError(Errno.EEXIST);
    if (a.flags & 2 && !n.xattrs.has(k)) throw new FuseError(Errno.ENODATA);
    n.xattrs.set(k, Buffer.from(a.value));
  }

  getxattr(_ctx: RequestContext, ino: bigint, name: Buffer, size: number): Buffer | number | FuseError {
    const v = this.node(ino).xattrs.get(key(name));
    if (!v) return NO_DATA;
    return size === 0 ? v.length : v;
  }

  listxattr(_ctx: RequestContext, ino: bigint, size: number): Buffer | number {
    const names = Buffer.concat([...this.node(ino).xattrs.keys()].map((k) => Buffer.from(k + '\0', 'latin1')));
    return size === 0 ? names.length : names;
  }

  removexattr(_ctx: RequestContext, ino: bigint, name: Buffer): void {
    if (!this.node(ino).xattrs.delete(key(name))) throw new FuseError(Errno.ENODATA);
  }

  /** For tests: how many inodes are alive. */
  get inodeCount(): number {
    return this.nodes.size;
  }
}
