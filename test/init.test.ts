// INIT negotiation: ConnectionInfo built from recorded INIT requests of
// kernels of several protocol minors, what finish() grants, and the size of
// the encoded fuse_init_out for each.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgReader } from '../src/protocol/requests.js';
import type { InitIn } from '../src/protocol/requests.js';
import { encodeInitOut } from '../src/protocol/replies.js';
import { OPS } from '../src/protocol/opcodes.js';
import { InitFlag, Opcode } from '../src/protocol/kernel.js';
import type { InitFlagName } from '../src/protocol/kernel.js';
import { ConnectionInfo, DEFAULT_MAX_WRITE, PAGE_SIZE } from '../src/session/connection.js';
import { MemFs } from '../src/fs/memfs.js';

const bit = (n: number): bigint => 1n << BigInt(n);
/** Bits lo..hi inclusive. */
function bits(lo: number, hi: number): bigint {
  let v = 0n;
  for (let i = lo; i <= hi; i++) v |= bit(i);
  return v;
}
const u32 = (v: bigint): number => Number(v & 0xffffffffn);

/** A recorded INIT request: fuse_in_header, then fuse_init_in (16 bytes before 7.36, 64 from 7.36). */
function initRequest(minor: number, offered: bigint, maxReadahead = 131072): Buffer {
  const argLen = minor >= 36 ? 64 : 16;
  const b = Buffer.alloc(40 + argLen);
  b.writeUInt32LE(40 + argLen, 0); // len
  b.writeUInt32LE(Opcode.FUSE_INIT, 4); // opcode
  b.writeBigUInt64LE(2n, 8); // unique (the kernel's first request)
  b.writeBigUInt64LE(0n, 16); // nodeid
  b.writeUInt32LE(0, 24); // uid
  b.writeUInt32LE(0, 28); // gid
  b.writeUInt32LE(0, 32); // pid
  b.writeUInt16LE(0, 36); // total_extlen
  b.writeUInt16LE(0, 38); // padding
  b.writeUInt32LE(7, 40); // major
  b.writeUInt32LE(minor, 44); // minor
  b.writeUInt32LE(maxReadahead, 48); // max_readahead
  b.writeUInt32LE(u32(offered), 52); // flags
  if (argLen === 64) b.writeUInt32LE(u32(offered >> 32n), 56); // flags2; unused[11] stay zero
  else assert.equal(offered >> 32n, 0n, 'a kernel before 7.36 has no flags2');
  return b;
}

function decodeInit(buf: Buffer): InitIn {
  return OPS[Opcode.FUSE_INIT]!.decode(new ArgReader(buf, 40, buf.length), 0, 0n) as InitIn;
}

// What kernels of each minor plausibly offer.
/** Debian 11 (Linux 5.10, 7.31..7.32): bits 0..27, no INIT_EXT. */
const OFFER_31 = bits(0, 27);
/** Linux 5.17 (7.36): INIT_EXT and flags2 with SECURITY_CTX, HAS_INODE_DAX. */
const OFFER_36 = bits(0, 30) | InitFlag.SECURITY_CTX | InitFlag.HAS_INODE_DAX;
/** Linux 6.2 (7.38): + CREATE_SUPP_GROUP, HAS_EXPIRE_ONLY, DIRECT_IO_ALLOW_MMAP. */
const OFFER_38 = OFFER_36 | bits(34, 36);
/** Linux 6.9 (7.40): + PASSTHROUGH, NO_EXPORT_SUPPORT, HAS_RESEND, ALLOW_IDMAP. */
const OFFER_40 = OFFER_38 | bits(37, 40);
/** A 7.45 kernel: everything up to bit 42, except the reserved bit 31, DAX (no DAX device) and io_uring (not enabled). */
const OFFER_45 = bits(0, 42) & ~InitFlag.INIT_RESERVED & ~InitFlag.HAS_INODE_DAX & ~InitFlag.OVER_IO_URING;

const KERNELS: { minor: number; offered: bigint; argLen: number }[] = [
  { minor: 31, offered: OFFER_31, argLen: 16 },
  { minor: 36, offered: OFFER_36, argLen: 64 },
  { minor: 38, offered: OFFER_38, argLen: 64 },
  { minor: 40, offered: OFFER_40, argLen: 64 },
  { minor: 45, offered: OFFER_45, argLen: 64 },
];

/** What the session asks for on its own (connection.ts BASE_WANTS). */
const BASE: InitFlagName[] = [
  'ASYNC_READ', 'BIG_WRITES', 'MAX_PAGES', 'PARALLEL_DIROPS', 'ASYNC_DIO', 'HAS_IOCTL_DIR',
  'AUTO_INVAL_DATA', 'INIT_EXT', 'HAS_EXPIRE_ONLY',
];
const mask = (names: InitFlagName[]): bigint => names.reduce((m, n) => m | InitFlag[n], 0n);

describe('INIT negotiation', () => {
  for (const k of KERNELS) {
    test(`7.${k.minor}: offer decoded from the request, grants = wanted & offered`, () => {
      const req = initRequest(k.minor, k.offered);
      assert.equal(req.length, 40 + k.argLen);
      const init = decodeInit(req);
      assert.equal(init.major, 7);
      assert.equal(init.minor, k.minor);
      assert.equal(init.flags, k.offered);

      const conn = new ConnectionInfo(init);
      assert.equal(conn.kernelMajor, 7);
      assert.equal(conn.kernelMinor, k.minor);
      assert.equal(conn.minor, k.minor);
      assert.equal(conn.offered, k.offered);
      assert.equal(conn.want, mask(BASE));
      // What a filesystem typically asks for on top.
      conn.request('POSIX_LOCKS');
      conn.request('FLOCK_LOCKS');
      conn.request('EXPORT_SUPPORT');
      conn.request('CREATE_SUPP_GROUP');
      conn.request('DIRECT_IO_ALLOW_MMAP');
      conn.request('REQUEST_TIMEOUT');
      conn.request('OVER_IO_URING'); // never offered here
      conn.request('ASYNC_DIO', false); // refused after all
      const want = conn.want;
      assert.equal(want & InitFlag.ASYNC_DIO, 0n);

      const out = conn.finish();
      const expected = want & k.offered;
      assert.equal(conn.agreed, expected);
      assert.equal(out.flags, expected);
      assert.equal(out.flags & ~want, 0n, 'nothing granted that was not wanted');
      assert.equal(out.flags & ~k.offered, 0n, 'nothing granted that was not offered');
      assert.equal(out.flags & InitFlag.OVER_IO_URING, 0n);
      assert.equal(out.flags & InitFlag.ASYNC_DIO, 0n);
      assert.equal(conn.has('ASYNC_READ'), true);
      assert.equal(conn.has('INIT_EXT'), k.minor >= 36);
      assert.equal(conn.has('HAS_EXPIRE_ONLY'), k.minor >= 38);
      assert.equal(conn.has('REQUEST_TIMEOUT'), k.minor >= 45);
      assert.deepEqual(new Set(conn.agreedNames()), new Set((Object.keys(InitFlag) as InitFlagName[]).filter((n) => expected & InitFlag[n])));
      assert.equal(out.major, 7);
      assert.equal(out.minor, 45, 'we answer with our own minor');
      assert.equal(out.maxReadahead, 131072, 'max_readahead defaults to what the kernel offered');

      // The encoded reply: 64 bytes for every kernel from 7.23 on.
      const b = Buffer.alloc(80, 0xee);
      assert.equal(encodeInitOut(b, 0, out, k.minor), 64);
      assert.equal(b.readUInt32LE(12), u32(expected), 'flags');
      assert.equal(b.readUInt32LE(32), u32(expected >> 32n), 'flags2');
      if (k.minor < 36) assert.equal(b.readUInt32LE(32), 0, 'no flags2 without INIT_EXT');
      assert.equal(b.readUInt16LE(28), 256, 'max_pages');
      assert.equal(b.readUInt32LE(36), 0, 'max_stack_depth without passthrough');
      assert.deepEqual(b.subarray(64), Buffer.alloc(16, 0xee));
    });
  }

  test('7.31: flags2 wishes are dropped, the flags2 field stays 0', () => {
    const conn = new ConnectionInfo(decodeInit(initRequest(31, OFFER_31)));
    conn.request('PASSTHROUGH');
    conn.request('SECURITY_CTX');
    const out = conn.finish();
    assert.equal(out.flags >> 32n, 0n);
    assert.equal(conn.has('INIT_EXT'), false);
    assert.equal(conn.has('PASSTHROUGH'), false);
    assert.equal(out.maxStackDepth, 0);
  });

  test('flags2 bits offered without INIT_EXT are dropped', () => {
    // An offer as a confused or hand-made InitIn might carry it: high bits, but no INIT_EXT.
    const offered = bits(0, 29) | bits(32, 42);
    const conn = new ConnectionInfo({ major: 7, minor: 45, maxReadahead: 65536, flags: offered });
    conn.request('PASSTHROUGH');
    conn.request('ALLOW_IDMAP');
    const out = conn.finish();
    assert.equal(out.flags >> 32n, 0n);
    assert.equal(conn.has('HAS_EXPIRE_ONLY'), false);
    assert.equal(conn.has('PASSTHROUGH'), false);
    assert.equal(conn.has('ASYNC_READ'), true);
    assert.equal(out.maxStackDepth, 0);
  });

  test('a 7.36 request with flags2 set but INIT_EXT clear: flags2 is not read', () => {
    const req = initRequest(36, bits(0, 29));
    req.writeUInt32LE(0xffffffff, 56); // flags2: garbage
    const init = decodeInit(req);
    assert.equal(init.flags, bits(0, 29));
    const conn = new ConnectionInfo(init);
    assert.equal(conn.finish().flags >> 32n, 0n);
  });

  test('PASSTHROUGH: max_stack_depth 1 when agreed', () => {
    const conn = new ConnectionInfo(decodeInit(initRequest(45, OFFER_45)));
    conn.request('PASSTHROUGH');
    const out = conn.finish();
    assert.equal(conn.has('PASSTHROUGH'), true);
    assert.equal(out.maxStackDepth, 1);
    assert.equal(conn.maxStackDepth, 1);
    const b = Buffer.alloc(64);
    encodeInitOut(b, 0, out, 45);
    assert.equal(b.readUInt32LE(32) & (1 << 5), 1 << 5, 'PASSTHROUGH is bit 37 = flags2 bit 5');
    assert.equal(b.readUInt32LE(36), 1, 'max_stack_depth');
  });

  test('PASSTHROUGH: a valid max_stack_depth is kept, an invalid one becomes 1', () => {
    for (const [asked, got] of [[2, 2], [1, 1], [0, 1], [3, 1], [-1, 1]] as const) {
      const conn = new ConnectionInfo(decodeInit(initRequest(45, OFFER_45)));
      conn.request('PASSTHROUGH');
      conn.maxStackDepth = asked;
      assert.equal(conn.finish().maxStackDepth, got, `asked ${asked}`);
    }
  });

  test('PASSTHROUGH is dropped when WRITEBACK_CACHE is also agreed', () => {
    const conn = new ConnectionInfo(decodeInit(initRequest(45, OFFER_45)));
    conn.request('PASSTHROUGH');
    conn.request('WRITEBACK_CACHE');
    conn.maxStackDepth = 2;
    const out = conn.finish();
    assert.equal(conn.has('WRITEBACK_CACHE'), true);
    assert.equal(conn.has('PASSTHROUGH'), false);
    assert.equal(out.flags & InitFlag.PASSTHROUGH, 0n);
    assert.equal(out.maxStackDepth, 0);
    assert.equal(conn.maxStackDepth, 0);
  });

  test('PASSTHROUGH wanted but not offered (7.38): max_stack_depth 0', () => {
    const conn = new ConnectionInfo(decodeInit(initRequest(38, OFFER_38)));
    conn.request('PASSTHROUGH');
    conn.maxStackDepth = 1;
    const out = conn.finish();
    assert.equal(conn.has('PASSTHROUGH'), false);
    assert.equal(out.maxStackDepth, 0);
  });

  test('max_write is clamped to [4096, 1 MiB], max_pages = ceil(max_write / 4096)', () => {
    const cases: [number | undefined, number, number][] = [
      [undefined, DEFAULT_MAX_WRITE, 256],
      [1 << 20, 1 << 20, 256],
      [128 * 1024, 128 * 1024, 32],
      [5000, 5000, 2],
      [4097, 4097, 2],
      [4096, 4096, 1],
      [100, 4096, 1],
      [0, 4096, 1],
      [-1, 4096, 1],
      [16 << 20, 1 << 20, 256],
      [(1 << 20) + 1, 1 << 20, 256],
    ];
    for (const [asked, maxWrite, maxPages] of cases) {
      const conn = new ConnectionInfo(decodeInit(initRequest(45, OFFER_45)), asked === undefined ? {} : { maxWrite: asked });
      const out = conn.finish();
      assert.equal(out.maxWrite, maxWrite, `maxWrite ${asked}`);
      assert.equal(out.maxPages, maxPages, `maxPages for ${asked}`);
      assert.equal(out.maxPages, Math.ceil(out.maxWrite / PAGE_SIZE));
      const b = Buffer.alloc(64);
      encodeInitOut(b, 0, out, 45);
      assert.equal(b.readUInt32LE(20), maxWrite, 'max_write field');
      assert.equal(b.readUInt16LE(28), maxPages, 'max_pages field');
    }
  });

  test('max_pages is 0 without MAX_PAGES', () => {
    const refused = new ConnectionInfo(decodeInit(initRequest(45, OFFER_45)), { maxWrite: 512 * 1024 });
    refused.request('MAX_PAGES', false);
    assert.equal(refused.finish().maxPages, 0);
    const notOffered = new ConnectionInfo(decodeInit(initRequest(27, bits(0, 21))), { maxWrite: 512 * 1024 });
    const out = notOffered.finish();
    assert.equal(notOffered.has('MAX_PAGES'), false);
    assert.equal(out.maxPages, 0);
    assert.equal(out.maxWrite, 512 * 1024);
  });

  test('limits: max_readahead, max_background, congestion_threshold', () => {
    const conn = new ConnectionInfo(decodeInit(initRequest(45, OFFER_45, 1 << 20)), {
      maxReadahead: 65536, maxBackground: 100, congestionThreshold: 75,
    });
    const out = conn.finish();
    assert.equal(out.maxReadahead, 65536);
    assert.equal(out.maxBackground, 100);
    assert.equal(out.congestionThreshold, 75);
    const b = Buffer.alloc(64);
    encodeInitOut(b, 0, out, 45);
    assert.equal(b.readUInt32LE(8), 65536, 'max_readahead');
    assert.equal(b.readUInt16LE(16), 100, 'max_background');
    assert.equal(b.readUInt16LE(18), 75, 'congestion_threshold');
    assert.equal(b.readUInt32LE(24), 1, 'time_gran');
  });

  test('a newer kernel minor is spoken at ours', () => {
    const conn = new ConnectionInfo({ major: 7, minor: 99, maxReadahead: 0, flags: OFFER_45 });
    assert.equal(conn.kernelMinor, 99);
    assert.equal(conn.minor, 45);
  });

  test('encoded init_out length by kernel minor', () => {
    const conn = new ConnectionInfo(decodeInit(initRequest(45, OFFER_45)));
    const out = conn.finish();
    const sizes: [number, number][] = [[4, 8], [5, 24], [13, 24], [22, 24], [23, 64], [31, 64], [36, 64], [38, 64], [40, 64], [45, 64]];
    for (const [minor, size] of sizes) {
      const b = Buffer.alloc(80, 0xee);
      assert.equal(encodeInitOut(b, 0, out, minor), size, `7.${minor}`);
      assert.deepEqual(b.subarray(size), Buffer.alloc(80 - size, 0xee), `7.${minor}: nothing written past ${size}`);
      assert.equal(b.readUInt32LE(0), 7);
      assert.equal(b.readUInt32LE(4), 45);
    }
  });

  test("MemFs's wishes: ATOMIC_O_TRUNC asked, DONT_MASK refused", () => {
    const conn = new ConnectionInfo(decodeInit(initRequest(45, OFFER_45)));
    conn.request('DONT_MASK');
    new MemFs().init(conn);
    conn.finish();
    assert.equal(conn.has('ATOMIC_O_TRUNC'), true);
    assert.equal(conn.has('DONT_MASK'), false);
    assert.equal(conn.has('WRITEBACK_CACHE'), false);
  });
});
