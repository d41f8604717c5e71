// A live inode as the passthrough's parts see it: a small view of one slot
// of the inode table (inode-table.ts), which keeps inodes in typed arrays,
// not one object each. And the types the table is built with.

import { MASK, REFS_PINNED } from './inode-chunk.js';
import type { Chunk } from './inode-chunk.js';

/** A view of one live inode. */
export interface Inode {
  readonly slot: number;
  /** The kernel's handle of the inode: its slot, and how often the slot was used, above bit 32 (see nodeidOf). */
  readonly nodeid: bigint;
  /** The inode number clients see (st_ino, d_ino): given by NodeIds. */
  readonly stIno: bigint;
  readonly generation: bigint;
  readonly hostIno: bigint;
  /** (device, mount) of the host file, as a string key. */
  readonly devKey: string;
  /** S_IFMT bits of the file's mode. */
  readonly type: number;
  /** Lookups the kernel holds. */
  refs: bigint;
}

/** What a host file is: (device and mount, inode number, birth time). */
export interface Identity { devKey: string; ino: bigint; btimeSec: number; btimeNsec: number }

/** The identity of the file an fd is open on, or -errno: checks a file reopened by name. */
export type Identify = (fd: number) => Identity | number;

/**
 * A fresh O_PATH fd on the inode with this node id, through a file or
 * directory the kernel has open on it; -ENOENT when none is open, or -errno.
 */
export type ReopenOpen = (nodeid: bigint) => number;

/** What a view reads its slot through: the table that owns it. */
export interface SlotOwner {
  chunk(slot: number): Chunk;
  nodeidOf(slot: number): bigint;
  stInoOf(slot: number): bigint;
  readonly devKeys: readonly string[];
}

/** An `Inode` that reads its slot's fields when asked (views are made per request, not kept). */
export class InodeView implements Inode {
  constructor(private readonly t: SlotOwner, readonly slot: number) {}
  private get c(): Chunk { return this.t.chunk(this.slot); }
  get nodeid(): bigint { return this.t.nodeidOf(this.slot); }
  get stIno(): bigint { return this.t.stInoOf(this.slot); }
  get generation(): bigint { return BigInt(this.c.gens[this.slot & MASK]!); }
  get hostIno(): bigint { return this.c.hostIno[this.slot & MASK]!; }
  get devKey(): string { return this.t.devKeys[this.c.dev[this.slot & MASK]!]!; }
  get type(): number { return this.c.types[this.slot & MASK]! << 12; }
  get refs(): bigint { return BigInt(this.c.refs[this.slot & MASK]!); }
  set refs(v: bigint) {
    // A count that would overflow pins the inode for good (a leak of one slot, never a node id lost too early).
    const i = this.slot & MASK;
    if (this.c.refs[i] !== REFS_PINNED) this.c.refs[i] = v >= BigInt(REFS_PINNED) ? REFS_PINNED : Number(v);
  }
}

export interface RootInfo { devKey: string; ino: bigint; btimeSec: number; btimeNsec: number; type: number }
