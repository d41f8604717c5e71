// The inode table: which host file each FUSE node id stands for, how many
// lookups the kernel holds on it, and how to reach it.
//
// It must hold a million live inodes in little memory (a `find` over a big
// tree leaves them all referenced by the kernel) and give the memory back
// when the kernel forgets them. So it is not one object per inode but slots
// in chunks of typed arrays (60 bytes a slot, 16,384 slots a chunk, each chunk
// one ArrayBuffer that is dropped when its last inode goes). Callers get small
// `Inode` views; the root's view is kept, so it compares by identity.
//
// A host file is identified by (device and mount, inode number, birth time):
// with the birth time, an inode number reused after a delete is a different
// file. Each inode keeps an O_PATH fd while it can. Inode fds and the fds of
// open files and directories share one budget (`maxFds`): beyond it inode fds
// are closed (clock sweep) and reopened on demand from a kernel file handle
// (open_by_handle_at, which needs CAP_DAC_READ_SEARCH), so open files always
// win over cached inode fds. Without file handles every inode keeps its fd.

import * as sys from '../../sys/index.js';
import { FuseError } from '../../session/errors.js';

const VIRTUAL_FLAG = 1n << 55n;
const HOST_INO_MASK = (1n << 47n) - 1n;

// The two 32-bit halves of a u64 for hashing, without BigInt arithmetic
// (each BigInt operation allocates) when the value is below 2^53, as inode
// numbers and node ids almost always are.
function lo32(v: bigint): number {
  const n = Number(v);
  return n <= Number.MAX_SAFE_INTEGER ? n >>> 0 : Number(v & 0xffffffffn);
}

function hi32(v: bigint): number {
  const n = Number(v);
  return n <= Number.MAX_SAFE_INTEGER ? Math.floor(n / 0x100000000) : Number((v >> 32n) & 0xffffffffn);
}
const MAX_DEVICES = 254;
const ESTALE = 116;
const ENFILE = 23;
const EMFILE = 24;
/** handleType of a slot whose handle is to be taken when its fd is evicted. */
const HANDLE_LATER = -2;
const SHIFT = 14;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;
const SLOT_BYTES = 60;
/** Numbers promised to directory entries not looked up yet (readdir d_ino), at most this many. */
const MAX_RESERVED = 1 << 16;

/** A view of one live inode. */
export interface Inode {
  readonly slot: number;
  readonly nodeid: bigint;
  readonly generation: bigint;
  readonly hostIno: bigint;
  /** (device, mount) of the host file, as a string key. */
  readonly devKey: string;
  /** S_IFMT bits of the file's mode. */
  readonly type: number;
  /** Lookups the kernel holds. */
  refs: bigint;
}

class Chunk {
  readonly ids: BigUint64Array;
  readonly hostIno: BigUint64Array;
  readonly btimeSec: Float64Array;
  readonly refs: Float64Array;
  readonly btimeNsec: Uint32Array;
  readonly fds: Int32Array;
  readonly gens: Uint32Array;
  readonly handleOff: Uint32Array;
  readonly handleType: Int32Array;
  /** The operation that last used the slot's fd (never closed during that operation). */
  readonly touched: Uint32Array;
  /** Device index; 0 marks a free slot. */
  readonly dev: Uint16Array;
  readonly types: Uint8Array;
  readonly handleLen: Uint8Array;
  live = 0;
  /** Where the search for a free slot starts: slots fill in order, so a scan from here is short. */
  scan = 0;

  constructor() {
    const b = new ArrayBuffer(CHUNK * SLOT_BYTES);
    let at = 0;
    const take = <T>(make: (buf: ArrayBuffer, off: number, n: number) => T, size: number): T => {
      const v = make(b, at, CHUNK);
      at += size * CHUNK;
      return v;
    };
    this.ids = take((x, o, n) => new BigUint64Array(x, o, n), 8);
    this.hostIno = take((x, o, n) => new BigUint64Array(x, o, n), 8);
    this.btimeSec = take((x, o, n) => new Float64Array(x, o, n), 8);
    this.refs = take((x, o, n) => new Float64Array(x, o, n), 8);
    this.btimeNsec = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.fds = take((x, o, n) => new Int32Array(x, o, n), 4);
    this.gens = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.handleOff = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.handleType = take((x, o, n) => new Int32Array(x, o, n), 4);
    this.touched = take((x, o, n) => new Uint32Array(x, o, n), 4);
    this.dev = take((x, o, n) => new Uint16Array(x, o, n), 2);
    this.types = take((x, o, n) => new Uint8Array(x, o, n), 1);
    this.handleLen = take((x, o, n) => new Uint8Array(x, o, n), 1);
    this.fds.fill(-1);
  }
}

class InodeView implements Inode {
  constructor(private readonly t: InodeTable, readonly slot: number) {}
  private get c(): Chunk { return this.t.chunk(this.slot); }
  get nodeid(): bigint { return this.t.nodeidOf(this.slot); }
  get generation(): bigint { return BigInt(this.c.gens[this.slot & MASK]!); }
  get hostIno(): bigint { return this.c.hostIno[this.slot & MASK]!; }
  get devKey(): string { return this.t.devKeys[this.c.dev[this.slot & MASK]!]!; }
  get type(): number { return this.c.types[this.slot & MASK]! << 12; }
  get refs(): bigint { return BigInt(this.c.refs[this.slot & MASK]!); }
  set refs(v: bigint) { this.c.refs[this.slot & MASK] = Number(v); }
}

export interface RootInfo { devKey: string; ino: bigint; btimeSec: number; btimeNsec: number; type: number }

export class InodeTable {
  private chunks: (Chunk | null)[] = [];
  private allocHint = 0;
  private live = 0;
  private generation = 0;
  // File handle bytes, appended; compacted when half is garbage.
  private arena = Buffer.allocUnsafe(64 * 1024);
  private arenaUsed = 0;
  private arenaGarbage = 0;
  // Open addressing on (dev, host inode) → slot + 1 (0 empty, -1 deleted).
  private hash = new Int32Array(4096);
  private hashUsed = 0;
  readonly devKeys: string[] = [''];
  private readonly devIndex = new Map<string, number>();
  // Open addressing on node id → slot + 1 (0 empty, -1 deleted).
  private idHash = new Int32Array(4096);
  private idHashUsed = 0;
  private nextId = 2n;
  private nextVirtual = 1n;
  /** (device, mount, inode) → the number readdir showed as d_ino before any lookup. */
  private readonly reserved = new Map<string, bigint>();
  private openFds = 0;
  /** fds of open files and directories, counted against the same budget. */
  private otherFds = 0;
  /** After a sweep that could not get under budget: no new sweep until openFds reaches this. */
  private sweepAgainAt = 0;
  private hand = 1;
  /** Chunks dropped since it was last reset (the owner gives memory back when idle). */
  chunksDropped = 0;
  /** Bumped at the start of each operation: fds it used stay open until it ends. */
  private op = 1;
  readonly root: Inode;

  constructor(
    rootFd: number,
    root: RootInfo,
    private readonly useHostIno: boolean,
    /** How many fds (inode fds and open files' together) to keep before closing inode fds that have handles. */
    private readonly maxFds: number,
    private readonly useHandles: boolean,
    /** A plain fd on the source's mount, for open_by_handle_at. */
    private readonly mountFd: number,
  ) {
    this.chunks.push(new Chunk());
    this.fill(0, this.devId(root.devKey), root.ino, root.btimeSec, root.btimeNsec, root.type, rootFd);
    this.root = new InodeView(this, 0);
  }

  /** Live inodes, the root included. */
  get size(): number {
    return this.live;
  }

  /** Inode fds open now (the root's not counted). */
  get fdCount(): number {
    return this.openFds;
  }

  chunk(slot: number): Chunk {
    return this.chunks[slot >> SHIFT]!;
  }

  private devId(devKey: string): number {
    let d = this.devIndex.get(devKey);
    if (d === undefined) {
      if (this.devKeys.length > MAX_DEVICES) throw new FuseError(75 /* EOVERFLOW */, 'more than 254 (device, mount) pairs under the source');
      d = this.devKeys.length;
      this.devKeys.push(devKey);
      this.devIndex.set(devKey, d);
    }
    return d;
  }

  nodeidOf(slot: number): bigint {
    return slot === 0 ? 1n : this.chunk(slot).ids[slot & MASK]!;
  }

  private idStart(id: bigint): number {
    let x = Math.imul(lo32(id) ^ hi32(id), 0x9e3779b1);
    x ^= x >>> 15;
    return x & (this.idHash.length - 1);
  }

  private slotOf(nodeid: bigint): number {
    if (nodeid === 1n) return 0;
    const m = this.idHash.length - 1;
    for (let h = this.idStart(nodeid), n = 0; n <= m; h = (h + 1) & m, n++) {
      const e = this.idHash[h]!;
      if (e === 0) return -1;
      if (e > 0 && this.chunk(e - 1).ids[(e - 1) & MASK] === nodeid) return e - 1;
    }
    return -1;
  }

  private idInsert(slot: number): void {
    const m = this.idHash.length - 1;
    for (let h = this.idStart(this.chunk(slot).ids[slot & MASK]!); ; h = (h + 1) & m) {
      if (this.idHash[h]! <= 0) {
        if (this.idHash[h] === 0) this.idHashUsed++;
        this.idHash[h] = slot + 1;
        return;
      }
    }
  }

  private idRemove(slot: number): void {
    const m = this.idHash.length - 1;
    for (let h = this.idStart(this.chunk(slot).ids[slot & MASK]!), n = 0; n <= m; h = (h + 1) & m, n++) {
      const e = this.idHash[h]!;
      if (e === 0) return;
      if (e === slot + 1) {
        this.idHash[h] = -1;
        return;
      }
    }
  }

  get(nodeid: bigint): Inode {
    const s = this.slotOf(nodeid);
    if (s < 0) throw new FuseError(ESTALE, `unknown node id ${nodeid}`);
    return this.view(s);
  }

  tryGet(nodeid: bigint): Inode | undefined {
    const s = this.slotOf(nodeid);
    return s < 0 ? undefined : this.view(s);
  }

  // ---- the (dev, ino) hash ----

  private hashStart(d: number, ino: bigint): number {
    // Inode numbers are dense: mixing the low bits is enough.
    let x = Math.imul(lo32(ino) ^ (d << 24) ^ (hi32(ino) & 0xffff), 0x9e3779b1);
    x ^= x >>> 15;
    return x & (this.hash.length - 1);
  }

  /**
   * The first live slot with (d, ino), and with this birth time unless
   * `anyBirth`, or -1. Plain parameters, no callback: it runs for every name
   * looked up.
   */
  private probe(d: number, ino: bigint, anyBirth: boolean, btimeSec: number, btimeNsec: number): number {
    const m = this.hash.length - 1;
    for (let h = this.hashStart(d, ino), n = 0; n <= m; h = (h + 1) & m, n++) {
      const e = this.hash[h]!;
      if (e === 0) return -1;
      if (e < 0) continue;
      const s = e - 1;
      const c = this.chunk(s);
      const i = s & MASK;
      if (c.dev[i] === d && c.hostIno[i] === ino && (anyBirth || (c.btimeSec[i] === btimeSec && c.btimeNsec[i] === btimeNsec))) return s;
    }
    return -1;
  }

  /** The view of a live slot (the root's is kept, so it compares by identity). */
  private view(s: number): Inode {
    return s === 0 ? this.root : new InodeView(this, s);
  }

  private hashInsert(slot: number): void {
    const c = this.chunk(slot);
    const m = this.hash.length - 1;
    for (let h = this.hashStart(c.dev[slot & MASK]!, c.hostIno[slot & MASK]!); ; h = (h + 1) & m) {
      if (this.hash[h]! <= 0) {
        if (this.hash[h] === 0) this.hashUsed++;
        this.hash[h] = slot + 1;
        return;
      }
    }
  }

  private hashRemove(slot: number): void {
    const c = this.chunk(slot);
    const m = this.hash.length - 1;
    for (let h = this.hashStart(c.dev[slot & MASK]!, c.hostIno[slot & MASK]!), n = 0; n <= m; h = (h + 1) & m, n++) {
      const e = this.hash[h]!;
      if (e === 0) return;
      if (e === slot + 1) {
        this.hash[h] = -1;
        return;
      }
    }
  }

  /** Resizes the hashes to hold `live` and one more at most half full (also clears deleted marks). */
  private rehash(): void {
    let size = 4096;
    while (size <= this.live * 2) size *= 2;
    this.hash = new Int32Array(size);
    this.hashUsed = 0;
    this.idHash = new Int32Array(size);
    this.idHashUsed = 0;
    this.chunks.forEach((c, ci) => {
      if (!c) return;
      for (let i = 0; i < CHUNK; i++) {
        if (c.dev[i] === 0) continue;
        this.hashInsert((ci << SHIFT) | i);
        if ((ci | i) !== 0) this.idInsert((ci << SHIFT) | i);
      }
    });
  }

  /** The live inode for this host file, if any. */
  find(devKey: string, ino: bigint, btimeSec: number, btimeNsec: number): Inode | undefined {
    const d = this.devIndex.get(devKey);
    if (d === undefined) return undefined;
    const s = this.probe(d, ino, false, btimeSec, btimeNsec);
    return s < 0 ? undefined : this.view(s);
  }

  /** Whether the table has the host inode `ino` of device `devKey` (findByHostIno without the view). */
  hasHostIno(devKey: string, ino: bigint): boolean {
    const d = this.devIndex.get(devKey);
    return d !== undefined && this.probe(d, ino, true, 0, 0) >= 0;
  }

  /** Any live inode with this host inode number (readdir knows no birth time). */
  findByHostIno(devKey: string, ino: bigint): Inode | undefined {
    const d = this.devIndex.get(devKey);
    if (d === undefined) return undefined;
    const s = this.probe(d, ino, true, 0, 0);
    return s < 0 ? undefined : this.view(s);
  }

  // ---- slots ----

  private freeSlot(): number {
    const n = this.chunks.length;
    for (let k = 0; k < n; k++) {
      const ci = (this.allocHint + k) % n;
      const c = this.chunks[ci];
      if (c && c.live < CHUNK) {
        this.allocHint = ci;
        const first = ci === 0 ? 1 : 0;
        let i = c.dev.indexOf(0, Math.max(c.scan, first));
        if (i < 0) i = c.dev.indexOf(0, first);
        if (i >= 0) {
          c.scan = i + 1;
          return (ci << SHIFT) | i;
        }
      }
    }
    let ci = this.chunks.indexOf(null);
    if (ci < 0) {
      ci = this.chunks.length;
      this.chunks.push(null);
    }
    this.chunks[ci] = new Chunk();
    this.allocHint = ci;
    return ci << SHIFT;
  }

  private fill(s: number, d: number, ino: bigint, bs: number, bns: number, type: number, fd: number): void {
    // Grow the hashes before the slot is live: rehash() enters every live
    // slot, and this one would then be entered twice (and once under the
    // previous occupant's node id), entries that outlive its chunk.
    if (Math.max(this.hashUsed, this.idHashUsed) + 1 > this.hash.length >> 1) this.rehash();
    const c = this.chunk(s);
    const i = s & MASK;
    c.dev[i] = d;
    c.hostIno[i] = ino;
    c.btimeSec[i] = bs;
    c.btimeNsec[i] = bns;
    c.types[i] = type >> 12;
    c.fds[i] = fd;
    c.refs[i] = 1;
    c.gens[i] = this.generation = (this.generation + 1) >>> 0;
    c.handleLen[i] = 0;
    c.handleType[i] = 0;
    c.touched[i] = this.op;
    c.live++;
    this.live++;
    this.hashInsert(s);
  }

  private storeHandle(s: number, h: sys.FileHandle): void {
    const n = h.handleBytes.length;
    if (n === 0 || n > 255) return;
    if (this.arenaUsed + n > this.arena.length) {
      if (this.arenaGarbage > this.arenaUsed / 2) this.compactArena();
      if (this.arenaUsed + n > this.arena.length) {
        const bigger = Buffer.allocUnsafe(this.arena.length * 2);
        this.arena.copy(bigger, 0, 0, this.arenaUsed);
        this.arena = bigger;
      }
    }
    const c = this.chunk(s);
    h.handleBytes.copy(this.arena, this.arenaUsed);
    c.handleOff[s & MASK] = this.arenaUsed;
    c.handleLen[s & MASK] = n;
    c.handleType[s & MASK] = h.handleType;
    this.arenaUsed += n;
  }

  private compactArena(): void {
    const fresh = Buffer.allocUnsafe(Math.max(64 * 1024, (this.arenaUsed - this.arenaGarbage) * 2));
    let at = 0;
    for (const c of this.chunks) {
      if (!c) continue;
      for (let i = 0; i < CHUNK; i++) {
        const n = c.handleLen[i]!;
        if (c.dev[i] === 0 || n === 0) continue;
        this.arena.copy(fresh, at, c.handleOff[i]!, c.handleOff[i]! + n);
        c.handleOff[i] = at;
        at += n;
      }
    }
    this.arena = fresh;
    this.arenaUsed = at;
    this.arenaGarbage = 0;
  }

  /**
   * Adds a host file with one lookup reference; takes ownership of `fd`.
   * `sameMount`: the file is on the source's mount, so a handle can reopen it.
   */
  add(fd: number, devKey: string, ino: bigint, btimeSec: number, btimeNsec: number, type: number, sameMount: boolean): Inode {
    const d = this.devId(devKey);
    const nodeid = this.newId(devKey, d, ino);
    if (fd >= 0) this.makeRoom();
    const s = this.freeSlot();
    this.fill(s, d, ino, btimeSec, btimeNsec, type, fd);
    this.chunk(s).ids[s & MASK] = nodeid;
    this.idInsert(s);
    // The handle is taken when the fd is about to be closed (evict), not
    // here: most inodes never need one, and it is a system call per new file.
    if (this.useHandles && sameMount && fd >= 0) this.chunk(s).handleType[s & MASK] = HANDLE_LATER;
    return new InodeView(this, s);
  }

  private newId(devKey: string, d: number, ino: bigint): bigint {
    const hk = `${devKey}:${ino}`;
    const promised = this.reserved.get(hk);
    if (promised !== undefined) {
      this.reserved.delete(hk);
      if (this.slotOf(promised) < 0) return promised;
    }
    if (!this.useHostIno) return this.nextId++;
    // With host numbers, a host inode number too big for 47 bits, or one
    // alive twice (reused while the old file is still known), gets a virtual number.
    const id = (BigInt(d) << 47n) | ino;
    if (ino > HOST_INO_MASK || this.slotOf(id) >= 0) return VIRTUAL_FLAG | this.nextVirtual++;
    return id;
  }

  /**
   * The st_ino a host file not in the table will get when it is looked up:
   * readdir shows it as d_ino, so that d_ino and st_ino agree as they do
   * natively. Numbers are reserved (a bounded number), then used by add().
   */
  peekIno(devKey: string, ino: bigint): bigint {
    const known = this.findByHostIno(devKey, ino);
    if (known !== undefined) return known.nodeid;
    const d = this.devIndex.get(devKey);
    if (this.useHostIno && d !== undefined && ino <= HOST_INO_MASK) return (BigInt(d) << 47n) | ino;
    const hk = `${devKey}:${ino}`;
    let n = this.reserved.get(hk);
    if (n === undefined) {
      n = this.useHostIno ? VIRTUAL_FLAG | this.nextVirtual++ : this.nextId++;
      if (this.reserved.size >= MAX_RESERVED) this.reserved.delete(this.reserved.keys().next().value!);
      this.reserved.set(hk, n);
    }
    return n;
  }

  /** Call at the start of every operation. */
  beginOp(): void {
    this.op = (this.op + 1) >>> 0 || 1;
  }

  /** Closes inode fds if `extra` more fds would go over budget (down to 90% of it). */
  private fitBudget(extra: number): void {
    if (this.openFds + this.otherFds + extra > this.maxFds && this.openFds >= this.sweepAgainAt) this.evict(Math.floor(this.maxFds * 0.9) - this.otherFds);
  }

  /** Counts one more open inode fd, first closing others if over budget. */
  private makeRoom(): void {
    this.fitBudget(1);
    this.openFds++;
  }

  /**
   * An open file or directory now holds an fd (call `releaseFd` when it is
   * closed): inode fds make room for it.
   */
  holdFd(): void {
    this.otherFds++;
    this.fitBudget(0);
  }

  releaseFd(): void {
    this.otherFds--;
    this.sweepAgainAt = 0;
  }

  /**
   * The host said EMFILE or ENFILE: close half of the inode fds a handle can
   * reopen (not those of the current operation). Returns whether any was closed,
   * so that the caller may retry once.
   */
  shed(): boolean {
    const before = this.openFds;
    this.evict(Math.floor(before / 2));
    return this.openFds < before;
  }

  /**
   * `f()` (a call that makes an fd), once more after shed() if the process ran
   * out of fds. Without handles the budget is a hard limit: past it, EMFILE
   * without the call, so that the fds above the budget stay free for the
   * runtime (the unmount at a signal spawns fusermount3, which needs pipes).
   */
  retryFd(f: () => number): number {
    if (!this.useHandles && this.openFds + this.otherFds >= this.maxFds) return -EMFILE;
    const r = f();
    return (r === -EMFILE || r === -ENFILE) && this.shed() ? f() : r;
  }

  /**
   * Clock sweep: close fds that a handle can reopen until `target` inode fds
   * are left, never one the current operation has used (its caller may hold it).
   */
  private evict(target: number): void {
    // Without handles no inode fd could be reopened: none is closed (and the
    // budget is enforced in retryFd instead).
    if (!this.useHandles) return;
    const slots = this.chunks.length << SHIFT;
    for (let n = 0; this.openFds > Math.max(0, target) && n < 2 * slots; n++) {
      const s = this.hand;
      this.hand = this.hand + 1 >= slots ? 1 : this.hand + 1;
      const c = this.chunks[s >> SHIFT];
      const i = s & MASK;
      if (!c || c.dev[i] === 0 || c.fds[i]! < 0 || c.touched[i] === this.op) continue;
      if (c.handleLen[i] === 0) {
        if (c.handleType[i] !== HANDLE_LATER) continue;
        c.handleType[i] = 0;
        const h = sys.name_to_handle_at(c.fds[i]!, '', sys.AT_EMPTY_PATH);
        if (typeof h === 'number') continue; // no handle: this fd must stay open
        this.storeHandle(s, h);
        if (c.handleLen[i] === 0) continue;
      }
      sys.close(c.fds[i]!);
      c.fds[i] = -1;
      this.openFds--;
    }
    // Nothing more to close (open files fill the budget, or the rest have no
    // handle): do not sweep every slot again for each new fd.
    this.sweepAgainAt = this.openFds > Math.max(0, target) ? this.openFds + 64 : 0;
  }

  /** The inode's O_PATH fd, reopened from its handle if it was closed. */
  fdOf(i: Inode): number {
    const s = i.slot;
    const c = this.chunk(s);
    c.touched[s & MASK] = this.op;
    const fd = c.fds[s & MASK]!;
    if (fd >= 0) return fd;
    const len = c.handleLen[s & MASK]!;
    if (len === 0) throw new FuseError(ESTALE);
    const off = c.handleOff[s & MASK]!;
    const handle = { handleType: c.handleType[s & MASK]!, handleBytes: this.arena.subarray(off, off + len) };
    const nfd = this.retryFd(() => sys.open_by_handle_at(this.mountFd, handle, sys.O_PATH | sys.O_CLOEXEC));
    if (nfd < 0) throw new FuseError(-nfd === 2 ? ESTALE : -nfd);
    this.makeRoom();
    c.fds[s & MASK] = nfd;
    return nfd;
  }

  /** Gives an inode whose fd was closed the fresh fd the caller opened, or closes it. */
  offerFd(i: Inode, fd: number): void {
    const c = this.chunk(i.slot);
    c.touched[i.slot & MASK] = this.op;
    if (c.fds[i.slot & MASK]! < 0) {
      this.makeRoom();
      c.fds[i.slot & MASK] = fd;
    } else {
      sys.close(fd);
    }
  }

  /** Drops `n` lookups; at zero the inode and its fd go away. The root stays. */
  forget(nodeid: bigint, n: bigint): void {
    const s = this.slotOf(nodeid);
    if (s <= 0) return;
    const c = this.chunk(s);
    const i = s & MASK;
    const left = c.refs[i]! - Number(n);
    if (left > 0) {
      c.refs[i] = left;
      return;
    }
    this.hashRemove(s);
    this.idRemove(s);
    if (c.fds[i]! >= 0) {
      sys.close(c.fds[i]!);
      this.openFds--;
    }
    this.arenaGarbage += c.handleLen[i]!;
    c.dev[i] = 0;
    c.fds[i] = -1;
    c.refs[i] = 0;
    c.handleLen[i] = 0;
    c.live--;
    this.live--;
    // Give memory back: a chunk without inodes goes; the hash and the
    // handle arena shrink when mostly empty.
    if (c.live === 0 && s >> SHIFT !== 0) {
      this.chunks[s >> SHIFT] = null;
      this.chunksDropped++;
    }
    if (this.hash.length > 4096 && this.live * 8 < this.hash.length) this.rehash();
    if (this.arenaGarbage > 64 * 1024 && this.arenaGarbage * 2 > this.arenaUsed) this.compactArena();
  }

  /** Closes every inode fd (the session is ending). The root's fd belongs to the caller. */
  clear(): void {
    this.chunks.forEach((c, ci) => {
      if (!c) return;
      for (let i = ci === 0 ? 1 : 0; i < CHUNK; i++) if (c.dev[i] !== 0 && c.fds[i]! >= 0) sys.close(c.fds[i]!);
    });
    this.chunks = [this.chunks[0]!];
    const c0 = this.chunks[0]!;
    c0.dev.fill(0, 1);
    c0.fds.fill(-1, 1);
    c0.live = 1;
    this.live = 1;
    this.openFds = 0;
    this.otherFds = 0;
    this.sweepAgainAt = 0;
    this.reserved.clear();
    this.rehash();
  }
}
