// The calls a filesystem leaves to the session (src/session/file-calls.ts),
// with a stand-in ring: what no kernel here can show through a mount. A
// kernel before 6.9 has no io_uring ftruncate and completes it with EINVAL;
// the session must then truncate inline (and stop asking the ring once that
// worked), while a truncate that is EINVAL on the host too stays an EINVAL.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileCalls } from '../src/session/file-calls.js';
import { FileSync, FileTruncate } from '../src/session/filesystem.js';
import type { RingIo } from '../src/session/ring-io.js';
import type { InHeader } from '../src/protocol/requests.js';
import { OPS } from '../src/protocol/opcodes.js';
import { Opcode } from '../src/protocol/kernel.js';
import { isFdOpen, tmpdir } from './helpers.js';

const header = (unique: bigint, opcode: number): InHeader => ({ unique, opcode, nodeid: 2n, uid: 0, gid: 0, pid: 1, len: 0 } as unknown as InHeader);

/** FileCalls over `ring`, recording its answers as [unique, what]. */
function recorded(ring: Partial<RingIo> | undefined) {
  const answers: [bigint, string][] = [];
  const calls = new FileCalls(() => ring as RingIo | undefined, {
    replyError: (unique, errno) => answers.push([unique, `errno ${errno}`]),
    replyEmpty: (unique) => answers.push([unique, 'empty']),
    replyThrown: (h, _spec, e) => answers.push([h.unique, `thrown ${String(e)}`]),
    replyResult: (h, _spec, _args, result) => answers.push([h.unique, `result ${String(result)}`]),
    log: () => {},
  });
  return { calls, answers };
}

/** A stand-in ring that completes every truncate with EINVAL at once, as one before Linux 6.9 does; counts them. */
function ringWithoutFtruncate() {
  const ring = {
    asked: 0,
    truncate: (_unique: bigint, _fd: number, _size: bigint, done: (res: number) => void): boolean => {
      ring.asked++;
      done(-22);
      return true;
    },
  };
  return ring;
}

test('a ring without ftruncate (EINVAL, before Linux 6.9): the truncate is made inline and answered; later truncates no longer go to the ring', () => {
  const file = path.join(tmpdir(), 'data');
  fs.writeFileSync(file, Buffer.alloc(4096, 1));
  const fd = fs.openSync(file, 'r+');
  const ring = ringWithoutFtruncate();
  const { calls, answers } = recorded(ring);
  const setattr = OPS[Opcode.FUSE_SETATTR]!;
  try {
    calls.truncate(header(1n, Opcode.FUSE_SETATTR), setattr, {}, new FileTruncate(fd, 100n, () => 'attrs-1'), 0n);
    assert.equal(fs.fstatSync(fd).size, 100);
    calls.truncate(header(2n, Opcode.FUSE_SETATTR), setattr, {}, new FileTruncate(fd, 50n, () => 'attrs-2'), 0n);
    assert.equal(fs.fstatSync(fd).size, 50);
    assert.equal(ring.asked, 1, 'the ring was asked once');
    assert.deepEqual(answers, [[1n, 'result attrs-1'], [2n, 'result attrs-2']]);
  } finally {
    fs.closeSync(fd);
  }
});

test('a truncate that is EINVAL on the host too (a read-only fd): answered EINVAL, failed() runs, and the ring is still asked next time', () => {
  const file = path.join(tmpdir(), 'data');
  fs.writeFileSync(file, 'x');
  const ro = fs.openSync(file, 'r');
  let failed = 0;
  const ring = ringWithoutFtruncate();
  const { calls, answers } = recorded(ring);
  const setattr = OPS[Opcode.FUSE_SETATTR]!;
  try {
    calls.truncate(header(1n, Opcode.FUSE_SETATTR), setattr, {}, new FileTruncate(ro, 0n, () => 'never', () => failed++), 0n);
    calls.truncate(header(2n, Opcode.FUSE_SETATTR), setattr, {}, new FileTruncate(ro, 0n, () => 'never', () => failed++), 0n);
    assert.equal(ring.asked, 2);
    assert.equal(failed, 2);
    assert.deepEqual(answers, [[1n, 'errno 22'], [2n, 'errno 22']]);
    assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  } finally {
    fs.closeSync(ro);
  }
});

test('an fsync handed over with its fd (own) closes it once synced, with a ring or without one; an fd not handed over stays open', () => {
  const file = path.join(tmpdir(), 'data');
  fs.writeFileSync(file, 'x');
  const fsync = OPS[Opcode.FUSE_FSYNC]!;
  const onRing: ((res: number) => void)[] = [];
  const ring = {
    fsync: (_unique: bigint, _fd: number, _dataOnly: boolean, done: (res: number) => void): boolean => (onRing.push(done), true),
  };
  for (const r of [ring, undefined]) {
    const { calls, answers } = recorded(r);
    const own = fs.openSync(file, 'r');
    const kept = fs.openSync(file, 'r');
    try {
      calls.sync(header(1n, Opcode.FUSE_FSYNC), fsync, new FileSync(own, false, true), 0n);
      calls.sync(header(2n, Opcode.FUSE_FSYNC), fsync, new FileSync(kept, true), 0n);
      // The stand-in ring completes them now.
      for (const done of onRing.splice(0)) done(0);
      assert.deepEqual(answers, [[1n, 'empty'], [2n, 'empty']]);
      assert.deepEqual([isFdOpen(own), isFdOpen(kept)], [false, true], r ? 'ring' : 'inline');
    } finally {
      for (const fd of [own, kept]) if (isFdOpen(fd)) fs.closeSync(fd);
    }
  }
});
