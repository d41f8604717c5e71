// Which st_ino a new inode gets (its node id is its slot, inode-table.ts). By default a counter;
// with `use_host_ino`, the host's inode number with the device's index above
// bit 47, or a "virtual" number (bit 55) where that cannot be unique. Numbers
// readdir showed as d_ino before any lookup are kept for the lookup, so that
// d_ino and st_ino agree as they do natively.

const VIRTUAL_FLAG = 1n << 55n;
const HOST_INO_MASK = (1n << 47n) - 1n;
/** Numbers promised to directory entries not looked up yet, at most this many. */
const MAX_RESERVED = 1 << 16;

export class NodeIds {
  private nextId = 2n;
  private nextVirtual = 1n;
  /**
   * (device and mount) → host inode → the number readdir showed as d_ino
   * before any lookup. Keyed by number, not by a string made per entry: it
   * is asked for every name a listing shows. Host inode numbers beyond 2^53
   * (none on common filesystems) are keyed by their decimal string.
   */
  private readonly reserved = new Map<string, Map<number | string, bigint>>();
  private reservedCount = 0;

  constructor(
    private readonly useHostIno: boolean,
    /** Whether a live inode has this st_ino. */
    private readonly isLive: (stIno: bigint) => boolean,
  ) {}

  /** The st_ino for a new inode of host inode `ino` on `devKey` (device index `d`). */
  take(devKey: string, d: number, ino: bigint): bigint {
    const forDev = this.reserved.get(devKey);
    if (forDev !== undefined && forDev.size > 0) {
      const k = inoKey(ino);
      const promised = forDev.get(k);
      if (promised !== undefined) {
        forDev.delete(k);
        this.reservedCount--;
        if (!this.isLive(promised)) return promised;
      }
    }
    if (!this.useHostIno) return this.nextId++;
    // With host numbers, a host inode number too big for 47 bits, or one
    // alive twice (reused while the old file is still known), gets a virtual number.
    const id = (BigInt(d) << 47n) | ino;
    if (ino > HOST_INO_MASK || this.isLive(id)) return VIRTUAL_FLAG | this.nextVirtual++;
    return id;
  }

  /**
   * The number a host file not in the table will get when it is looked up
   * (`d`: its device's index, if the device is known). Numbers are reserved
   * (a bounded number), then used by take().
   */
  peek(devKey: string, d: number | undefined, ino: bigint): bigint {
    if (this.useHostIno && d !== undefined && ino <= HOST_INO_MASK) return (BigInt(d) << 47n) | ino;
    let forDev = this.reserved.get(devKey);
    if (forDev === undefined) this.reserved.set(devKey, (forDev = new Map()));
    const k = inoKey(ino);
    let n = forDev.get(k);
    if (n === undefined) {
      n = this.useHostIno ? VIRTUAL_FLAG | this.nextVirtual++ : this.nextId++;
      if (this.reservedCount >= MAX_RESERVED) this.dropOldest(forDev);
      forDev.set(k, n);
      this.reservedCount++;
    }
    return n;
  }

  /** With host numbers: the device index and host inode a st_ino that is not virtual was made from. */
  hostOf(id: bigint): { d: number; ino: bigint } | undefined {
    if (!this.useHostIno || (id & VIRTUAL_FLAG) !== 0n) return undefined;
    return { d: Number(id >> 47n), ino: id & HOST_INO_MASK };
  }

  /** Makes room: the oldest promise of this device, or of another if it has none. */
  private dropOldest(forDev: Map<number | string, bigint>): void {
    if (this.dropFirst(forDev)) return;
    for (const m of this.reserved.values()) if (this.dropFirst(m)) return;
  }

  private dropFirst(m: Map<number | string, bigint>): boolean {
    const first = m.keys().next();
    if (first.done) return false;
    m.delete(first.value);
    this.reservedCount--;
    return true;
  }

  /** Forgets every promise (the session is ending). */
  clear(): void {
    this.reserved.clear();
    this.reservedCount = 0;
  }
}

function inoKey(ino: bigint): number | string {
  const n = Number(ino);
  return n <= Number.MAX_SAFE_INTEGER ? n : String(ino);
}
