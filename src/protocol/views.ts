// DataViews of protocol buffers. Buffer's BigInt accessors are written in
// JavaScript (shifts and masks on BigInts, ~55 ns a field here) and its
// 32-bit ones check their arguments through a wrapper call; DataView's are
// V8 builtins (~12 ns for a u64). So the encoders and decoders take one
// view of their buffer per call and go through it for every field. The
// session cycles through a few buffers (requests, replies, error replies),
// so the views of the last four are kept.

const SLOTS = 4;
const bufs: (Buffer | null)[] = new Array<Buffer | null>(SLOTS).fill(null);
const views: (DataView | null)[] = new Array<DataView | null>(SLOTS).fill(null);
let next = 0;

/** A DataView over exactly the bytes of `buf` (cached for the last four buffers). */
export function viewOf(buf: Buffer): DataView {
  for (let i = 0; i < SLOTS; i++) if (bufs[i] === buf) return views[i]!;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  bufs[next] = buf;
  views[next] = v;
  next = (next + 1) % SLOTS;
  return v;
}

/**
 * Writes v as a u64. A negative value (a filesystem's sentinel, say) is a
 * RangeError, as with Buffer#writeBigUInt64LE; one of 2^64 or more is taken
 * modulo 2^64 (checking it would cost an allocation per field).
 */
export function writeU64(buf: Buffer, off: number, v: bigint): void {
  setU64(viewOf(buf), off, v);
}

/** writeU64 through a view the caller already has (an encoder of several fields takes one view). */
export function setU64(view: DataView, off: number, v: bigint): void {
  if (v < 0n) throw new RangeError(`u64 field at offset ${off}: ${v} is negative`);
  view.setBigUint64(off, v, true);
}
