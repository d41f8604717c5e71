// Decoding of requests from the kernel: bytes in, typed objects out. No I/O.
// Names and payloads are views into the input buffer (no copies); a consumer
// that keeps them past the handler must copy them.

import { viewOf } from './views.js';

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** fuse_in_header, plus the extension bytes (total_extlen * 8) split off. */
export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: bigint;
  uid: number;
  gid: number;
  pid: number;
  totalExtlen: number;
}

export function decodeInHeader(buf: Buffer, length: number): InHeader {
  if (length < 40) throw new ProtocolError(`short request: ${length} bytes, header needs 40`);
  // Through a DataView: Buffer's readers check their argument through a wrapper call each (~90 ns a header, measured).
  const v = viewOf(buf);
  const len = v.getUint32(0, true);
  if (len !== length) throw new ProtocolError(`header says ${len} bytes, read returned ${length}`);
  return {
    len,
    opcode: v.getUint32(4, true),
    unique: v.getBigUint64(8, true),
    nodeid: v.getBigUint64(16, true),
    uid: v.getUint32(24, true),
    gid: v.getUint32(28, true),
    pid: v.getUint32(32, true),
    totalExtlen: v.getUint16(36, true),
  };
}

/** A cursor over one request's argument bytes, bounds-checked. */
export class ArgReader {
  pos: number;
  /** One view of `buf` for every field read (viewOf's lookup once, not per field). */
  private readonly view: DataView;
  constructor(readonly buf: Buffer, start: number, readonly end: number) {
    this.pos = start;
    this.view = viewOf(buf);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.end) {
      throw new ProtocolError(`truncated ${what}: need ${n} bytes, ${this.end - this.pos} left`);
    }
  }
  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  skip(n: number): void {
    this.pos += n;
  }
  /** A NUL-terminated name; the view excludes the NUL. */
  cstr(what: string): Buffer {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw new ProtocolError(`${what} is not NUL-terminated`);
    const s = this.buf.subarray(this.pos, nul);
    this.pos = nul + 1;
    return s;
  }
  rest(): Buffer {
    const s = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return s;
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

// ---- argument types, one per request shape (fields named as in fuse.h, camelCase) ----

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  /** flags | flags2 << 32 */
  flags: bigint;
}
export interface ForgetIn { nlookup: bigint }
export interface ForgetOne { nodeid: bigint; nlookup: bigint }
export interface BatchForgetIn { forgets: ForgetOne[] }
export interface GetattrIn { getattrFlags: number; fh: bigint }
export interface SetattrIn {
  valid: number;
  fh: bigint;
  size: bigint;
  lockOwner: bigint;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  atimensec: number;
  mtimensec: number;
  ctimensec: number;
  mode: number;
  uid: number;
  gid: number;
}
export interface NameIn { name: Buffer }
export interface SymlinkIn { name: Buffer; target: Buffer }
export interface MknodIn { mode: number; rdev: number; umask: number; name: Buffer }
export interface MkdirIn { mode: number; umask: number; name: Buffer }
export interface RenameIn { newdir: bigint; flags: number; oldname: Buffer; newname: Buffer }
export interface LinkIn { oldnodeid: bigint; newname: Buffer }
export interface OpenIn { flags: number; openFlags: number }
export interface CreateIn { flags: number; mode: number; umask: number; openFlags: number; name: Buffer }
export interface ReadIn { fh: bigint; offset: bigint; size: number; readFlags: number; lockOwner: bigint; flags: number }
export interface WriteIn { fh: bigint; offset: bigint; size: number; writeFlags: number; lockOwner: bigint; flags: number; data: Buffer }
export interface ReleaseIn { fh: bigint; flags: number; releaseFlags: number; lockOwner: bigint }
export interface FsyncIn { fh: bigint; fsyncFlags: number }
export interface FlushIn { fh: bigint; lockOwner: bigint }
export interface SetxattrIn { size: number; flags: number; setxattrFlags: number; name: Buffer; value: Buffer }
export interface GetxattrIn { size: number; name: Buffer }
export interface ListxattrIn { size: number }
export interface FileLock { start: bigint; end: bigint; type: number; pid: number }
export interface LkIn { fh: bigint; owner: bigint; lk: FileLock; lkFlags: number }
export interface AccessIn { mask: number }
export interface InterruptIn { unique: bigint }
export interface BmapIn { block: bigint; blocksize: number }
export interface IoctlIn { fh: bigint; flags: number; cmd: number; arg: bigint; inSize: number; outSize: number; data: Buffer }
export interface PollIn { fh: bigint; kh: bigint; flags: number; events: number }
export interface NotifyReplyIn { offset: bigint; size: number; data: Buffer }
export interface FallocateIn { fh: bigint; offset: bigint; length: bigint; mode: number }
export interface LseekIn { fh: bigint; offset: bigint; whence: number }
export interface CopyFileRangeIn { fhIn: bigint; offIn: bigint; nodeidOut: bigint; fhOut: bigint; offOut: bigint; len: bigint; flags: bigint }
export interface StatxIn { getattrFlags: number; fh: bigint; sxFlags: number; sxMask: number }
export type NoArgs = Record<string, never>;

const NONE: NoArgs = Object.freeze({}) as NoArgs;

// ---- decoders: each reads its fixed struct, then its names/payload ----

export type Decoder<T> = (r: ArgReader, minor: number, flags: bigint) => T;

export const decodeNone: Decoder<NoArgs> = () => NONE;

export const decodeInit: Decoder<InitIn> = (r) => {
  r.need(16, 'fuse_init_in');
  const major = r.u32();
  const minor = r.u32();
  const maxReadahead = r.u32();
  let flags = BigInt(r.u32());
  // flags2 exists from 7.36 on, and is meaningful only with INIT_EXT (bit 30).
  if (r.end - r.pos >= 4 && flags & (1n << 30n)) flags |= BigInt(r.u32()) << 32n;
  r.pos = r.end;
  return { major, minor, maxReadahead, flags };
};

export const decodeName: Decoder<NameIn> = (r) => ({ name: r.cstr('name') });

export const decodeForget: Decoder<ForgetIn> = (r) => {
  r.need(8, 'fuse_forget_in');
  return { nlookup: r.u64() };
};

export const decodeBatchForget: Decoder<BatchForgetIn> = (r) => {
  r.need(8, 'fuse_batch_forget_in');
  const count = r.u32();
  r.skip(4);
  r.need(count * 16, 'fuse_forget_one array');
  const forgets: ForgetOne[] = new Array(count);
  for (let i = 0; i < count; i++) forgets[i] = { nodeid: r.u64(), nlookup: r.u64() };
  return { forgets };
};

export const decodeGetattr: Decoder<GetattrIn> = (r, minor) => {
  // Before 7.9 GETATTR had no argument.
  if (minor < 9 || r.end - r.pos === 0) return { getattrFlags: 0, fh: 0n };
  r.need(16, 'fuse_getattr_in');
  const getattrFlags = r.u32();
  r.skip(4);
  return { getattrFlags, fh: r.u64() };
};

export const decodeSetattr: Decoder<SetattrIn> = (r) => {
  r.need(88, 'fuse_setattr_in');
  const valid = r.u32();
  r.skip(4);
  const fh = r.u64();
  const size = r.u64();
  const lockOwner = r.u64();
  // The kernel stores tv_sec (signed) in these u64 fields: times before 1970 are negative.
  const atime = r.i64();
  const mtime = r.i64();
  const ctime = r.i64();
  const atimensec = r.u32();
  const mtimensec = r.u32();
  const ctimensec = r.u32();
  const mode = r.u32();
  r.skip(4);
  const uid = r.u32();
  const gid = r.u32();
  r.skip(4);
  return { valid, fh, size, lockOwner, atime, mtime, ctime, atimensec, mtimensec, ctimensec, mode, uid, gid };
};

export const decodeSymlink: Decoder<SymlinkIn> = (r) => {
  const name = r.cstr('name');
  return { name, target: r.cstr('symlink target') };
};

export const decodeMknod: Decoder<MknodIn> = (r, minor) => {
  if (minor < 12) {
    r.need(8, 'fuse_mknod_in');
    const mode = r.u32();
    const rdev = r.u32();
    return { mode, rdev, umask: 0, name: r.cstr('name') };
  }
  r.need(16, 'fuse_mknod_in');
  const mode = r.u32();
  const rdev = r.u32();
  const umask = r.u32();
  r.skip(4);
  return { mode, rdev, umask, name: r.cstr('name') };
};

export const decodeMkdir: Decoder<MkdirIn> = (r) => {
  r.need(8, 'fuse_mkdir_in');
  const mode = r.u32();
  const umask = r.u32();
  return { mode, umask, name: r.cstr('name') };
};

export const decodeRename: Decoder<RenameIn> = (r) => {
  r.need(8, 'fuse_rename_in');
  const newdir = r.u64();
  const oldname = r.cstr('old name');
  return { newdir, flags: 0, oldname, newname: r.cstr('new name') };
};

export const decodeRename2: Decoder<RenameIn> = (r) => {
  r.need(16, 'fuse_rename2_in');
  const newdir = r.u64();
  const flags = r.u32();
  r.skip(4);
  const oldname = r.cstr('old name');
  return { newdir, flags, oldname, newname: r.cstr('new name') };
};

export const decodeLink: Decoder<LinkIn> = (r) => {
  r.need(8, 'fuse_link_in');
  const oldnodeid = r.u64();
  return { oldnodeid, newname: r.cstr('new name') };
};

export const decodeOpen: Decoder<OpenIn> = (r) => {
  r.need(8, 'fuse_open_in');
  return { flags: r.u32(), openFlags: r.u32() };
};

export const decodeCreate: Decoder<CreateIn> = (r, minor) => {
  if (minor < 12) {
    // Before 7.12 CREATE sent fuse_open_in {flags, mode}.
    r.need(8, 'fuse_open_in');
    const flags = r.u32();
    const mode = r.u32();
    return { flags, mode, umask: 0, openFlags: 0, name: r.cstr('name') };
  }
  r.need(16, 'fuse_create_in');
  const flags = r.u32();
  const mode = r.u32();
  const umask = r.u32();
  const openFlags = r.u32();
  return { flags, mode, umask, openFlags, name: r.cstr('name') };
};

function readInPrefix(r: ArgReader, what: string, minor: number): { fh: bigint; offset: bigint; size: number; rwFlags: number; lockOwner: bigint; flags: number } {
  // fuse_read_in / fuse_write_in were 24 bytes before 7.9.
  const full = minor >= 9;
  r.need(full ? 40 : 24, what);
  const fh = r.u64();
  const offset = r.u64();
  const size = r.u32();
  const rwFlags = r.u32();
  if (!full) return { fh, offset, size, rwFlags, lockOwner: 0n, flags: 0 };
  const lockOwner = r.u64();
  const flags = r.u32();
  r.skip(4);
  return { fh, offset, size, rwFlags, lockOwner, flags };
}

export const decodeRead: Decoder<ReadIn> = (r, minor) => {
  const p = readInPrefix(r, 'fuse_read_in', minor);
  return { fh: p.fh, offset: p.offset, size: p.size, readFlags: p.rwFlags, lockOwner: p.lockOwner, flags: p.flags };
};

export const decodeWrite: Decoder<WriteIn> = (r, minor) => {
  const p = readInPrefix(r, 'fuse_write_in', minor);
  const data = r.bytes(p.size, 'write payload');
  return { fh: p.fh, offset: p.offset, size: p.size, writeFlags: p.rwFlags, lockOwner: p.lockOwner, flags: p.flags, data };
};

export const decodeRelease: Decoder<ReleaseIn> = (r, minor) => {
  const full = minor >= 8;
  r.need(full ? 24 : 16, 'fuse_release_in');
  const fh = r.u64();
  const flags = r.u32();
  const releaseFlags = r.u32();
  return { fh, flags, releaseFlags, lockOwner: full ? r.u64() : 0n };
};

export const decodeFsync: Decoder<FsyncIn> = (r) => {
  r.need(16, 'fuse_fsync_in');
  const fh = r.u64();
  const fsyncFlags = r.u32();
  r.skip(4);
  return { fh, fsyncFlags };
};

export const decodeFlush: Decoder<FlushIn> = (r) => {
  r.need(24, 'fuse_flush_in');
  const fh = r.u64();
  r.skip(8);
  return { fh, lockOwner: r.u64() };
};

export const decodeSetxattr: Decoder<SetxattrIn> = (r, _minor, flags) => {
  // With SETXATTR_EXT the struct grows from 8 to 16 bytes.
  const ext = (flags & (1n << 29n)) !== 0n;
  r.need(ext ? 16 : 8, 'fuse_setxattr_in');
  const size = r.u32();
  const xflags = r.u32();
  let setxattrFlags = 0;
  if (ext) {
    setxattrFlags = r.u32();
    r.skip(4);
  }
  const name = r.cstr('xattr name');
  const value = r.bytes(size, 'xattr value');
  return { size, flags: xflags, setxattrFlags, name, value };
};

export const decodeGetxattr: Decoder<GetxattrIn> = (r) => {
  r.need(8, 'fuse_getxattr_in');
  const size = r.u32();
  r.skip(4);
  return { size, name: r.cstr('xattr name') };
};

export const decodeListxattr: Decoder<ListxattrIn> = (r) => {
  r.need(8, 'fuse_getxattr_in');
  const size = r.u32();
  r.skip(4);
  return { size };
};

export const decodeLk: Decoder<LkIn> = (r) => {
  r.need(48, 'fuse_lk_in');
  const fh = r.u64();
  const owner = r.u64();
  const start = r.u64();
  const end = r.u64();
  const type = r.u32();
  const pid = r.u32();
  const lkFlags = r.u32();
  r.skip(4);
  return { fh, owner, lk: { start, end, type, pid }, lkFlags };
};

export const decodeAccess: Decoder<AccessIn> = (r) => {
  r.need(8, 'fuse_access_in');
  const mask = r.u32();
  r.skip(4);
  return { mask };
};

export const decodeInterrupt: Decoder<InterruptIn> = (r) => {
  r.need(8, 'fuse_interrupt_in');
  return { unique: r.u64() };
};

export const decodeBmap: Decoder<BmapIn> = (r) => {
  r.need(16, 'fuse_bmap_in');
  const block = r.u64();
  const blocksize = r.u32();
  r.skip(4);
  return { block, blocksize };
};

export const decodeIoctl: Decoder<IoctlIn> = (r) => {
  r.need(32, 'fuse_ioctl_in');
  const fh = r.u64();
  const flags = r.u32();
  const cmd = r.u32();
  const arg = r.u64();
  const inSize = r.u32();
  const outSize = r.u32();
  return { fh, flags, cmd, arg, inSize, outSize, data: r.rest() };
};

export const decodePoll: Decoder<PollIn> = (r) => {
  r.need(24, 'fuse_poll_in');
  const fh = r.u64();
  const kh = r.u64();
  const flags = r.u32();
  const events = r.u32();
  return { fh, kh, flags, events };
};

export const decodeNotifyReply: Decoder<NotifyReplyIn> = (r) => {
  r.need(40, 'fuse_notify_retrieve_in');
  r.skip(8);
  const offset = r.u64();
  const size = r.u32();
  r.skip(4 + 16);
  return { offset, size, data: r.bytes(size, 'retrieved data') };
};

export const decodeFallocate: Decoder<FallocateIn> = (r) => {
  r.need(32, 'fuse_fallocate_in');
  const fh = r.u64();
  const offset = r.u64();
  const length = r.u64();
  const mode = r.u32();
  r.skip(4);
  return { fh, offset, length, mode };
};

export const decodeLseek: Decoder<LseekIn> = (r) => {
  r.need(24, 'fuse_lseek_in');
  const fh = r.u64();
  const offset = r.u64();
  const whence = r.u32();
  r.skip(4);
  return { fh, offset, whence };
};

export const decodeCopyFileRange: Decoder<CopyFileRangeIn> = (r) => {
  r.need(56, 'fuse_copy_file_range_in');
  return { fhIn: r.u64(), offIn: r.u64(), nodeidOut: r.u64(), fhOut: r.u64(), offOut: r.u64(), len: r.u64(), flags: r.u64() };
};

export const decodeStatx: Decoder<StatxIn> = (r) => {
  r.need(24, 'fuse_statx_in');
  const getattrFlags = r.u32();
  r.skip(4);
  const fh = r.u64();
  const sxFlags = r.u32();
  const sxMask = r.u32();
  return { getattrFlags, fh, sxFlags, sxMask };
};

export const decodeSyncfs: Decoder<NoArgs> = (r) => {
  r.need(8, 'fuse_syncfs_in');
  r.skip(8);
  return NONE;
};
