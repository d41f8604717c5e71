// Encoding of replies and notifications: typed values in, bytes out. No I/O.
// Every encoder writes into a caller's buffer at an offset and returns the
// offset after what it wrote, so a reply is built in place with no copies.

import {
  FOPEN_CACHE_DIR, FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_NOFLUSH, FOPEN_NONSEEKABLE, FOPEN_PARALLEL_DIRECT_WRITES, FOPEN_PASSTHROUGH,
  FOPEN_STREAM, SIZEOF,
} from './kernel.js';
import { setU64, viewOf, writeU64 } from './views.js';

/** Attributes of an inode (fuse_attr). Times are nanoseconds since the epoch. */
export interface Attr {
  ino: bigint;
  size: bigint;
  blocks: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  flags?: number;
}

/** A reply to LOOKUP/MKNOD/MKDIR/SYMLINK/LINK/CREATE (fuse_entry_out). Timeouts in seconds. */
export interface Entry {
  nodeid: bigint;
  generation?: bigint;
  entryTimeout: number;
  attrTimeout: number;
  attr: Attr;
}

export interface AttrReply {
  attr: Attr;
  attrTimeout: number;
}

export interface OpenReply {
  fh: bigint;
  /** FOPEN_* flags */
  openFlags?: number;
  /** a backing id from FUSE_DEV_IOC_BACKING_OPEN, with FOPEN_PASSTHROUGH */
  backingId?: number;
}

export interface StatfsReply {
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  bsize: number;
  namelen: number;
  frsize: number;
}

export interface StatxTime { sec: bigint; nsec: number }
export interface StatxReply {
  attrTimeout: number;
  flags?: number;
  mask: number;
  blksize: number;
  attributes: bigint;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  ino: bigint;
  size: bigint;
  blocks: bigint;
  attributesMask: bigint;
  atime: StatxTime;
  btime: StatxTime;
  ctime: StatxTime;
  mtime: StatxTime;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
}

export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: bigint;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
  mapAlignment: number;
  maxStackDepth: number;
  requestTimeout: number;
}

const NS = 1_000_000_000n;

/**
 * Writes a timeout in seconds as fuse's (u64 seconds, u32 nanoseconds),
 * without BigInts: negative or NaN means 0, 2^53 and more means forever.
 */
function writeTimeout(v: DataView, secOff: number, nsecOff: number, seconds: number): void {
  let lo = 0;
  let hi = 0;
  let nsec = 0;
  if (seconds >= 2 ** 53) {
    lo = hi = 0xffffffff;
  } else if (seconds > 0) {
    const whole = Math.floor(seconds);
    lo = whole % 0x100000000;
    hi = Math.floor(whole / 0x100000000);
    nsec = Math.min(999_999_999, Math.round((seconds - whole) * 1e9));
  }
  v.setUint32(secOff, lo, true);
  v.setUint32(secOff + 4, hi, true);
  v.setUint32(nsecOff, nsec, true);
}

function writeNsTime(v: DataView, secOff: number, nsecOff: number, ns: bigint): void {
  // Times before 1970 are negative: the kernel reads the seconds as signed.
  let sec = ns / NS;
  let nsec = Number(ns - sec * NS);
  if (nsec < 0) {
    nsec += 1e9;
    sec -= 1n;
  }
  v.setBigInt64(secOff, sec, true);
  v.setUint32(nsecOff, nsec, true);
}

export function encodeAttr(buf: Buffer, off: number, a: Attr): number {
  return attrAt(viewOf(buf), off, a);
}

/** fuse_attr through a view the caller has (an entry or attr reply encodes its head through the same one). */
function attrAt(v: DataView, off: number, a: Attr): number {
  setU64(v, off, a.ino);
  setU64(v, off + 8, a.size);
  setU64(v, off + 16, a.blocks);
  writeNsTime(v, off + 24, off + 48, a.atimeNs);
  writeNsTime(v, off + 32, off + 52, a.mtimeNs);
  writeNsTime(v, off + 40, off + 56, a.ctimeNs);
  v.setUint32(off + 60, a.mode >>> 0, true);
  v.setUint32(off + 64, a.nlink >>> 0, true);
  v.setUint32(off + 68, a.uid >>> 0, true);
  v.setUint32(off + 72, a.gid >>> 0, true);
  v.setUint32(off + 76, a.rdev >>> 0, true);
  v.setUint32(off + 80, a.blksize >>> 0, true);
  v.setUint32(off + 84, (a.flags ?? 0) >>> 0, true);
  return off + SIZEOF.fuse_attr;
}

export function encodeEntryOut(buf: Buffer, off: number, e: Entry): number {
  const v = viewOf(buf);
  setU64(v, off, e.nodeid);
  setU64(v, off + 8, e.generation ?? 0n);
  writeTimeout(v, off + 16, off + 32, e.entryTimeout);
  writeTimeout(v, off + 24, off + 36, e.attrTimeout);
  return attrAt(v, off + 40, e.attr);
}

/** A negative entry: nodeid 0 with a timeout makes the kernel cache "does not exist". */
export function encodeNegativeEntry(buf: Buffer, off: number, entryTimeout: number): number {
  buf.fill(0, off, off + SIZEOF.fuse_entry_out);
  writeTimeout(viewOf(buf), off + 16, off + 32, entryTimeout);
  return off + SIZEOF.fuse_entry_out;
}

export function encodeAttrOut(buf: Buffer, off: number, r: AttrReply): number {
  const v = viewOf(buf);
  writeTimeout(v, off, off + 8, r.attrTimeout);
  v.setUint32(off + 12, 0, true);
  return attrAt(v, off + 16, r.attr);
}

export function encodeOpenOut(buf: Buffer, off: number, o: OpenReply): number {
  // A filesystem's backing id must fit (a DataView would wrap it silently).
  const id = o.backingId ?? 0;
  if (!Number.isInteger(id) || id < -0x8000_0000 || id > 0x7fff_ffff) throw new RangeError(`backing id ${id} is not a 32-bit integer`);
  const v = viewOf(buf);
  setU64(v, off, o.fh);
  v.setUint32(off + 8, (o.openFlags ?? 0) >>> 0, true);
  v.setInt32(off + 12, id, true);
  return off + SIZEOF.fuse_open_out;
}

/** A u32 and 4 bytes of padding: fuse_write_out, fuse_getxattr_out and fuse_poll_out all have this shape. */
function encodeU32Padded(buf: Buffer, off: number, value: number): number {
  const v = viewOf(buf);
  v.setUint32(off, value >>> 0, true);
  v.setUint32(off + 4, 0, true);
  return off + 8;
}

export function encodeWriteOut(buf: Buffer, off: number, size: number): number {
  return encodeU32Padded(buf, off, size);
}

export function encodeU64(buf: Buffer, off: number, v: bigint): number {
  writeU64(buf, off, v);
  return off + 8;
}

export function encodeStatfsOut(buf: Buffer, off: number, s: StatfsReply): number {
  const v = viewOf(buf);
  setU64(v, off, s.blocks);
  setU64(v, off + 8, s.bfree);
  setU64(v, off + 16, s.bavail);
  setU64(v, off + 24, s.files);
  setU64(v, off + 32, s.ffree);
  v.setUint32(off + 40, s.bsize >>> 0, true);
  v.setUint32(off + 44, s.namelen >>> 0, true);
  v.setUint32(off + 48, s.frsize >>> 0, true);
  buf.fill(0, off + 52, off + SIZEOF.fuse_kstatfs);
  return off + SIZEOF.fuse_kstatfs;
}

export function encodeGetxattrOut(buf: Buffer, off: number, size: number): number {
  return encodeU32Padded(buf, off, size);
}

export function encodeLkOut(buf: Buffer, off: number, lk: { start: bigint; end: bigint; type: number; pid: number }): number {
  const v = viewOf(buf);
  setU64(v, off, lk.start);
  setU64(v, off + 8, lk.end);
  v.setUint32(off + 16, lk.type >>> 0, true);
  v.setUint32(off + 20, lk.pid >>> 0, true);
  return off + 24;
}

export function encodeIoctlOut(buf: Buffer, off: number, result: number, flags = 0, inIovs = 0, outIovs = 0): number {
  // Buffer's writers: a filesystem's out-of-range value is a RangeError, not a wrapped number.
  buf.writeInt32LE(result, off);
  buf.writeUInt32LE(flags, off + 4);
  buf.writeUInt32LE(inIovs, off + 8);
  buf.writeUInt32LE(outIovs, off + 12);
  return off + 16;
}

export function encodePollOut(buf: Buffer, off: number, revents: number): number {
  return encodeU32Padded(buf, off, revents);
}

function writeSxTime(v: DataView, off: number, t: StatxTime): void {
  v.setBigInt64(off, t.sec, true);
  v.setUint32(off + 8, t.nsec >>> 0, true);
  v.setInt32(off + 12, 0, true);
}

export function encodeStatxOut(buf: Buffer, off: number, s: StatxReply): number {
  buf.fill(0, off, off + SIZEOF.fuse_statx_out);
  const v = viewOf(buf);
  writeTimeout(v, off, off + 8, s.attrTimeout);
  v.setUint32(off + 12, (s.flags ?? 0) >>> 0, true);
  const x = off + 32; // after two spare u64
  v.setUint32(x, s.mask >>> 0, true);
  v.setUint32(x + 4, s.blksize >>> 0, true);
  setU64(v, x + 8, s.attributes);
  v.setUint32(x + 16, s.nlink >>> 0, true);
  v.setUint32(x + 20, s.uid >>> 0, true);
  v.setUint32(x + 24, s.gid >>> 0, true);
  v.setUint16(x + 28, s.mode & 0xffff, true);
  setU64(v, x + 32, s.ino);
  setU64(v, x + 40, s.size);
  setU64(v, x + 48, s.blocks);
  setU64(v, x + 56, s.attributesMask);
  writeSxTime(v, x + 64, s.atime);
  writeSxTime(v, x + 80, s.btime);
  writeSxTime(v, x + 96, s.ctime);
  writeSxTime(v, x + 112, s.mtime);
  v.setUint32(x + 128, s.rdevMajor >>> 0, true);
  v.setUint32(x + 132, s.rdevMinor >>> 0, true);
  v.setUint32(x + 136, s.devMajor >>> 0, true);
  v.setUint32(x + 140, s.devMinor >>> 0, true);
  return off + SIZEOF.fuse_statx_out;
}

/**
 * fuse_init_out, sized for the kernel's minor: before 7.23 the reply is 24
 * bytes, before 7.36 it is 64 bytes without flags2 meaning; older kernels
 * reject a longer reply.
 */
export function encodeInitOut(buf: Buffer, off: number, o: InitOut, kernelMinor: number): number {
  const size = kernelMinor < 5 ? 8 : kernelMinor < 23 ? 24 : 64;
  buf.fill(0, off, off + size);
  buf.writeUInt32LE(o.major, off);
  buf.writeUInt32LE(o.minor, off + 4);
  if (size === 8) return off + size;
  buf.writeUInt32LE(o.maxReadahead >>> 0, off + 8);
  buf.writeUInt32LE(Number(o.flags & 0xffffffffn), off + 12);
  buf.writeUInt16LE(o.maxBackground, off + 16);
  buf.writeUInt16LE(o.congestionThreshold, off + 18);
  buf.writeUInt32LE(o.maxWrite >>> 0, off + 20);
  if (size === 24) return off + size;
  buf.writeUInt32LE(o.timeGran >>> 0, off + 24);
  buf.writeUInt16LE(o.maxPages, off + 28);
  buf.writeUInt16LE(o.mapAlignment, off + 30);
  buf.writeUInt32LE(Number((o.flags >> 32n) & 0xffffffffn), off + 32);
  buf.writeUInt32LE(o.maxStackDepth >>> 0, off + 36);
  buf.writeUInt16LE(o.requestTimeout, off + 40);
  return off + size;
}

export function encodeOutHeader(buf: Buffer, off: number, len: number, error: number, unique: bigint): number {
  const v = viewOf(buf);
  v.setUint32(off, len, true);
  v.setInt32(off + 4, error, true);
  setU64(v, off + 8, unique);
  return off + 16;
}

/** Size of one fuse_dirent record for a name of this length, padded to 8 bytes. */
export function direntSize(nameLen: number): number {
  return (SIZEOF.fuse_dirent + nameLen + 7) & ~7;
}

export function direntplusSize(nameLen: number): number {
  return (SIZEOF.fuse_direntplus + nameLen + 7) & ~7;
}

/**
 * Counts the entries of a READDIR (plus false) or READDIRPLUS body in
 * buf[off, end), and how many carry attributes (a nonzero node id), for
 * debug logs.
 */
export function countDirents(buf: Buffer, off: number, end: number, plus: boolean): { entries: number; withAttributes: number } {
  let entries = 0;
  let withAttributes = 0;
  const head = plus ? SIZEOF.fuse_entry_out : 0;
  const v = viewOf(buf);
  for (let p = off; p + head + SIZEOF.fuse_dirent <= end; entries++) {
    if (plus && (v.getUint32(p, true) !== 0 || v.getUint32(p + 4, true) !== 0)) withAttributes++;
    const nameLen = v.getUint32(p + head + 16, true);
    p += plus ? direntplusSize(nameLen) : direntSize(nameLen);
  }
  return { entries, withAttributes };
}

const OPEN_FLAG_NAMES: [number, string][] = [
  [FOPEN_DIRECT_IO, 'DIRECT_IO'], [FOPEN_KEEP_CACHE, 'KEEP_CACHE'], [FOPEN_NONSEEKABLE, 'NONSEEKABLE'],
  [FOPEN_CACHE_DIR, 'CACHE_DIR'], [FOPEN_STREAM, 'STREAM'], [FOPEN_NOFLUSH, 'NOFLUSH'],
  [FOPEN_PARALLEL_DIRECT_WRITES, 'PARALLEL_DIRECT_WRITES'], [FOPEN_PASSTHROUGH, 'PASSTHROUGH'],
];

/**
 * The fuse_open_out at `off` (an OPEN's or OPENDIR's reply, a CREATE's after
 * its entry), for debug logs: `fh=1 open_flags=KEEP_CACHE|CACHE_DIR`, and the
 * backing id when there is one. Bits without a name are shown in hex.
 */
export function describeOpenOut(buf: Buffer, off: number): string {
  const v = viewOf(buf);
  const flags = v.getUint32(off + 8, true);
  const names: string[] = [];
  let rest = flags;
  for (const [bit, name] of OPEN_FLAG_NAMES) {
    if ((flags & bit) === 0) continue;
    names.push(name);
    rest &= ~bit;
  }
  if (rest !== 0) names.push('0x' + (rest >>> 0).toString(16));
  const backing = v.getInt32(off + 12, true);
  return `fh=${v.getBigUint64(off, true)} open_flags=${names.length > 0 ? names.join('|') : '0'}${backing !== 0 ? ` backing_id=${backing}` : ''}`;
}

/** Writes one fuse_dirent; the caller has checked that it fits. */
export function encodeDirent(buf: Buffer, off: number, ino: bigint, nextOff: bigint, type: number, name: Buffer): number {
  const v = viewOf(buf);
  setU64(v, off, ino);
  setU64(v, off + 8, nextOff);
  v.setUint32(off + 16, name.length, true);
  v.setUint32(off + 20, type, true);
  name.copy(buf, off + 24);
  const end = off + direntSize(name.length);
  buf.fill(0, off + 24 + name.length, end);
  return end;
}

/**
 * Writes one fuse_dirent whose next offset (8 bytes, little-endian as given)
 * and name are copied from `src`, byte by byte: for short names that costs
 * less than the native calls of Buffer#copy and a BigInt for the offset.
 * `view` is a DataView of `buf`; the caller has checked that it fits.
 */
export function encodeDirentCopy(buf: Uint8Array, view: DataView, off: number, ino: bigint, type: number, src: Uint8Array, offAt: number, nameAt: number, nameLen: number): number {
  setU64(view, off, ino);
  for (let k = 0; k < 8; k++) buf[off + 8 + k] = src[offAt + k]!;
  view.setUint32(off + 16, nameLen, true);
  view.setUint32(off + 20, type, true);
  const at = off + SIZEOF.fuse_dirent;
  for (let k = 0; k < nameLen; k++) buf[at + k] = src[nameAt + k]!;
  const end = off + direntSize(nameLen);
  for (let k = at + nameLen; k < end; k++) buf[k] = 0;
  return end;
}

// ---- notifications (unique 0, error = notify code) ----

export function encodeNotifyInvalInode(buf: Buffer, off: number, ino: bigint, offset: bigint, len: bigint): number {
  const v = viewOf(buf);
  setU64(v, off, ino);
  v.setBigInt64(off + 8, offset, true);
  v.setBigInt64(off + 16, len, true);
  return off + 24;
}

export function encodeNotifyInvalEntry(buf: Buffer, off: number, parent: bigint, name: Buffer, flags: number): number {
  const v = viewOf(buf);
  setU64(v, off, parent);
  v.setUint32(off + 8, name.length, true);
  v.setUint32(off + 12, flags >>> 0, true);
  name.copy(buf, off + 16);
  buf[off + 16 + name.length] = 0;
  return off + 17 + name.length;
}

export function encodeNotifyDelete(buf: Buffer, off: number, parent: bigint, child: bigint, name: Buffer): number {
  const v = viewOf(buf);
  setU64(v, off, parent);
  setU64(v, off + 8, child);
  v.setUint32(off + 16, name.length, true);
  v.setUint32(off + 20, 0, true);
  name.copy(buf, off + 24);
  buf[off + 24 + name.length] = 0;
  return off + 25 + name.length;
}

export function encodeNotifyStore(buf: Buffer, off: number, ino: bigint, offset: bigint, data: Buffer): number {
  const v = viewOf(buf);
  setU64(v, off, ino);
  setU64(v, off + 8, offset);
  v.setUint32(off + 16, data.length, true);
  v.setUint32(off + 20, 0, true);
  data.copy(buf, off + 24);
  return off + 24 + data.length;
}

export function encodeNotifyRetrieve(buf: Buffer, off: number, notifyUnique: bigint, ino: bigint, offset: bigint, size: number): number {
  const v = viewOf(buf);
  setU64(v, off, notifyUnique);
  setU64(v, off + 8, ino);
  setU64(v, off + 16, offset);
  v.setUint32(off + 24, size >>> 0, true);
  v.setUint32(off + 28, 0, true);
  return off + 32;
}

export function encodeNotifyPoll(buf: Buffer, off: number, kh: bigint): number {
  writeU64(buf, off, kh);
  return off + 8;
}
