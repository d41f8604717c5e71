// The names the inode table reopens inodes by (every inode without file
// handles; with handles, files on other mounts than the source's): per slot
// its parent's slot (Chunk.names) and its name's bytes (in the arena, where
// a slot with a handle keeps the handle instead: a slot has one or the
// other). A parent stays in the table while it has named children, so each
// directory counts its named children. There is no index by name (it would
// cost 8 bytes an inode): the owner statx's a name to find its inode.

import { KIDS_MAX, MASK, NameSlots } from './inode-chunk.js';
import type { ByteArena, Chunk } from './inode-chunk.js';

export class NameRecords {
  /** Named children counted beyond KIDS_MAX, by parent slot (a directory with 65,535 known children and more). */
  private readonly kidsOver = new Map<number, number>();
  /** Some inode was given a name. */
  inUse = false;

  constructor(
    private readonly chunk: (slot: number) => Chunk,
    private readonly arena: ByteArena,
  ) {}

  /**
   * Gives slot `s` the name `name` in the directory at slot `parent` (the
   * old one, if any, goes). Returns the old parent's slot if nothing keeps
   * it any more (the table removes it), else -1.
   */
  set(s: number, parent: number, name: Buffer): number {
    if (name.length === 0 || name.length > 255 || s === 0) return -1;
    this.inUse = true;
    const n = (this.chunk(s).names ??= new NameSlots());
    // Count the new parent's child first: dropping the old name may otherwise let it go.
    this.addKid(parent);
    const gone = this.clear(s);
    const c = this.chunk(s);
    const i = s & MASK;
    c.handleOff[i] = this.arena.put(name);
    c.handleLen[i] = name.length;
    n.parent[i] = parent;
    return gone;
  }

  /** Whether slot `s` is recorded as `name` in the directory at slot `parent`. */
  has(s: number, parent: number, name: Buffer): boolean {
    const c = this.chunk(s);
    const i = s & MASK;
    return c.names !== null && c.names.parent[i] === parent && c.handleLen[i] === name.length && this.arena.equals(name, c.handleOff[i]!);
  }

  /** Drops slot `s`'s name, if it has one; returns its parent's slot if nothing keeps that any more, else -1. */
  clear(s: number): number {
    const p = this.unlink(s);
    return p >= 0 && this.lastKidGone(p) ? p : -1;
  }

  /** Forgets slot `s`'s name without counting its parent's child off; returns the parent it had, or -1. */
  unlink(s: number): number {
    const c = this.chunk(s);
    if (c.names === null) return -1;
    const i = s & MASK;
    const p = c.names.parent[i]!;
    if (p < 0) return -1;
    c.names.parent[i] = -1;
    this.arena.free(c.handleLen[i]!);
    c.handleLen[i] = 0;
    return p;
  }

  /** The parent's slot and the name slot `s` is recorded under, if any. */
  of(s: number): { parent: number; name: Buffer } | undefined {
    const c = this.chunk(s);
    const k = s & MASK;
    const p = c.names === null ? -1 : c.names.parent[k]!;
    if (p < 0) return undefined;
    return { parent: p, name: Buffer.from(this.arena.at(c.handleOff[k]!, c.handleLen[k]!)) };
  }

  /** Counts one named child of slot `p` less; returns whether nothing keeps `p` any more. */
  lastKidGone(p: number): boolean {
    const over = this.kidsOver.get(p);
    if (over !== undefined) {
      if (over > 1) this.kidsOver.set(p, over - 1);
      else this.kidsOver.delete(p);
      return false;
    }
    const pc = this.chunk(p);
    const pi = p & MASK;
    return --pc.names!.kids[pi]! === 0 && pc.refs[pi] === 0 && p !== 0;
  }

  /** Every count above KIDS_MAX forgotten (the table is cleared). */
  reset(): void {
    this.kidsOver.clear();
  }

  /** Counts one more named child of slot `p`. */
  private addKid(p: number): void {
    const kids = (this.chunk(p).names ??= new NameSlots()).kids;
    const pi = p & MASK;
    if (kids[pi]! < KIDS_MAX) kids[pi]++;
    else this.kidsOver.set(p, (this.kidsOver.get(p) ?? 0) + 1);
  }
}
