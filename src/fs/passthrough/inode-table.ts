// The inode table: which host file each FUSE node id stands for, how many
// lookups the kernel holds on it, and how to reach it.
//
// It must hold a million live inodes in little memory (a `find` over a big
// tree leaves them all referenced by the kernel) and give the memory back
// when the kernel forgets them. So it is not one object per inode but slots
// in chunks of typed arrays (46 bytes a slot, 16,384 slots a chunk, each chunk
// one ArrayBuffer that is dropped when its last inode goes). Callers get small
// `Inode` views; the root's view is kept, so it compares by identity.
// The node id the kernel gets is the slot itself (with a count of the slot's
// uses above bit 32), so a request's node id leads to its slot without a hash;
// the st_ino clients see is another number, from NodeIds.
//
// A host file is identified by (device and mount, inode number, birth time):
// with the birth time, an inode number reused after a delete is a different
// file. Each inode keeps an O_PATH fd while it can. Inode fds and the fds of
// open files and directories share one budget (fd-budget.ts): beyond it inode
// fds are closed (clock sweep, files' before directories') and reopened on
// demand from a kernel file handle (open_by_handle_at, which needs
// CAP_DAC_READ_SEARCH). Without file handles (a non-root daemon), and
// for files on a mount below the source (which the source's mount fd cannot
// reopen from a handle), an inode is reopened by its parent and name instead,
// checked against its identity: the table then keeps the inode's name and
// each parent while it has named children. There is no index by name (it
// would cost 8 bytes an inode): before an unlink or rename the owner statx's
// the name to find the inode it reaches. An inode whose recorded name went
// through the mount keeps its fd. One the kernel has open is reopened through
// that open file first (the owner's `reopenOpen`), whatever its name is now.
//
// Its parts: storage (inode-chunk.ts), the view callers get (inode.ts), the fd
// budget (fd-budget.ts), st_ino numbers (node-ids.ts), names (inode-names.ts)
// and what the kernel holds fresh (fresh-marks.ts).

import * as sys from '../../sys/index.js';
import { FuseError } from '../../session/errors.js';
import { freesMuch } from './host.js';
import { FdBudget } from './fd-budget.js';
import { ByteArena, CHUNK, Chunk, MASK, REFS_PINNED, SHIFT, SlotIndex, btimeKey, hi32, lo32, LO_WORD } from './inode-chunk.js';
import { NodeIds } from './node-ids.js';
import { FreshMarks } from './fresh-marks.js';
import { NameRecords } from './inode-names.js';
import { InodeView } from './inode.js';
import type { Identify, Inode, ReopenOpen, RootInfo } from './inode.js';

const MAX_DEVICES = 254;
const TWO32 = 2 ** 32;
/** Below this many uses of a slot its node id is computed without BigInt arithmetic (below 2^53). */
const GEN_FAST = 2 ** 21;
const ESTALE = 116;
const ENOENT = 2;
/** handleKind of a slot whose handle is to be taken when its fd is evicted. */
const HANDLE_LATER = 1;
/** handleKind of a slot no handle can reopen (another mount), so reopened by name whenever it has one. */
const BY_NAME = 2;
/** handleKind of a slot with a handle: this + the index of its type in handleTypes. */
const HANDLE_TYPE_BASE = 3;
/** `types` of a directory (S_IFDIR >> 12). */
const DIR = 0o040000 >> 12;
const REG = 0o100000 >> 12;

export class InodeTable {
  private chunks: (Chunk | null)[] = [];
  private allocHint = 0;
  private live = 0;
  /** File handles' and names' bytes; `handleOff`/`handleLen` of live slots point into it. */
  private readonly arena = new ByteArena(() => this.buffersDropped++, (move) => {
    for (const c of this.chunks) {
      if (!c) continue;
      for (let i = 0; i < CHUNK; i++) if (c.dev[i] !== 0 && c.handleLen[i] !== 0) c.handleOff[i] = move(c.handleOff[i]!, c.handleLen[i]!);
    }
  });
  /** (dev, host inode) → slot. */
  private readonly byIno = new SlotIndex(4096);
  readonly devKeys: string[] = [''];
  private readonly devIndex = new Map<string, number>();
  /** The most uses of any slot so far (a new chunk's slots start there). */
  private maxGen = 0;
  /** The file handle types seen (a slot keeps an index into this, not the 32-bit type). */
  private readonly handleTypes: number[] = [];
  private readonly useNames: boolean;
  /** The names inodes are reopened by. */
  private readonly names = new NameRecords((s) => this.chunk(s), this.arena);
  private readonly ids: NodeIds;
  private readonly budget: FdBudget;
  private hand = 1;
  /** What the kernel holds fresh, per slot. */
  private readonly fresh = new FreshMarks(() => this.chunks);
  /**
   * Buffers let go since it was last reset: chunks without inodes, hashes
   * and arenas replaced by bigger or smaller ones. V8 frees them only when
   * it collects garbage, so the owner has it collect when idle.
   */
  buffersDropped = 0;
  /** Bumped at the start of each operation (1..255, as slots keep it): fds it used stay open until it ends. */
  private op = 1;
  readonly root: Inode;

  constructor(
    rootFd: number,
    root: RootInfo,
    useHostIno: boolean,
    /** How many fds (inode fds and open files' together) to keep before closing inode fds that have handles. */
    maxFds: number,
    private readonly useHandles: boolean,
    /** A plain fd on the source's mount, for open_by_handle_at. */
    private readonly mountFd: number,
    /** Given (and no handles): inodes are reopened by parent and name, and this checks what was opened. */
    private readonly identify: Identify | null = null,
    /** Given: an inode reopened by name is first reopened through a file open on it (exact, one call, whatever its name now is). */
    private readonly reopenOpen: ReopenOpen | null = null,
  ) {
    this.useNames = !useHandles && identify !== null;
    this.ids = new NodeIds(useHostIno, (id) => this.stInoLive(id));
    // Without handles the budget is a hard limit: not every inode fd can be reopened.
    this.budget = new FdBudget(maxFds, !useHandles, (target) => this.evict(target));
    this.chunks.push(new Chunk());
    this.fill(0, this.devId(root.devKey), root.ino, root.btimeSec, root.btimeNsec, root.type, rootFd);
    this.root = new InodeView(this, 0);
  }

  /** Live inodes, the root included. */
  get size(): number {
    return this.live;
  }

  /**
   * Whether a new inode should be given its parent and name: every one
   * without handles; with handles, those a handle cannot reopen (files on
   * another mount than the source's).
   */
  wantsName(sameMount: boolean): boolean {
    return this.identify !== null && (this.useNames || !sameMount);
  }

  /** Whether `i` is reopened by name, so that a lookup under another name should move its record. */
  tracksName(i: Inode): boolean {
    return this.useNames || this.chunk(i.slot).handleKind[i.slot & MASK] === BY_NAME;
  }

  /** Inode fds open now (the root's not counted). */
  get fdCount(): number {
    return this.budget.inodeFds;
  }

  /** How many of them are directories'. */
  get dirFdCount(): number {
    return this.budget.dirFds;
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

  /**
   * The kernel's node id of a slot: the slot + 1 in the low 32 bits (the root,
   * slot 0, is 1), how many times the slot was taken above them. A node id
   * leads straight to its slot, with no hash to keep; a slot taken again
   * after the kernel forgot it gives a node id it never saw.
   */
  nodeidOf(slot: number): bigint {
    if (slot === 0) return 1n;
    const g = this.chunk(slot).gens[slot & MASK]!;
    return g < GEN_FAST ? BigInt(g * TWO32 + slot + 1) : (BigInt(g) << 32n) | BigInt(slot + 1);
  }

  /** st_ino of a slot. */
  stInoOf(slot: number): bigint {
    return slot === 0 ? 1n : this.chunk(slot).stIno[slot & MASK]!;
  }

  /** The live slot of a node id, or -1. */
  private slotOf(nodeid: bigint): number {
    if (nodeid === 1n) return 0;
    const n = Number(nodeid);
    let lo: number;
    let g: number;
    if (n <= Number.MAX_SAFE_INTEGER) {
      lo = n % TWO32;
      g = (n - lo) / TWO32;
    } else {
      lo = Number(nodeid & 0xffffffffn);
      g = Number(nodeid >> 32n);
    }
    const s = lo - 1;
    if (s < 1 || s >>> SHIFT >= this.chunks.length) return -1;
    const c = this.chunks[s >>> SHIFT];
    return c !== null && c !== undefined && c.dev[s & MASK] !== 0 && c.gens[s & MASK] === g ? s : -1;
  }

  /** Whether a live inode has st_ino `id` (NodeIds: a host number alive twice gets a virtual one). */
  private stInoLive(id: bigint): boolean {
    if (id === 1n) return true;
    const host = this.ids.hostOf(id);
    // Any slot of that host inode (an older twin may come first in the chain).
    return host !== undefined && this.byIno.find(this.hashStart(host.d, lo32(host.ino), hi32(host.ino)), (s) => this.chunk(s).stIno[s & MASK] === id) >= 0;
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

  private hashStart(d: number, lo: number, hi: number): number {
    // Inode numbers are dense: mixing the low bits is enough.
    let x = Math.imul(lo ^ (d << 24) ^ (hi & 0xffff), 0x9e3779b1);
    x ^= x >>> 15;
    return x & this.byIno.mask;
  }

  /**
   * The first live slot with (d, ino), and with this birth time unless
   * `anyBirth`, or -1. Plain parameters, no callback: it runs for every name
   * looked up or listed. Compares 32-bit words: reading a BigUint64Array
   * makes a BigInt.
   */
  private probe(d: number, ino: bigint, anyBirth: boolean, btimeSec: number, btimeNsec: number): number {
    const m = this.byIno.mask;
    const a = this.byIno.a;
    const bsKey = btimeKey(btimeSec);
    const lo = lo32(ino);
    const hi = hi32(ino);
    for (let h = this.hashStart(d, lo, hi), n = 0; n <= m; h = (h + 1) & m, n++) {
      const e = a[h]!;
      if (e === 0) return -1;
      if (e < 0) continue;
      const s = e - 1;
      const c = this.chunk(s);
      const i = s & MASK;
      const w = 2 * i + LO_WORD;
      if (c.dev[i] === d && c.hostInoWords[w] === lo && c.hostInoWords[w ^ 1] === hi && (anyBirth || (c.btimeSec[i] === bsKey && c.btimeNsec[i] === btimeNsec))) return s;
    }
    return -1;
  }

  /** The view of a live slot (the root's is kept, so it compares by identity). */
  private view(s: number): Inode {
    return s === 0 ? this.root : new InodeView(this, s);
  }

  private inoStart(s: number): number {
    const c = this.chunk(s);
    const w = 2 * (s & MASK) + LO_WORD;
    return this.hashStart(c.dev[s & MASK]!, c.hostInoWords[w]!, c.hostInoWords[w ^ 1]!);
  }

  /** Resizes the hashes to hold `live` and one more at most half full (also clears deleted marks). */
  private rehash(): void {
    this.buffersDropped++;
    let size = 4096;
    while (size <= this.live * 2) size *= 2;
    this.byIno.reset(size);
    this.chunks.forEach((c, ci) => {
      if (!c) return;
      for (let i = 0; i < CHUNK; i++) {
        if (c.dev[i] === 0) continue;
        const s = (ci << SHIFT) | i;
        this.byIno.insert(this.inoStart(s), s);
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
    // Uses counted on from every slot's before, so that a slot of a dropped
    // chunk taken again still gives a node id the kernel never saw.
    this.chunks[ci]!.gens.fill(this.maxGen);
    this.allocHint = ci;
    return ci << SHIFT;
  }

  private fill(s: number, d: number, ino: bigint, bs: number, bns: number, type: number, fd: number): void {
    // Grow the hashes before the slot is live: rehash() enters every live
    // slot, and this one would then be entered twice (and once under the
    // previous occupant's host inode), entries that outlive its chunk.
    if (this.byIno.used + 1 > this.byIno.a.length >> 1) this.rehash();
    const c = this.chunk(s);
    const i = s & MASK;
    c.dev[i] = d;
    c.hostIno[i] = ino;
    c.btimeSec[i] = btimeKey(bs);
    c.btimeNsec[i] = bns;
    c.types[i] = type >> 12;
    c.fds[i] = fd;
    c.refs[i] = 1;
    // Another node id for the slot than the kernel knew it by before.
    c.gens[i] = (c.gens[i]! + 1) >>> 0;
    if (c.gens[i]! > this.maxGen) this.maxGen = c.gens[i]!;
    c.handleLen[i] = 0;
    c.handleKind[i] = 0;
    c.touched[i] = this.op;
    this.fresh.clear(c, i);
    c.live++;
    this.live++;
    this.byIno.insert(this.inoStart(s), s);
  }

  private storeHandle(s: number, h: sys.FileHandle): void {
    const n = h.handleBytes.length;
    if (n === 0 || n > 255) return;
    const c = this.chunk(s);
    let k = this.handleTypes.indexOf(h.handleType);
    if (k < 0) {
      // Beyond 253 distinct types (none seen in practice): no handle, the fd stays open.
      if (this.handleTypes.length >= 256 - HANDLE_TYPE_BASE) return;
      k = this.handleTypes.push(h.handleType) - 1;
    }
    c.handleOff[s & MASK] = this.arena.put(h.handleBytes);
    c.handleLen[s & MASK] = n;
    c.handleKind[s & MASK] = HANDLE_TYPE_BASE + k;
  }

  // ---- names (every inode without handles; with handles, files on other mounts) ----

  /** Gives slot `s` the name `name` in `parent` (the old one, if any, goes, and an old parent nothing keeps). */
  private setName(s: number, parent: number, name: Buffer): void {
    const gone = this.names.set(s, parent, name);
    if (gone >= 0) this.remove(gone);
  }

  /**
   * `i` was found as `name` in `parent` (looked up, linked): if it is
   * reopened by name (tracksName), it is reopened by this one from now on.
   */
  nameSeen(i: Inode, parent: Inode, name: Buffer): void {
    if (i.slot === 0 || !this.tracksName(i) || this.names.has(i.slot, parent.slot, name)) return;
    this.setName(i.slot, parent.slot, name);
  }

  /** The parent and name `i` is reopened by, if it has one. */
  nameOf(i: Inode): { parent: bigint; name: Buffer } | undefined {
    const n = this.names.of(i.slot);
    return n === undefined ? undefined : { parent: this.nodeidOf(n.parent), name: n.name };
  }

  /**
   * Whether some inode may be reopened by name: only then need the owner
   * find which inode a name it is about to remove or rename reaches.
   */
  get namesTracked(): boolean {
    return this.names.inUse;
  }

  /**
   * `i` (reached by a name about to go: unlink, rmdir, replaced by a rename)
   * gets its fd back now, while the name still reaches it, if it is reopened
   * by name; call `unname` once the name is gone.
   */
  keepOpen(i: Inode): void {
    if (i.slot === 0 || !this.tracksName(i)) return;
    try {
      this.fdOf(i);
    } catch (e) {
      // No fd is left: it cannot be kept, and the removal must go on regardless.
      if (!(e instanceof FuseError)) throw e;
    }
  }

  /**
   * `name` in `parent`, which reached `i`, is gone: if `i` was recorded
   * under it, its fd stays open until it is forgotten (a hard link's other
   * name is recorded when it is looked up).
   */
  unname(i: Inode, parent: Inode, name: Buffer): void {
    if (i.slot === 0 || !this.names.has(i.slot, parent.slot, name)) return;
    const gone = this.names.clear(i.slot);
    if (gone >= 0) this.remove(gone);
  }

  /** `i`, reached by a name, is now `to` in `toDir` (renamed through the mount). */
  renamed(i: Inode, toDir: Inode, to: Buffer): void {
    if (i.slot !== 0 && this.tracksName(i)) this.setName(i.slot, toDir.slot, to);
  }

  /**
   * Adds a host file with one lookup reference; takes ownership of `fd`.
   * `sameMount`: the file is on the source's mount, so a handle can reopen it.
   * `parent` and `name` (where wantsName): what it is to be reopened by.
   */
  add(fd: number, devKey: string, ino: bigint, btimeSec: number, btimeNsec: number, type: number, sameMount: boolean, parent?: Inode, name?: Buffer): Inode {
    const d = this.devId(devKey);
    const stIno = this.ids.take(devKey, d, ino);
    const s = this.freeSlot();
    this.fill(s, d, ino, btimeSec, btimeNsec, type, -1);
    if (fd >= 0) this.takeFd(s, fd); // fill marked it touched: the sweep leaves it
    this.chunk(s).stIno[s & MASK] = stIno;
    // The handle is taken when the fd is about to be closed (evict), not
    // here: most inodes never need one, and it is a system call per new file.
    if (this.useHandles && sameMount && fd >= 0) this.chunk(s).handleKind[s & MASK] = HANDLE_LATER;
    const v = new InodeView(this, s);
    if (parent !== undefined && name !== undefined) {
      // Marked, so that it is named again if it loses its name and is found by another (a hard link).
      if (!this.useNames) this.chunk(s).handleKind[s & MASK] = BY_NAME;
      this.setName(s, parent.slot, name);
    }
    return v;
  }

  /**
   * The st_ino a host file not in the table will get when it is looked up:
   * readdir shows it as d_ino, so that d_ino and st_ino agree as they do
   * natively.
   */
  peekIno(devKey: string, ino: bigint): bigint {
    // Asked for every listed name: the slot's number, without a view of it.
    const d = this.devIndex.get(devKey);
    const s = d === undefined ? -1 : this.probe(d, ino, true, 0, 0);
    return s >= 0 ? this.stInoOf(s) : this.ids.peek(devKey, d, ino);
  }

  // ---- what the kernel holds fresh (fresh-marks.ts) ----

  /** The shortest time the kernel keeps an entry or attributes it is given (seconds; 0 turns marks off). */
  setCacheWindow(seconds: number): void {
    this.fresh.setWindow(seconds);
  }

  /** The kernel was just given `i`'s entry (with its attributes). */
  markFresh(i: Inode): void {
    this.fresh.mark(this.chunk(i.slot), i.slot & MASK);
  }

  /** Whether entries sent now are marked (the kernel caches them at all). */
  get marksFresh(): boolean {
    return this.fresh.on;
  }

  /** What the kernel holds of inode `nodeid` may be out of date (it was opened, its xattrs changed). */
  markStale(nodeid: bigint): void {
    const s = this.slotOf(nodeid);
    if (s >= 0) this.fresh.clear(this.chunk(s), s & MASK);
  }

  /** Ages the marks; call before listed() (once a listing, not per name). */
  ageFresh(): void {
    this.fresh.age();
  }

  /**
   * For a listed name with host inode `ino` on `devKey`, with one probe: its
   * st_ino if `fresh` is asked and the kernel holds its entry given within
   * the window; otherwise whether the table has a live inode with that host
   * number, whatever its birth time.
   */
  listed(devKey: string, ino: bigint, fresh: boolean): bigint | boolean {
    const d = this.devIndex.get(devKey);
    const s = d === undefined ? -1 : this.probe(d, ino, true, 0, 0);
    if (s < 0) return false;
    if (!fresh) return true;
    const c = this.chunk(s);
    const i = s & MASK;
    return c.refs[i] !== 0 && this.fresh.isFresh(c, i) ? c.stIno[i]! : true;
  }

  /** Call at the start of every operation. */
  beginOp(): void {
    this.op = this.op === 255 ? 1 : this.op + 1;
  }

  /** An open file or directory now holds an fd (call `releaseFd` when it is closed): inode fds make room. */
  holdFd(): void {
    this.budget.holdFd();
  }

  releaseFd(): void {
    this.budget.releaseFd();
  }

  /** `f()`, a call that makes an fd, within the budget (FdBudget.retryFd). */
  retryFd(f: () => number): number {
    return this.budget.retryFd(f);
  }

  /**
   * Clock sweep: close fds that a handle or a name can reopen until `target` inode fds
   * are left, never one the current operation has used (its caller may hold it).
   */
  private evict(target: number): void {
    // Without handles or names no inode fd could be reopened: none is closed
    // (and the budget is enforced in retryFd instead).
    if (!this.useHandles && !this.useNames) return;
    const slots = this.chunks.length << SHIFT;
    for (let n = 0; this.budget.inodeFds > Math.max(0, target) && n < 2 * slots; n++) {
      const s = this.hand;
      this.hand = this.hand + 1 >= slots ? 1 : this.hand + 1;
      const c = this.chunks[s >> SHIFT];
      const i = s & MASK;
      if (!c || c.dev[i] === 0 || c.fds[i]! < 0 || c.touched[i] === this.op) continue;
      // Directories only on the second lap, or once only theirs are left:
      // each is the parent of every lookup in it, and (by name) what the
      // reopen of its files starts from; while it has its fd, a host-side
      // rename of it harms nothing.
      if (c.types[i] === DIR && n < slots && this.budget.inodeFds > this.budget.dirFds) continue;
      const named = c.names !== null && c.names.parent[i]! >= 0;
      if (!named && !this.useHandles) continue; // no name to reopen it by
      if (!named && c.handleLen[i] === 0) {
        if (c.handleKind[i] !== HANDLE_LATER) continue;
        c.handleKind[i] = 0;
        const h = sys.name_to_handle_at(c.fds[i]!, '', sys.AT_EMPTY_PATH);
        if (typeof h === 'number') continue; // no handle: this fd must stay open
        this.storeHandle(s, h);
        if (c.handleLen[i] === 0) continue;
      }
      this.dropFd(c, i);
    }
  }

  /** fdOf the inode with node id `nodeid` (ESTALE when the kernel forgot it). */
  fdOfId(nodeid: bigint): number {
    return this.fdOf(this.get(nodeid));
  }

  /** The inode's O_PATH fd, reopened by name or from its handle if it was closed. */
  fdOf(i: Inode): number {
    const s = i.slot;
    const c = this.chunk(s);
    c.touched[s & MASK] = this.op;
    const fd = c.fds[s & MASK]!;
    if (fd >= 0) return fd;
    const named = c.names !== null && c.names.parent[s & MASK]! >= 0;
    const len = c.handleLen[s & MASK]!;
    if (named || len === 0 || c.handleKind[s & MASK]! < HANDLE_TYPE_BASE) {
      // By name, or no way left (its name was taken by another file behind
      // the mount): a file the kernel has open on it still reaches it.
      const open = this.fromOpen(s);
      if (open >= 0) return open;
      if (named) return this.reopenByName(s);
      throw new FuseError(ESTALE);
    }
    const off = c.handleOff[s & MASK]!;
    const handle = { handleType: this.handleTypes[c.handleKind[s & MASK]! - HANDLE_TYPE_BASE]!, handleBytes: this.arena.at(off, len) };
    const nfd = this.retryFd(() => sys.open_by_handle_at(this.mountFd, handle, sys.O_PATH | sys.O_CLOEXEC));
    if (nfd < 0) throw new FuseError(-nfd === ENOENT ? ESTALE : -nfd);
    return this.takeFd(s, nfd);
  }

  /**
   * Opens slot `s` again by name: from its nearest ancestor that has an fd,
   * each directory on the way down opened in its parent (each parent's fd
   * wanted only for that openat, so a deep path holds few fds at once), and
   * each checked to be still that inode: a name renamed or replaced behind
   * the mount gives ESTALE, never another file.
   */
  private reopenByName(s: number): number {
    const chain: number[] = [];
    for (let t = s; ; ) {
      const p = this.chunk(t).names!.parent[t & MASK]!;
      // No name (unlinked, or never had one), or names changed behind the mount made a cycle.
      if (p < 0 || chain.length > 4096) throw new FuseError(ESTALE);
      chain.push(t);
      const pc = this.chunk(p);
      if (pc.fds[p & MASK]! >= 0) break; // the root always has its fd
      if (this.fromOpen(p) >= 0) break; // a directory the kernel has open
      if (pc.names === null || pc.names.parent[p & MASK]! < 0) {
        this.fdOf(this.view(p)); // a parent without a name: from its handle
        break;
      }
      t = p;
    }
    let fd = -1;
    for (let k = chain.length - 1; k >= 0; k--) fd = this.openInParent(chain[k]!);
    return fd;
  }

  /**
   * Reopens slot `s` (its fd closed) through a file or directory the kernel
   * has open on it: the fd, or -1 if none is open (or that failed).
   */
  private fromOpen(s: number): number {
    if (this.reopenOpen === null) return -1;
    const id = this.nodeidOf(s);
    const fd = this.retryFd(() => this.reopenOpen!(id));
    if (fd < 0) return -1;
    this.chunk(s).touched[s & MASK] = this.op;
    return this.takeFd(s, fd);
  }

  /** Opens slot `t` (named, its fd closed) in its parent, whose fd is open; checks its identity. */
  private openInParent(t: number): number {
    const c = this.chunk(t);
    const i = t & MASK;
    const p = c.names!.parent[i]!;
    const pc = this.chunk(p);
    const pi = p & MASK;
    const pfd = pc.fds[pi]!;
    // Keep the parent's fd through the openat (a sweep may run to make room for it).
    const before = pc.touched[pi]!;
    pc.touched[pi] = this.op;
    try {
      const off = c.handleOff[i]!;
      const name = this.arena.at(off, c.handleLen[i]!);
      const fd = this.retryFd(() => sys.openat(pfd, name, sys.O_PATH | sys.O_NOFOLLOW | sys.O_CLOEXEC));
      if (fd < 0) throw new FuseError(-fd === ENOENT ? ESTALE : -fd);
      const id = this.identify!(fd);
      if (typeof id === 'number' || id.devKey !== this.devKeys[c.dev[i]!] || id.ino !== c.hostIno[i] || btimeKey(id.btimeSec) !== c.btimeSec[i] || id.btimeNsec !== c.btimeNsec[i]) {
        sys.close(fd);
        throw new FuseError(typeof id === 'number' ? -id : ESTALE);
      }
      return this.takeFd(t, fd);
    } finally {
      // Unless the operation uses the parent itself, its fd may be closed again.
      if (before !== this.op) pc.touched[pi] = before;
    }
  }

  /** Slot `s` (touched by this operation, its fd closed) gets `fd`, after making room for it. */
  private takeFd(s: number, fd: number): number {
    const c = this.chunk(s);
    this.budget.addInodeFd(c.types[s & MASK] === DIR);
    c.fds[s & MASK] = fd;
    return fd;
  }

  /** Closes slot `s`'s fd (it has one). */
  private dropFd(c: Chunk, i: number): void {
    sys.close(this.giveUpFd(c, i));
  }

  /** Takes slot `s`'s fd (it has one) out of the slot and the budget; the caller closes it. */
  private giveUpFd(c: Chunk, i: number): number {
    const fd = c.fds[i]!;
    c.fds[i] = -1;
    this.budget.dropInodeFd(c.types[i] === DIR);
    return fd;
  }

  /** Gives an inode whose fd was closed the fresh fd the caller opened, or closes it. */
  offerFd(i: Inode, fd: number): void {
    const c = this.chunk(i.slot);
    c.touched[i.slot & MASK] = this.op;
    if (c.fds[i.slot & MASK]! < 0) {
      this.takeFd(i.slot, fd);
    } else {
      sys.close(fd);
    }
  }

  /**
   * Drops `n` lookups; at zero the inode and its fd go away. The root stays.
   * With `late`: the fd of a removed regular file of 1 MiB or more
   * (freesMuch) is pushed there instead of closed, for the caller to close
   * off the session thread.
   */
  forget(nodeid: bigint, n: bigint, late?: number[]): void {
    const s = this.slotOf(nodeid);
    if (s <= 0) return;
    const c = this.chunk(s);
    const i = s & MASK;
    if (c.refs[i] === REFS_PINNED) return;
    const left = c.refs[i]! - Number(n);
    if (left > 0) {
      c.refs[i] = left;
      return;
    }
    c.refs[i] = 0;
    // A directory whose children are known by name stays (unseen
    // by the kernel) until they go: they are reopened through it.
    if (c.names && c.names.kids[i]! > 0) return;
    // Handed over, remove() finds no fd to close.
    if (late !== undefined && c.types[i] === REG && c.fds[i]! >= 0 && freesMuch(c.fds[i]!)) late.push(this.giveUpFd(c, i));
    this.remove(s);
  }

  /** Whether inode `nodeid` holds its own fd now (the fd budget may have closed it). */
  holdsFd(nodeid: bigint): boolean {
    const s = this.slotOf(nodeid);
    return s >= 0 && this.chunk(s).fds[s & MASK]! >= 0;
  }

  /**
   * Takes slot `s` out of the table, and its name's parent too if that was
   * all that kept it, and so on up (a loop: a deep tree must not use the stack).
   */
  private remove(s: number): void {
    for (;;) {
      const c = this.chunk(s);
      const i = s & MASK;
      const p = this.names.unlink(s);
      this.byIno.remove(this.inoStart(s), s);
      if (c.fds[i]! >= 0) this.dropFd(c, i);
      this.arena.free(c.handleLen[i]!);
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
        this.buffersDropped++;
      }
      if (p < 0 || !this.names.lastKidGone(p)) break;
      s = p;
    }
    if (this.byIno.a.length > 4096 && this.live * 8 < this.byIno.a.length) this.rehash();
    this.arena.trim();
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
    c0.names?.parent.fill(-1);
    c0.names?.kids.fill(0);
    this.names.reset();
    c0.live = 1;
    this.live = 1;
    this.budget.reset();
    this.ids.clear();
    this.rehash();
  }
}
