// Host calls a filesystem leaves to the session, that move no data: fsyncs
// (FileSync), truncates (FileTruncate), fallocates (FileAllocate) and closes
// (FileClose). Each can take long on the host (seconds for an fsync, tens of
// milliseconds to drop or free a big file's pages), and the session serves
// one request at a time: they go on the session's io_uring, where a kernel
// worker waits for them while the thread serves on, and are answered when
// they complete; without a ring (or with it full), inline. READs and WRITEs
// the filesystem leaves to the session (FileData, FileWrite) stay in
// session.ts, with the splicing and the overlap rule they need.

import * as sys from '../sys/index.js';
import type { InHeader } from '../protocol/requests.js';
import type { OpSpec } from '../protocol/opcodes.js';
import { Errno, FuseError } from './errors.js';
import { FileTruncate, isThenable } from './filesystem.js';
import type { FileAllocate, FileClose, FileSync } from './filesystem.js';
import type { RingIo } from './ring-io.js';

/** How the session answers; what FileCalls needs of it. */
export interface CallReplies {
  replyError(unique: bigint, errno: number, opcode: number, t0: bigint): void;
  replyEmpty(unique: bigint, t0: bigint, spec: OpSpec): void;
  /** A handler's throw (or returned FuseError): its errno, or EIO logged. */
  replyThrown(h: InHeader, spec: OpSpec, e: unknown, t0: bigint): void;
  /** A handler's result, encoded as the opcode's reply. */
  replyResult(h: InHeader, spec: OpSpec, args: unknown, result: unknown, t0: bigint): void;
  log(line: string): void;
}

export class FileCalls {
  /** Cleared once the ring's ftruncate proved missing (EINVAL from a kernel before 6.9). */
  private ringTruncate = true;

  constructor(
    /** The session's ring, if it has one now (made at INIT, gone at DESTROY). */
    private readonly ring: () => RingIo | undefined,
    private readonly out: CallReplies,
  ) {}

  /** The fds of a FileClose: through the ring, each closed in a kernel worker; else here. */
  close(c: FileClose): void {
    for (const fd of c.fds) {
      if (!Number.isInteger(fd) || fd < 0) {
        this.out.log(`bad FileClose from the filesystem (fd ${fd})`);
        continue;
      }
      if (!this.ring()?.closeFd(fd)) sys.close(fd);
    }
  }

  /**
   * A FileClose as a request's result (RELEASE): the fds closed, an empty
   * reply. From a request whose reply has a body, a bug of the filesystem's:
   * the fds are closed all the same, the request answered EIO.
   */
  closeAndReply(h: InHeader, spec: OpSpec, c: FileClose, t0: bigint): void {
    this.close(c);
    if (spec.encode) {
      this.out.log(`${spec.name}: bad result from the filesystem: FileClose`);
      this.out.replyError(h.unique, Errno.EIO, h.opcode, t0);
    } else {
      this.out.replyEmpty(h.unique, t0, spec);
    }
  }

  /** An fsync: on the ring whenever there is one (it may take seconds), else inline. */
  sync(h: InHeader, spec: OpSpec, f: FileSync, t0: bigint): void {
    if (!Number.isInteger(f.fd)) {
      this.out.log(`${spec.name}: bad FileSync from the filesystem (fd ${f.fd})`);
      this.out.replyError(h.unique, Errno.EIO, h.opcode, t0);
      return;
    }
    // An fd handed over (own) is closed once synced, before the reply.
    const end = (res: number): number => {
      if (f.own === true) sys.close(f.fd);
      return res;
    };
    this.emptyReplyCall(h, spec, t0, (done) => this.ring()?.fsync(h.unique, f.fd, f.dataOnly, (res) => done(end(res))), () => end(sys.syncFd(f.fd, f.dataOnly)));
  }

  /** A FALLOCATE: on the ring when there is one, else inline. */
  allocate(h: InHeader, spec: OpSpec, f: FileAllocate, t0: bigint): void {
    // (Offsets and lengths past 2^63, a forged request's, reach the host as negative ones: it answers EINVAL.)
    if (!Number.isInteger(f.fd) || !Number.isInteger(f.mode) || typeof f.offset !== 'bigint' || typeof f.length !== 'bigint' || f.offset < 0n || f.length < 0n) {
      this.out.log(`${spec.name}: bad FileAllocate from the filesystem (fd ${f.fd}, offset ${String(f.offset)}, length ${String(f.length)})`);
      this.out.replyError(h.unique, Errno.EIO, h.opcode, t0);
      return;
    }
    this.emptyReplyCall(h, spec, t0, (done) => this.ring()?.fallocate(h.unique, f.fd, f.mode, f.offset, f.length, done), () => sys.fallocate(f.fd, f.mode, f.offset, f.length));
  }

  /**
   * A call whose reply is empty (fsync, fallocate): `onRing(done)` queues it
   * (false or undefined when it cannot), else `inline()` makes it here;
   * either way the result (0 or -errno) is answered.
   */
  private emptyReplyCall(
    h: InHeader, spec: OpSpec, t0: bigint, onRing: (done: (res: number) => void) => boolean | undefined, inline: () => number,
  ): void {
    const done = (res: number): void => {
      if (res < 0) this.out.replyError(h.unique, -res, h.opcode, t0);
      else this.out.replyEmpty(h.unique, t0, spec);
    };
    if (!onRing(done)) done(inline());
  }

  /**
   * A SETATTR's or OPEN's truncate, on the ring when there is one (an
   * io_uring worker waits for it while the thread serves on), else inline;
   * then the reply its reply() gives, encoded as a handler's result would
   * be. A kernel without io_uring's ftruncate (before 6.9) completes it with
   * EINVAL: then it is made inline, which gives a genuine EINVAL again, and
   * the ring is not asked again once that succeeded.
   */
  truncate(h: InHeader, spec: OpSpec, args: unknown, t: FileTruncate<unknown>, t0: bigint): void {
    // What the handler made for the reply is undone when no reply of its comes to be sent.
    const fail = (errno: number, e?: unknown): void => {
      try {
        t.failed?.();
      } catch (f) {
        this.out.log(`${spec.name}: a FileTruncate's failed() threw: ${String((f as Error)?.stack ?? f)}`);
      }
      if (e === undefined) this.out.replyError(h.unique, errno, h.opcode, t0);
      else this.out.replyThrown(h, spec, e, t0);
    };
    if (!Number.isInteger(t.fd) || typeof t.size !== 'bigint' || t.size < 0n || typeof t.reply !== 'function') {
      this.out.log(`${spec.name}: bad FileTruncate from the filesystem (fd ${t.fd}, size ${String(t.size)})`);
      fail(Errno.EIO);
      return;
    }
    const finish = (res: number): void => {
      if (res < 0) return fail(-res);
      let r: unknown;
      try {
        r = t.reply();
      } catch (e) {
        return fail(0, e);
      }
      if (r instanceof FileTruncate || isThenable(r)) {
        this.out.log(`${spec.name}: a FileTruncate's reply() must give the reply itself`);
        fail(Errno.EIO);
      } else if (r instanceof FuseError) {
        fail(0, r);
      } else {
        this.out.replyResult(h, spec, args, r, t0);
      }
    };
    const onRing = this.ringTruncate && this.ring()?.truncate(h.unique, t.fd, t.size, (res) => {
      if (res !== -Errno.EINVAL) return finish(res);
      const r = sys.ftruncate(t.fd, t.size);
      if (r === 0) this.ringTruncate = false;
      finish(r);
    });
    if (!onRing) finish(sys.ftruncate(t.fd, t.size));
  }
}
