// 64-bit fields of protocol buffers. Buffer's BigInt accessors are written in
// JavaScript (shifts and masks on BigInts, ~55 ns a field here); DataView's
// are V8 builtins (~12 ns). Every reply carries several u64 fields (node ids,
// sizes, times), so the encoders and decoders go through a DataView of the
// buffer. The session reuses a few buffers, so their views are kept.

let lastBuf: Buffer | null = null;
let lastView: DataView | null = null;
let prevBuf: Buffer | null = null;
let prevView: DataView | null = null;

/** A DataView over exactly the bytes of `buf` (cached for the last two buffers). */
export function viewOf(buf: Buffer): DataView {
  if (buf === lastBuf) return lastView!;
  if (buf === prevBuf) {
    const v = prevView!;
    prevBuf = lastBuf;
    prevView = lastView;
    lastBuf = buf;
    lastView = v;
    return v;
  }
  prevBuf = lastBuf;
  prevView = lastView;
  lastBuf = buf;
  lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return lastView;
}

export function readU64(buf: Buffer, off: number): bigint {
  return viewOf(buf).getBigUint64(off, true);
}

export function readI64(buf: Buffer, off: number): bigint {
  return viewOf(buf).getBigInt64(off, true);
}

/**
 * Writes v as a u64. A negative value (a filesystem's sentinel, say) is a
 * RangeError, as with Buffer#writeBigUInt64LE; one of 2^64 or more is taken
 * modulo 2^64 (checking it would cost an allocation per field).
 */
export function writeU64(buf: Buffer, off: number, v: bigint): void {
  if (v < 0n) throw new RangeError(`u64 field at offset ${off}: ${v} is negative`);
  viewOf(buf).setBigUint64(off, v, true);
}

export function writeI64(buf: Buffer, off: number, v: bigint): void {
  viewOf(buf).setBigInt64(off, v, true);
}
