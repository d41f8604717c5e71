import { direntplusSize, direntSize, encodeDirent, encodeDirentCopy, encodeEntryOut } from '../protocol/replies.js';
import { viewOf } from '../protocol/views.js';
import { SIZEOF } from '../protocol/kernel.js';
import type { Entry } from '../protocol/replies.js';

/**
 * The body of a READDIR/READDIRPLUS reply, encoded in place into the
 * session's reply buffer. add()/addPlus() return false, writing nothing, when
 * the entry does not fit: the filesystem then stops, and must not count a
 * lookup for an entry that was refused.
 */
export class DirBuffer {
  private pos: number;
  private readonly view: DataView;
  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
    private readonly limit: number,
    readonly plus: boolean,
  ) {
    this.pos = start;
    this.view = viewOf(buf);
  }

  get length(): number {
    return this.pos - this.start;
  }

  /** Would an entry with a name of this many bytes still fit? */
  fits(nameLen: number): boolean {
    const size = this.plus ? direntplusSize(nameLen) : direntSize(nameLen);
    return this.pos + size <= this.limit;
  }

  /** A READDIR entry. `nextOffset` is the offset the kernel passes back to continue after it. */
  add(ino: bigint, name: Buffer, type: number, nextOffset: bigint): boolean {
    if (this.plus) throw new Error('DirBuffer.add() on a READDIRPLUS reply: use addPlus()');
    const size = direntSize(name.length);
    if (this.pos + size > this.limit) return false;
    this.pos = encodeDirent(this.buf, this.pos, ino, nextOffset, type, name);
    return true;
  }

  /**
   * add(), with the next offset's 8 bytes (little-endian) at `src[offAt]`
   * and the name's `nameLen` bytes at `src[nameAt]`, as a host listing left
   * them: nothing is allocated for them.
   */
  addCopy(ino: bigint, type: number, src: Uint8Array, offAt: number, nameAt: number, nameLen: number): boolean {
    if (this.plus) throw new Error('DirBuffer.addCopy() on a READDIRPLUS reply: use addPlusCopy()');
    const size = direntSize(nameLen);
    if (this.pos + size > this.limit) return false;
    this.pos = encodeDirentCopy(this.buf, this.view, this.pos, ino, type, src, offAt, nameAt, nameLen);
    return true;
  }

  /** addPlus(null, ...) with the offset and name copied from `src`, as addCopy() does. */
  addPlusCopy(ino: bigint, type: number, src: Uint8Array, offAt: number, nameAt: number, nameLen: number): boolean {
    if (!this.plus) throw new Error('DirBuffer.addPlusCopy() on a READDIR reply: use addCopy()');
    const size = direntplusSize(nameLen);
    if (this.pos + size > this.limit) return false;
    const at = this.pos;
    this.buf.fill(0, at, at + SIZEOF.fuse_entry_out);
    this.pos = encodeDirentCopy(this.buf, this.view, at + SIZEOF.fuse_entry_out, ino, type, src, offAt, nameAt, nameLen);
    return true;
  }

  /**
   * A READDIRPLUS entry. `entry` null sends a zero nodeid: the kernel then
   * makes no dentry and counts no lookup (used for "." and "..").
   */
  addPlus(entry: Entry | null, name: Buffer, type: number, nextOffset: bigint, ino?: bigint): boolean {
    if (!this.plus) throw new Error('DirBuffer.addPlus() on a READDIR reply: use add()');
    const size = direntplusSize(name.length);
    if (this.pos + size > this.limit) return false;
    const at = this.pos;
    if (entry) {
      encodeEntryOut(this.buf, at, entry);
    } else {
      this.buf.fill(0, at, at + SIZEOF.fuse_entry_out);
    }
    const attrIno = entry ? entry.attr.ino : (ino ?? 0n);
    this.pos = encodeDirent(this.buf, at + SIZEOF.fuse_entry_out, attrIno, nextOffset, type, name);
    return true;
  }
}
