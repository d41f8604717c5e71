// The one opcode table: for each request, its name, how to decode it, which
// filesystem method serves it, how its result is encoded, and how it is
// described in debug logs. The session is a loop over this table.

import { Opcode, SIZEOF } from './kernel.js';
import * as Q from './requests.js';
import * as R from './replies.js';
import type { Filesystem, FileAllocate, FileData, FileSync, FileTruncate, FileWrite, HandlerResult, RequestContext, CreateReply, IoctlReply, LockReply, NegativeEntry } from '../session/filesystem.js';
import { FileClose } from '../session/filesystem.js';
import { DirBuffer } from '../session/dirbuf.js';
import { FuseError } from '../session/errors.js';

/** Thrown by an encoder to reply an errno (e.g. ERANGE for an xattr too big). */
export class EncodeErrno extends Error {
  constructor(readonly errno: number) {
    super(`errno ${errno}`);
  }
}
const ERANGE = 34;

export interface OpSpec<A = any, T = any> {
  opcode: Opcode;
  name: string;
  decode: Q.Decoder<A>;
  /** The filesystem method; null when the session itself handles the opcode. */
  method: keyof Filesystem | null;
  /** The method that serves the opcode when the filesystem has no `method` (BATCH_FORGET: forget, item by item). */
  orMethod?: keyof Filesystem;
  /** FORGET, BATCH_FORGET, INTERRUPT and NOTIFY_REPLY get no reply (not even when malformed). */
  noReply?: boolean;
  /**
   * Calls the method. `out` is the reply buffer; the body starts at byte 16.
   * A FuseError returned (not thrown) is replied as an error (Filesystem).
   */
  call?: (fs: Filesystem, ctx: RequestContext, args: A, out: Buffer) => HandlerResult<T>;
  /** Encodes the result at `off` in `buf`, returns the end; absent: empty body. */
  encode?: (buf: Buffer, off: number, result: T, args: A) => number;
  /** The arguments for debug logs. */
  describe?: (args: A) => string;
  /** What a successful reply's body in buf[off, end) carries, for debug logs. */
  describeReply?: (buf: Buffer, off: number, end: number) => string;
}

/**
 * Every spec gets the same fields in the same order, the absent ones
 * undefined: the session reads them for each request, and one object shape
 * keeps those reads monomorphic (with a shape per opcode they went through
 * V8's generic property lookup: together with the session looking up the
 * method by name, about 1.5% of the session thread's samples in a parallel
 * create, and no difference a benchmark could measure).
 */
function op<A, T>(spec: OpSpec<A, T>): OpSpec<A, T> {
  // Typed so that a field added to OpSpec and left out here fails to compile instead of being dropped.
  const full = {
    opcode: spec.opcode,
    name: spec.name,
    decode: spec.decode,
    method: spec.method,
    orMethod: spec.orMethod,
    noReply: spec.noReply ?? false,
    call: spec.call,
    encode: spec.encode,
    describe: spec.describe,
    describeReply: spec.describeReply,
  } satisfies Record<keyof OpSpec<A, T>, unknown>;
  return full;
}

/** A READDIR(PLUS) reply's length once the handler filled `d`, or the FuseError it returned. */
function listed(r: HandlerResult<void>, d: DirBuffer): HandlerResult<number> {
  if (r instanceof FuseError) return r;
  return r instanceof Promise ? r.then((v) => (v instanceof FuseError ? v : d.length)) : d.length;
}

const HDR = SIZEOF.fuse_out_header;
const str = (b: Buffer): string => JSON.stringify(b.toString('latin1'));
const oct = (n: number): string => '0' + n.toString(8);
const hex = (n: number): string => '0x' + n.toString(16);

function encodeEntryOrNegative(buf: Buffer, off: number, e: R.Entry | NegativeEntry): number {
  if ('negative' in e) return R.encodeNegativeEntry(buf, off, e.entryTimeout);
  return R.encodeEntryOut(buf, off, e);
}

function encodeCreate(buf: Buffer, off: number, c: CreateReply): number {
  return R.encodeOpenOut(buf, R.encodeEntryOut(buf, off, c.entry), c.open);
}

function encodeData(buf: Buffer, off: number, data: Buffer | number, max: number): number {
  if (typeof data === 'number') {
    if (!Number.isInteger(data) || data < 0) throw new TypeError(`byte count ${data} is not a non-negative integer`);
    return off + Math.min(data, max, buf.length - off);
  }
  if (data.length > max) throw new EncodeErrno(ERANGE);
  if (data.buffer !== buf.buffer || data.byteOffset !== buf.byteOffset + off) data.copy(buf, off);
  return off + data.length;
}

function encodeXattrReply(buf: Buffer, off: number, v: Buffer | number, size: number): number {
  if (size === 0) return R.encodeGetxattrOut(buf, off, typeof v === 'number' ? v : v.length);
  if (typeof v === 'number') throw new EncodeErrno(ERANGE);
  return encodeData(buf, off, v, size);
}

const rwDesc = (a: Q.ReadIn): string => `fh=${a.fh} off=${a.offset} size=${a.size} flags=${hex(a.flags)}`;

const table: OpSpec[] = [
  op<Q.NameIn, R.Entry | NegativeEntry>({
    opcode: Opcode.FUSE_LOOKUP, name: 'LOOKUP', decode: Q.decodeName, method: 'lookup',
    call: (fs, c, a) => fs.lookup!(c, c.nodeid, a.name), encode: encodeEntryOrNegative, describe: (a) => str(a.name),
  }),
  op<Q.ForgetIn, void | FileClose>({
    opcode: Opcode.FUSE_FORGET, name: 'FORGET', decode: Q.decodeForget, method: 'forget', noReply: true,
    call: (fs, c, a) => fs.forget!(c, c.nodeid, a.nlookup), describe: (a) => `nlookup=${a.nlookup}`,
  }),
  op<Q.GetattrIn, R.AttrReply>({
    opcode: Opcode.FUSE_GETATTR, name: 'GETATTR', decode: Q.decodeGetattr, method: 'getattr',
    call: (fs, c, a) => fs.getattr!(c, c.nodeid, a.getattrFlags & 1 ? a.fh : undefined),
    encode: R.encodeAttrOut, describe: (a) => (a.getattrFlags & 1 ? `fh=${a.fh}` : ''),
  }),
  op<Q.SetattrIn, R.AttrReply | FileTruncate<R.AttrReply>>({
    opcode: Opcode.FUSE_SETATTR, name: 'SETATTR', decode: Q.decodeSetattr, method: 'setattr',
    // A FileTruncate result never gets here: the session truncates, then encodes what its reply() gives.
    call: (fs, c, a) => fs.setattr!(c, c.nodeid, a), encode: (buf, off, r) => R.encodeAttrOut(buf, off, r as R.AttrReply),
    describe: (a) => `valid=${hex(a.valid)} mode=${oct(a.mode)} uid=${a.uid} gid=${a.gid} size=${a.size}`,
  }),
  op<Q.NoArgs, Buffer | string>({
    opcode: Opcode.FUSE_READLINK, name: 'READLINK', decode: Q.decodeNone, method: 'readlink',
    call: (fs, c) => fs.readlink!(c, c.nodeid),
    encode: (buf, off, t) => off + (typeof t === 'string' ? buf.write(t, off) : t.copy(buf, off)),
  }),
  op<Q.SymlinkIn, R.Entry>({
    opcode: Opcode.FUSE_SYMLINK, name: 'SYMLINK', decode: Q.decodeSymlink, method: 'symlink',
    call: (fs, c, a) => fs.symlink!(c, c.nodeid, a.name, a.target), encode: R.encodeEntryOut,
    describe: (a) => `${str(a.name)} -> ${str(a.target)}`,
  }),
  op<Q.MknodIn, R.Entry>({
    opcode: Opcode.FUSE_MKNOD, name: 'MKNOD', decode: Q.decodeMknod, method: 'mknod',
    call: (fs, c, a) => fs.mknod!(c, c.nodeid, a), encode: R.encodeEntryOut,
    describe: (a) => `${str(a.name)} mode=${oct(a.mode)} rdev=${hex(a.rdev)} umask=${oct(a.umask)}`,
  }),
  op<Q.MkdirIn, R.Entry>({
    opcode: Opcode.FUSE_MKDIR, name: 'MKDIR', decode: Q.decodeMkdir, method: 'mkdir',
    call: (fs, c, a) => fs.mkdir!(c, c.nodeid, a), encode: R.encodeEntryOut,
    describe: (a) => `${str(a.name)} mode=${oct(a.mode)} umask=${oct(a.umask)}`,
  }),
  op<Q.NameIn, void>({
    opcode: Opcode.FUSE_UNLINK, name: 'UNLINK', decode: Q.decodeName, method: 'unlink',
    call: (fs, c, a) => fs.unlink!(c, c.nodeid, a.name), describe: (a) => str(a.name),
  }),
  op<Q.NameIn, void>({
    opcode: Opcode.FUSE_RMDIR, name: 'RMDIR', decode: Q.decodeName, method: 'rmdir',
    call: (fs, c, a) => fs.rmdir!(c, c.nodeid, a.name), describe: (a) => str(a.name),
  }),
  op<Q.RenameIn, void>({
    opcode: Opcode.FUSE_RENAME, name: 'RENAME', decode: Q.decodeRename, method: 'rename',
    call: (fs, c, a) => fs.rename!(c, c.nodeid, a), describe: (a) => `${str(a.oldname)} -> ${a.newdir}/${str(a.newname)}`,
  }),
  op<Q.LinkIn, R.Entry>({
    opcode: Opcode.FUSE_LINK, name: 'LINK', decode: Q.decodeLink, method: 'link',
    call: (fs, c, a) => fs.link!(c, a.oldnodeid, c.nodeid, a.newname), encode: R.encodeEntryOut,
    describe: (a) => `ino=${a.oldnodeid} -> ${str(a.newname)}`,
  }),
  op<Q.OpenIn, R.OpenReply | FileTruncate<R.OpenReply>>({
    opcode: Opcode.FUSE_OPEN, name: 'OPEN', decode: Q.decodeOpen, method: 'open',
    // A FileTruncate result never gets here: the session truncates, then encodes what its reply() gives.
    call: (fs, c, a) => fs.open!(c, c.nodeid, a), encode: (buf, off, r) => R.encodeOpenOut(buf, off, r as R.OpenReply),
    describe: (a) => `flags=${oct(a.flags)}`, describeReply: (b, off) => R.describeOpenOut(b, off),
  }),
  op<Q.ReadIn, Buffer | number | FileData>({
    opcode: Opcode.FUSE_READ, name: 'READ', decode: Q.decodeRead, method: 'read',
    call: (fs, c, a, out) => fs.read!(c, c.nodeid, a, out.subarray(HDR, HDR + a.size)),
    // A FileData result never gets here: the session sends it itself.
    encode: (buf, off, d, a) => encodeData(buf, off, d as Buffer | number, a.size), describe: rwDesc,
  }),
  op<Q.WriteIn, number | FileWrite>({
    opcode: Opcode.FUSE_WRITE, name: 'WRITE', decode: Q.decodeWrite, method: 'write',
    // A FileWrite result never gets here: the session writes it itself.
    call: (fs, c, a) => fs.write!(c, c.nodeid, a), encode: (buf, off, n) => R.encodeWriteOut(buf, off, n as number),
    describe: (a) => `fh=${a.fh} off=${a.offset} size=${a.size} wflags=${hex(a.writeFlags)}`,
  }),
  op<Q.NoArgs, R.StatfsReply>({
    opcode: Opcode.FUSE_STATFS, name: 'STATFS', decode: Q.decodeNone, method: 'statfs',
    call: (fs, c) => fs.statfs!(c, c.nodeid), encode: R.encodeStatfsOut,
  }),
  // A FileClose result (RELEASE) never gets an encoder: the session closes the fds and answers itself.
  op<Q.ReleaseIn, void | FileClose>({
    opcode: Opcode.FUSE_RELEASE, name: 'RELEASE', decode: Q.decodeRelease, method: 'release',
    call: (fs, c, a) => fs.release!(c, c.nodeid, a), describe: (a) => `fh=${a.fh}`,
  }),
  // A FileSync result (FSYNC, FSYNCDIR) never gets an encoder: the session syncs and answers itself.
  op<Q.FsyncIn, void | FileSync>({
    opcode: Opcode.FUSE_FSYNC, name: 'FSYNC', decode: Q.decodeFsync, method: 'fsync',
    call: (fs, c, a) => fs.fsync!(c, c.nodeid, a), describe: (a) => `fh=${a.fh} datasync=${a.fsyncFlags & 1}`,
  }),
  op<Q.SetxattrIn, void>({
    opcode: Opcode.FUSE_SETXATTR, name: 'SETXATTR', decode: Q.decodeSetxattr, method: 'setxattr',
    call: (fs, c, a) => fs.setxattr!(c, c.nodeid, a), describe: (a) => `${str(a.name)} size=${a.size} flags=${a.flags}`,
  }),
  op<Q.GetxattrIn, Buffer | number>({
    opcode: Opcode.FUSE_GETXATTR, name: 'GETXATTR', decode: Q.decodeGetxattr, method: 'getxattr',
    call: (fs, c, a) => fs.getxattr!(c, c.nodeid, a.name, a.size),
    encode: (buf, off, v, a) => encodeXattrReply(buf, off, v, a.size), describe: (a) => `${str(a.name)} size=${a.size}`,
  }),
  op<Q.ListxattrIn, Buffer | number>({
    opcode: Opcode.FUSE_LISTXATTR, name: 'LISTXATTR', decode: Q.decodeListxattr, method: 'listxattr',
    call: (fs, c, a) => fs.listxattr!(c, c.nodeid, a.size),
    encode: (buf, off, v, a) => encodeXattrReply(buf, off, v, a.size), describe: (a) => `size=${a.size}`,
  }),
  op<Q.NameIn, void>({
    opcode: Opcode.FUSE_REMOVEXATTR, name: 'REMOVEXATTR', decode: Q.decodeName, method: 'removexattr',
    call: (fs, c, a) => fs.removexattr!(c, c.nodeid, a.name), describe: (a) => str(a.name),
  }),
  op<Q.FlushIn, void>({
    opcode: Opcode.FUSE_FLUSH, name: 'FLUSH', decode: Q.decodeFlush, method: 'flush',
    call: (fs, c, a) => fs.flush!(c, c.nodeid, a), describe: (a) => `fh=${a.fh}`,
  }),
  op<Q.InitIn, void>({
    opcode: Opcode.FUSE_INIT, name: 'INIT', decode: Q.decodeInit, method: null,
    describe: (a) => `${a.major}.${a.minor} flags=0x${a.flags.toString(16)} max_readahead=${a.maxReadahead}`,
  }),
  op<Q.OpenIn, R.OpenReply>({
    opcode: Opcode.FUSE_OPENDIR, name: 'OPENDIR', decode: Q.decodeOpen, method: 'opendir',
    call: (fs, c, a) => fs.opendir!(c, c.nodeid, a), encode: R.encodeOpenOut, describe: (a) => `flags=${oct(a.flags)}`,
    describeReply: (b, off) => R.describeOpenOut(b, off),
  }),
  op<Q.ReadIn, number>({
    opcode: Opcode.FUSE_READDIR, name: 'READDIR', decode: Q.decodeRead, method: 'readdir',
    call: (fs, c, a, out) => {
      const d = new DirBuffer(out, HDR, HDR + a.size, false);
      return listed(fs.readdir!(c, c.nodeid, a, d), d);
    },
    encode: (_b, off, n) => off + n, describe: rwDesc,
    describeReply: (b, off, end) => `(${R.countDirents(b, off, end, false).entries} entries)`,
  }),
  op<Q.ReleaseIn, void>({
    opcode: Opcode.FUSE_RELEASEDIR, name: 'RELEASEDIR', decode: Q.decodeRelease, method: 'releasedir',
    call: (fs, c, a) => fs.releasedir!(c, c.nodeid, a), describe: (a) => `fh=${a.fh}`,
  }),
  op<Q.FsyncIn, void | FileSync>({
    opcode: Opcode.FUSE_FSYNCDIR, name: 'FSYNCDIR', decode: Q.decodeFsync, method: 'fsyncdir',
    call: (fs, c, a) => fs.fsyncdir!(c, c.nodeid, a), describe: (a) => `fh=${a.fh}`,
  }),
  op<Q.LkIn, LockReply>({
    opcode: Opcode.FUSE_GETLK, name: 'GETLK', decode: Q.decodeLk, method: 'getlk',
    call: (fs, c, a) => fs.getlk!(c, c.nodeid, a), encode: R.encodeLkOut,
    describe: (a) => `fh=${a.fh} owner=${a.owner} type=${a.lk.type} ${a.lk.start}-${a.lk.end}`,
  }),
  op<Q.LkIn, void>({
    opcode: Opcode.FUSE_SETLK, name: 'SETLK', decode: Q.decodeLk, method: 'setlk',
    call: (fs, c, a) => fs.setlk!(c, c.nodeid, a, false),
    describe: (a) => `fh=${a.fh} owner=${a.owner} type=${a.lk.type} ${a.lk.start}-${a.lk.end} flock=${a.lkFlags & 1}`,
  }),
  op<Q.LkIn, void>({
    opcode: Opcode.FUSE_SETLKW, name: 'SETLKW', decode: Q.decodeLk, method: 'setlk',
    call: (fs, c, a) => fs.setlk!(c, c.nodeid, a, true),
    describe: (a) => `fh=${a.fh} owner=${a.owner} type=${a.lk.type} ${a.lk.start}-${a.lk.end} flock=${a.lkFlags & 1}`,
  }),
  op<Q.AccessIn, void>({
    opcode: Opcode.FUSE_ACCESS, name: 'ACCESS', decode: Q.decodeAccess, method: 'access',
    call: (fs, c, a) => fs.access!(c, c.nodeid, a), describe: (a) => `mask=${oct(a.mask)}`,
  }),
  op<Q.CreateIn, CreateReply>({
    opcode: Opcode.FUSE_CREATE, name: 'CREATE', decode: Q.decodeCreate, method: 'create',
    call: (fs, c, a) => fs.create!(c, c.nodeid, a), encode: encodeCreate,
    describe: (a) => `${str(a.name)} flags=${oct(a.flags)} mode=${oct(a.mode)} umask=${oct(a.umask)}`,
    describeReply: (b, off) => R.describeOpenOut(b, off + SIZEOF.fuse_entry_out),
  }),
  op<Q.InterruptIn, void>({
    opcode: Opcode.FUSE_INTERRUPT, name: 'INTERRUPT', decode: Q.decodeInterrupt, method: null, noReply: true,
    describe: (a) => `unique=${a.unique}`,
  }),
  op<Q.BmapIn, bigint>({
    opcode: Opcode.FUSE_BMAP, name: 'BMAP', decode: Q.decodeBmap, method: 'bmap',
    call: (fs, c, a) => fs.bmap!(c, c.nodeid, a), encode: R.encodeU64, describe: (a) => `block=${a.block}`,
  }),
  op<Q.NoArgs, void>({ opcode: Opcode.FUSE_DESTROY, name: 'DESTROY', decode: Q.decodeNone, method: null }),
  op<Q.IoctlIn, IoctlReply>({
    opcode: Opcode.FUSE_IOCTL, name: 'IOCTL', decode: Q.decodeIoctl, method: 'ioctl',
    call: (fs, c, a) => fs.ioctl!(c, c.nodeid, a),
    encode: (buf, off, r, a) => {
      const end = R.encodeIoctlOut(buf, off, r.result);
      return r.data ? encodeData(buf, end, r.data, a.outSize) : end;
    },
    describe: (a) => `fh=${a.fh} cmd=${hex(a.cmd)} in=${a.inSize} out=${a.outSize}`,
  }),
  op<Q.PollIn, number>({
    opcode: Opcode.FUSE_POLL, name: 'POLL', decode: Q.decodePoll, method: 'poll',
    call: (fs, c, a) => fs.poll!(c, c.nodeid, a), encode: R.encodePollOut, describe: (a) => `fh=${a.fh} events=${hex(a.events)}`,
  }),
  op<Q.NotifyReplyIn, void>({
    opcode: Opcode.FUSE_NOTIFY_REPLY, name: 'NOTIFY_REPLY', decode: Q.decodeNotifyReply, method: null, noReply: true,
    describe: (a) => `off=${a.offset} size=${a.size}`,
  }),
  op<Q.BatchForgetIn, void | FileClose>({
    opcode: Opcode.FUSE_BATCH_FORGET, name: 'BATCH_FORGET', decode: Q.decodeBatchForget, method: 'batchForget', orMethod: 'forget', noReply: true,
    call: (fs, c, a) => {
      if (fs.batchForget) return fs.batchForget(c, a.forgets);
      let fds: number[] | undefined;
      for (const f of a.forgets) {
        const r = fs.forget!(c, f.nodeid, f.nlookup);
        if (r instanceof FileClose) (fds ??= []).push(...r.fds);
      }
      return fds && new FileClose(fds);
    },
    describe: (a) => `count=${a.forgets.length}`,
  }),
  op<Q.FallocateIn, void | FileAllocate>({
    opcode: Opcode.FUSE_FALLOCATE, name: 'FALLOCATE', decode: Q.decodeFallocate, method: 'fallocate',
    // A FileAllocate result never gets here: the session makes the call and answers it.
    call: (fs, c, a) => fs.fallocate!(c, c.nodeid, a), describe: (a) => `fh=${a.fh} off=${a.offset} len=${a.length} mode=${hex(a.mode)}`,
  }),
  op<Q.ReadIn, number>({
    opcode: Opcode.FUSE_READDIRPLUS, name: 'READDIRPLUS', decode: Q.decodeRead, method: 'readdirplus',
    call: (fs, c, a, out) => {
      const d = new DirBuffer(out, HDR, HDR + a.size, true);
      return listed(fs.readdirplus!(c, c.nodeid, a, d), d);
    },
    encode: (_b, off, n) => off + n, describe: rwDesc,
    describeReply: (b, off, end) => {
      const n = R.countDirents(b, off, end, true);
      return `(${n.entries} entries, ${n.withAttributes} with attributes)`;
    },
  }),
  op<Q.RenameIn, void>({
    opcode: Opcode.FUSE_RENAME2, name: 'RENAME2', decode: Q.decodeRename2, method: 'rename',
    call: (fs, c, a) => fs.rename!(c, c.nodeid, a),
    describe: (a) => `${str(a.oldname)} -> ${a.newdir}/${str(a.newname)} flags=${a.flags}`,
  }),
  op<Q.LseekIn, bigint>({
    opcode: Opcode.FUSE_LSEEK, name: 'LSEEK', decode: Q.decodeLseek, method: 'lseek',
    call: (fs, c, a) => fs.lseek!(c, c.nodeid, a), encode: R.encodeU64, describe: (a) => `fh=${a.fh} off=${a.offset} whence=${a.whence}`,
  }),
  op<Q.CopyFileRangeIn, number | bigint>({
    opcode: Opcode.FUSE_COPY_FILE_RANGE, name: 'COPY_FILE_RANGE', decode: Q.decodeCopyFileRange, method: 'copyFileRange',
    call: (fs, c, a) => fs.copyFileRange!(c, c.nodeid, a),
    // fuse_write_out carries a 32-bit count: the kernel splits larger copies.
    encode: (buf, off, n) => R.encodeWriteOut(buf, off, Math.min(Number(n), 0xffffffff)),
    describe: (a) => `fh_in=${a.fhIn} off_in=${a.offIn} -> ino=${a.nodeidOut} fh_out=${a.fhOut} off_out=${a.offOut} len=${a.len}`,
  }),
  op<Q.NoArgs, void>({ opcode: Opcode.FUSE_SETUPMAPPING, name: 'SETUPMAPPING', decode: Q.decodeNone, method: null }),
  op<Q.NoArgs, void>({ opcode: Opcode.FUSE_REMOVEMAPPING, name: 'REMOVEMAPPING', decode: Q.decodeNone, method: null }),
  op<Q.NoArgs, void>({
    opcode: Opcode.FUSE_SYNCFS, name: 'SYNCFS', decode: Q.decodeSyncfs, method: 'syncfs',
    call: (fs, c) => fs.syncfs!(c, c.nodeid),
  }),
  op<Q.CreateIn, CreateReply>({
    opcode: Opcode.FUSE_TMPFILE, name: 'TMPFILE', decode: Q.decodeCreate, method: 'tmpfile',
    call: (fs, c, a) => fs.tmpfile!(c, c.nodeid, a), encode: encodeCreate,
    describe: (a) => `flags=${oct(a.flags)} mode=${oct(a.mode)}`,
    describeReply: (b, off) => R.describeOpenOut(b, off + SIZEOF.fuse_entry_out),
  }),
  op<Q.StatxIn, R.StatxReply>({
    opcode: Opcode.FUSE_STATX, name: 'STATX', decode: Q.decodeStatx, method: 'statx',
    call: (fs, c, a) => fs.statx!(c, c.nodeid, a), encode: R.encodeStatxOut, describe: (a) => `mask=${hex(a.sxMask)}`,
  }),
  op<Q.CopyFileRangeIn, number | bigint>({
    opcode: Opcode.FUSE_COPY_FILE_RANGE_64, name: 'COPY_FILE_RANGE_64', decode: Q.decodeCopyFileRange, method: 'copyFileRange',
    call: (fs, c, a) => fs.copyFileRange!(c, c.nodeid, a), encode: (buf, off, n) => R.encodeU64(buf, off, BigInt(n)),
    describe: (a) => `fh_in=${a.fhIn} off_in=${a.offIn} -> ino=${a.nodeidOut} fh_out=${a.fhOut} off_out=${a.offOut} len=${a.len}`,
  }),
];

/** Opcode number → spec; holes are undefined. */
export const OPS: (OpSpec | undefined)[] = [];
for (const s of table) OPS[s.opcode] = s;

export function opName(opcode: number): string {
  return OPS[opcode]?.name ?? `OPCODE_${opcode}`;
}
