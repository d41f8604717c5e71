// The session: reads requests from a /dev/fuse fd, dispatches them through
// the opcode table to the filesystem, writes exactly one reply per request.
//
// The loop runs on a worker thread (see worker.ts) and is synchronous as long
// as every handler answers synchronously: a non-blocking read(2), the
// handler, one write(2), no event-loop or thread-pool hop per request. When
// no request is queued the thread polls again for a short spin (spinUs), then
// sleeps in poll(2). When a handler returns a pending Promise, the loop gives
// the event loop turns between reads, so that promise can settle while new
// requests are still served.

import * as sys from '../sys/index.js';
import { Opcode, SIZEOF } from '../protocol/kernel.js';
import { ArgReader, decodeInHeader, ProtocolError } from '../protocol/requests.js';
import type { InHeader, InitIn, InterruptIn, NotifyReplyIn, ReadIn } from '../protocol/requests.js';
import { encodeInitOut, encodeOutHeader, encodeWriteOut } from '../protocol/replies.js';
import { EncodeErrno, OPS, opName } from '../protocol/opcodes.js';
import type { OpSpec } from '../protocol/opcodes.js';
import { ConnectionInfo, DEFAULT_MAX_WRITE, REQUEST_HEADROOM } from './connection.js';
import { errnoFromThrown, errnoName, Errno, FuseError } from './errors.js';
import { FileAllocate, FileClose, FileData, FileSync, FileTruncate, FileWrite, isThenable } from './filesystem.js';
import type { Filesystem, RequestContext } from './filesystem.js';
import { SpliceReplier } from './splice.js';
import { FileCalls } from './file-calls.js';
import { DATA_AT, RING_SLOTS, RingIo, alignedReplyBuffer } from './ring-io.js';
import { Notifier } from './notify.js';
import { DeviceWatch } from './device-watch.js';
import { afterMs } from './real-timer.js';
import { IDLE_AFTER_MS, defaultSpinUs } from './session-options.js';
import type { SessionOptions } from './session-options.js';

export { DEFAULT_SPIN_US, IDLE_AFTER_MS, defaultSpinUs } from './session-options.js';
export type { SessionOptions } from './session-options.js';

const HDR = SIZEOF.fuse_out_header;
/** The largest errno the kernel takes in a reply (fuse_dev_do_write refuses -512 and below). */
const MAX_ERRNO = 511;
/** How long READs count as overlapping after they last did (ms; see overlapping()). */
const OVERLAP_MEMORY_MS = 1;
const POLLIN = 1;
/** With allow_root, operations on files already open stay allowed for anyone (as in libfuse). */
const OPEN_TO_ALL = new Set<number>([
  Opcode.FUSE_READ, Opcode.FUSE_WRITE, Opcode.FUSE_FSYNC, Opcode.FUSE_RELEASE, Opcode.FUSE_READDIR,
  Opcode.FUSE_READDIRPLUS, Opcode.FUSE_FSYNCDIR, Opcode.FUSE_RELEASEDIR, Opcode.FUSE_FORGET, Opcode.FUSE_BATCH_FORGET,
  Opcode.FUSE_FLUSH,
]);

class Ctx implements RequestContext {
  private controller: AbortController | undefined;
  constructor(readonly h: InHeader) {}
  get unique(): bigint { return this.h.unique; }
  get nodeid(): bigint { return this.h.nodeid; }
  get uid(): number { return this.h.uid; }
  get gid(): number { return this.h.gid; }
  get pid(): number { return this.h.pid; }
  get opcode(): number { return this.h.opcode; }
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }
  interrupt(): void {
    this.controller ??= new AbortController();
    this.controller.abort(Object.assign(new Error('interrupted'), { name: 'AbortError' }));
  }
}

/** How long a spin runs before it starts yielding the CPU at each look (ms). */
const YIELD_AFTER_MS = 0.01;
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const nap = (ms: number): Promise<void> => new Promise((r) => afterMs(ms, r));
/** The longest wait on the device watch with handlers pending (a request or a settling handler usually ends it first). */
const WAIT_BOUND_MS = 100;

export class Session {
  readonly notifier: Notifier;
  conn: ConnectionInfo | undefined;
  private readonly bufSize: number;
  private inbuf: Buffer;
  private outbuf: Buffer;
  /** The header of every reply that is a header alone (errors, empty replies). */
  private readonly errbuf = Buffer.alloc(HDR);
  private spare: Buffer[] = [];
  private readonly pending = new Map<bigint, Ctx>();
  /** By opcode: whether the filesystem serves it (hasMethod), once known. */
  private readonly serves: (boolean | undefined)[] = new Array<boolean | undefined>(OPS.length).fill(undefined);
  /** Only when the mount asks for spliced READ replies (spliceRead). */
  private readonly splicer: SpliceReplier | undefined;
  /** io_uring for the results that leave host calls to the session (the ring option); set up at INIT. */
  private rio: RingIo | undefined;
  /** FileSync, FileTruncate, FileAllocate and FileClose results, made on the ring or inline. */
  private readonly calls: FileCalls;
  /**
   * The request being served came after the thread found /dev/fuse empty
   * (no other request was waiting for it). A lone READ is served inline:
   * queuing it on the ring only adds system calls (measured: 7% fewer reads
   * per second for one O_DIRECT reader).
   */
  private waited = true;
  /** When READs last overlapped (performance.now()). */
  private overlapAt = -Infinity;
  /** An aligned buffer for O_DIRECT FileData and FileWrite served inline. */
  private scratch: Buffer | undefined;
  private minor = 0;
  private agreed = 0n;
  private ended = false;
  private yieldSoon = false;
  /** Set while the loop waits with handlers pending: ends the wait when one of them settles. */
  private wake: (() => void) | undefined;
  /** Wakes the loop for a request while it waits in its event loop (made when first needed). */
  private watch: DeviceWatch | undefined;
  /** The last wait with handlers pending did not end by one settling: the next waits for requests too. */
  private watchNext = false;
  /** idle() returned false since the last request: sleep without asking again. */
  private idleCalled = false;
  private destroyed = false;
  private readonly log: (line: string) => void;
  private readonly debug: boolean;

  constructor(readonly fd: number, readonly fs: Filesystem, private readonly opts: SessionOptions = {}) {
    const maxWrite = opts.maxWrite ?? DEFAULT_MAX_WRITE;
    this.bufSize = Math.max(maxWrite, 1 << 12) + REQUEST_HEADROOM;
    this.inbuf = Buffer.allocUnsafe(this.bufSize);
    this.outbuf = Buffer.allocUnsafe(this.bufSize);
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
    this.debug = opts.debug ?? false;
    this.splicer = opts.spliceRead ? new SpliceReplier() : undefined;
    this.notifier = new Notifier((msg) => sys.write(this.fd, msg, msg.length));
    this.notifier.onError = (code, errno) => {
      if (this.debug) this.log(`notify ${code} failed: ${errnoName(errno)}`);
    };
    this.calls = new FileCalls(() => this.rio, {
      replyError: (unique, errno, opcode, t0) => this.replyError(unique, errno, opcode, t0),
      replyEmpty: (unique, t0, spec) => this.replyEmpty(unique, t0, spec),
      replyThrown: (h, spec, e, t0) => this.replyThrown(h, spec, e, t0),
      // The reply buffer of the moment: a truncate's reply comes later than its request.
      replyResult: (h, spec, args, result, t0) => this.replyResult(h, spec, args, result, this.outbuf, t0),
      log: (line) => this.log(line),
    });
  }

  /** Serves until the filesystem is unmounted. */
  async run(): Promise<void> {
    const spinMs = (this.opts.spinUs ?? defaultSpinUs()) / 1000;
    // Non-blocking reads: EAGAIN when no request is queued. Then the thread
    // spins (polls again) for spinMs, and sleeps in poll(2); while
    // asynchronous handlers are pending it gives its event loop turns instead,
    // so their promises settle. Never through koffi's async calls: they run on
    // libuv's thread pool, which clients in this same process (fs.promises on
    // the mount) can fill with requests that wait for us: a deadlock.
    const fl = sys.fcntl(this.fd, sys.F_GETFL);
    const r = fl < 0 ? fl : sys.fcntl(this.fd, sys.F_SETFL, fl | sys.O_NONBLOCK);
    if (r < 0) throw new Error(`fcntl O_NONBLOCK on /dev/fuse: ${errnoName(-r)}`);
    let idleSince = -1;
    // A wait on the device watch (Atomics.waitAsync) holds no handle of the
    // event loop: were nothing else pending, Node would end this thread in
    // the middle of it, and the mount would go dead without a word. This
    // timer keeps the loop alive for as long as the session serves.
    const keepAlive = setInterval(() => {}, 0x7fffffff);
    try {
      while (!this.ended) {
        const n = sys.read(this.fd, this.inbuf, this.bufSize);
        if (n < 0) {
          const e = -n;
          if (e === Errno.EAGAIN) {
            this.waited = true;
            const rio = this.rio;
            if (rio !== undefined && rio.busy > 0) {
              // A reply just sent is activity (its client's next request comes soon): spin again after it.
              if (rio.reap()) {
                idleSince = -1;
                continue;
              }
              if (this.pending.size === 0) {
                // Reads on the disk, nothing queued: sleep until one completes or
                // a request comes, as a blocking pread would (spinning through a
                // disk access costs a CPU for nothing, measured).
                sys.poll([this.fd, rio.fd], POLLIN, -1);
                continue;
              }
            }
            const now = performance.now();
            if (idleSince < 0) idleSince = now;
            const idle = now - idleSince;
            if (this.pending.size > 0) {
              // Event-loop turns while spinning, then a wait in the event loop
              // until a request comes or a pending handler settles (its reply
              // is out, and its client's next request comes soon: spin again).
              if (idle < spinMs) await nextTurn();
              else if (await this.waitPending()) idleSince = -1;
            } else if (idle < spinMs) {
              // Spinning. Past the first few microseconds, in which a client on
              // another CPU usually sends its next request, yield: when the
              // scheduler put the client on this thread's CPU, it runs now
              // instead of waiting for the spin to end.
              if (idle >= YIELD_AFTER_MS) sys.schedYield();
            } else {
              if (!this.idleCalled && (this.fs.idle !== undefined || (this.rio !== undefined && this.rio.heldBytes > 0))) {
                // Sleep until a request comes or the session has been quiet
                // IDLE_AFTER_MS; only then may the filesystem have its turn,
                // and the ring's buffers go.
                if (idle < IDLE_AFTER_MS) {
                  sys.poll([this.fd], POLLIN, Math.ceil(IDLE_AFTER_MS - idle));
                  continue;
                }
                this.trimRing();
                // It may want the event loop a while (its memory being given
                // back): 1 ms naps between looks, as for pending work.
                if (this.callIdle()) {
                  await nap(1);
                  continue;
                }
                this.idleCalled = true;
              }
              sys.poll([this.fd], POLLIN, -1);
              idleSince = -1;
            }
            continue;
          }
          // ENOENT: the request was interrupted before we read it.
          if (e === Errno.EINTR || e === Errno.ENOENT) continue;
          if (e === Errno.ENODEV || e === 103 /* ECONNABORTED */) break;
          throw new Error(`read /dev/fuse: ${errnoName(e)}`);
        }
        idleSince = -1;
        this.idleCalled = false;
        this.dispatch(this.inbuf, n);
        this.waited = false;
        if (this.rio !== undefined && this.rio.busy > 0) this.rio.reap();
        if (this.yieldSoon) {
          // A promise was settled outside a handler (a retrieve answered):
          // let its continuations run before blocking in read again.
          this.yieldSoon = false;
          await new Promise((r) => setImmediate(r));
        }
      }
    } finally {
      clearInterval(keepAlive);
      this.ended = true;
      this.watch?.close();
      this.notifier.close();
      await this.callDestroy();
    }
  }

  /** Quiet for IDLE_AFTER_MS: the ring's buffers go (regrown in 64 KiB steps when needed). */
  private trimRing(): void {
    const rio = this.rio;
    if (rio === undefined || rio.busy > 0) return;
    const n = rio.trim();
    if (this.debug && n > 0) this.log(`idle: ${Math.round(n / 1024)} KiB of ring buffers let go`);
  }

  private callIdle(): boolean {
    if (this.fs.idle === undefined) return false;
    try {
      return this.fs.idle() === true;
    } catch (e) {
      this.log(`idle failed: ${String((e as Error)?.stack ?? e)}`);
      return false;
    }
  }

  /** Stop serving after the current request (the mount stays until unmounted). */
  stop(): void {
    this.ended = true;
  }

  private async callDestroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.splicer?.close();
    // In-flight ring requests write into our buffers: wait for them first.
    this.rio?.close();
    this.rio = undefined;
    try {
      await this.fs.destroy?.();
    } catch (e) {
      this.log(`destroy failed: ${String((e as Error)?.stack ?? e)}`);
    }
  }

  /**
   * Waits, at most `limitMs`, for the requests on the ring (fsyncs, reads)
   * and sends their replies; true if none is left. For tests that feed
   * bytes to dispatch(), which has no loop to reap them.
   */
  drainRing(limitMs = 10_000): boolean {
    return this.rio === undefined || this.rio.drain(limitMs);
  }

  /**
   * Whether the filesystem has the method that serves `spec`. Asked once per
   * opcode (serves[]): a lookup by a variable name on every request was a
   * megamorphic property load.
   */
  private hasMethod(spec: OpSpec): boolean {
    const fs = this.fs as unknown as Record<string, unknown>;
    const method = fs[spec.method!] ?? (spec.orMethod !== undefined ? fs[spec.orMethod] : undefined);
    return typeof method === 'function' && spec.call !== undefined;
  }

  /** Handles one request in `buf[0, n)`. Public for tests that feed bytes. */
  dispatch(buf: Buffer, n: number): void {
    let h: InHeader;
    try {
      h = decodeInHeader(buf, n);
    } catch (e) {
      this.log(`malformed request (${n} bytes): ${(e as Error).message}`);
      if (n >= 16) this.replyError(buf.readBigUInt64LE(8), Errno.EIO, buf.readUInt32LE(4));
      return;
    }
    const spec = OPS[h.opcode];
    if (spec === undefined) {
      if (this.debug) this.log(`${h.unique} unknown opcode ${h.opcode}: ENOSYS`);
      this.replyError(h.unique, Errno.ENOSYS, h.opcode);
      return;
    }
    let args: unknown;
    try {
      // Extensions (security context, supplementary groups) follow the arguments.
      const end = n - h.totalExtlen * 8;
      if (end < 40) throw new ProtocolError(`extension length ${h.totalExtlen * 8} exceeds the request`);
      args = spec.decode(new ArgReader(buf, 40, end), this.minor, this.agreed);
    } catch (e) {
      this.log(`malformed ${spec.name} request ${h.unique}: ${(e as Error).message}`);
      if (!spec.noReply) this.replyError(h.unique, Errno.EINVAL, h.opcode);
      return;
    }
    const t0 = this.debug ? process.hrtime.bigint() : 0n;
    if (this.debug) {
      const desc = spec.describe ? spec.describe(args as never) : '';
      this.log(`${h.unique} > ${spec.name} ino=${h.nodeid}${desc ? ' ' + desc : ''} uid=${h.uid} gid=${h.gid} pid=${h.pid}`);
    }

    if (spec.method === null) {
      this.sessionOp(h, spec, args, t0);
      return;
    }
    if (this.conn === undefined) {
      this.replyError(h.unique, Errno.EIO, h.opcode);
      return;
    }
    const owner = this.opts.denyOthersThan;
    if (owner !== undefined && h.uid !== owner && h.uid !== 0 && !OPEN_TO_ALL.has(h.opcode)) {
      if (!spec.noReply) this.replyError(h.unique, Errno.EACCES, h.opcode, t0);
      return;
    }
    if (!(this.serves[h.opcode] ??= this.hasMethod(spec))) {
      if (!spec.noReply) this.replyError(h.unique, Errno.ENOSYS, h.opcode, t0);
      return;
    }
    const ctx = new Ctx(h);
    let result: unknown;
    this.notifier.dispatching = true;
    try {
      result = spec.call!(this.fs, ctx, args, this.outbuf);
    } catch (e) {
      this.notifier.dispatching = false;
      if (!spec.noReply) this.replyThrown(h, spec, e, t0);
      else this.log(`${spec.name} failed: ${String((e as Error)?.stack ?? e)}`);
      this.notifier.flush();
      return;
    }
    this.notifier.dispatching = false;
    if (result instanceof FuseError) {
      // Failed without throwing (a routine ENOENT or ENODATA): no unwinding.
      if (!spec.noReply) this.replyThrown(h, spec, result, t0);
    } else if (isThenable(result)) {
      this.goAsync(h, spec, args, ctx, result, t0);
    } else if (!spec.noReply) {
      this.replyResult(h, spec, args, result, this.outbuf, t0);
    } else if (result instanceof FileClose) {
      this.calls.close(result);
    }
    this.notifier.flush();
  }

  /**
   * Waits, with handlers pending, until one of them settles (resolving true)
   * or a request comes. Handlers that settle within a millisecond (the usual
   * case) are waited for with a 1 ms nap; once a nap ran out, or a request
   * ended the last wait, the device watch is used too (a thread polling
   * /dev/fuse for us), so that a handler pending for long neither delays new
   * requests nor wakes the loop a thousand times a second; its wait ends
   * after WAIT_BOUND_MS at most (or at once if its thread fails).
   */
  private waitPending(): Promise<boolean> {
    let request: Promise<unknown> | undefined;
    if (this.watchNext) {
      const watch = (this.watch ??= new DeviceWatch(this.fd));
      watch.start();
      if (watch.ready) request = watch.readable(WAIT_BOUND_MS);
    }
    return new Promise((resolve) => {
      const finish = (settled: boolean): void => {
        if (this.wake !== wake) return;
        cancel?.();
        this.wake = undefined;
        this.watchNext = !settled;
        if (settled && request !== undefined) this.watch!.disarm();
        resolve(settled);
      };
      const wake = (): void => finish(true);
      this.wake = wake;
      // One timer or the watch's wait (itself bounded), not both.
      const cancel = request === undefined ? afterMs(1, () => finish(false)) : undefined;
      request?.then(() => finish(false));
    });
  }

  /** The handler went asynchronous: it keeps the current buffers, we take fresh ones. */
  private goAsync(h: InHeader, spec: OpSpec, args: unknown, ctx: Ctx, p: PromiseLike<unknown>, t0: bigint): void {
    const inbuf = this.inbuf;
    const outbuf = this.outbuf;
    this.inbuf = this.spare.pop() ?? Buffer.allocUnsafe(this.bufSize);
    this.outbuf = this.spare.pop() ?? Buffer.allocUnsafe(this.bufSize);
    this.pending.set(h.unique, ctx);
    const done = (): void => {
      this.pending.delete(h.unique);
      if (this.spare.length < 8) this.spare.push(inbuf, outbuf);
      this.notifier.flush();
      this.wake?.();
    };
    p.then(
      (r) => {
        if (!spec.noReply) {
          if (r instanceof FuseError) this.replyThrown(h, spec, r, t0);
          else this.replyResult(h, spec, args, r, outbuf, t0);
        } else if (r instanceof FileClose) {
          this.calls.close(r);
        }
        done();
      },
      (e) => {
        if (!spec.noReply) this.replyThrown(h, spec, e, t0);
        else this.log(`${spec.name} failed: ${String((e as Error)?.stack ?? e)}`);
        done();
      },
    );
  }

  private sessionOp(h: InHeader, spec: OpSpec, args: unknown, t0: bigint): void {
    switch (h.opcode) {
      case Opcode.FUSE_INIT:
        this.init(h, args as InitIn, t0);
        return;
      case Opcode.FUSE_INTERRUPT: {
        // No reply. An interrupt for a request already answered is dropped.
        const unique = (args as InterruptIn).unique;
        const target = this.pending.get(unique);
        if (target) target.interrupt();
        else this.rio?.interrupt(unique);
        return;
      }
      case Opcode.FUSE_NOTIFY_REPLY: {
        const a = args as NotifyReplyIn;
        this.notifier.retrieved(h.unique, a.data);
        this.yieldSoon = true;
        return;
      }
      case Opcode.FUSE_DESTROY:
        this.ended = true;
        void this.callDestroy().finally(() => this.replyEmpty(h.unique, t0, spec));
        return;
      default:
        this.replyError(h.unique, Errno.ENOSYS, h.opcode, t0);
    }
  }

  private init(h: InHeader, a: InitIn, t0: bigint): void {
    // The kernel sends INIT once. Another would set the connection up again
    // over the first (a second ring, the filesystem's init() twice): refused,
    // as libfuse refuses it.
    if (this.conn !== undefined) {
      this.log('INIT after the session was set up: refused (EIO)');
      this.replyError(h.unique, Errno.EIO, h.opcode, t0);
      return;
    }
    if (a.major !== 7) {
      // A newer major: answer with ours and the kernel retries; an older one is unusable.
      if (a.major > 7) {
        const body = this.outbuf;
        body.writeUInt32LE(7, HDR);
        body.writeUInt32LE(45, HDR + 4);
        this.send(h.unique, 0, HDR + 8, body, t0, 'INIT');
      } else {
        this.log(`kernel FUSE protocol ${a.major}.${a.minor} is too old`);
        this.replyError(h.unique, 71 /* EPROTO */, h.opcode, t0);
      }
      return;
    }
    const conn = new ConnectionInfo(a, this.opts);
    conn.devFd = this.fd;
    conn.othersMayAccess = this.opts.othersMayAccess ?? true;
    conn.spliceRead = this.splicer !== undefined;
    if (this.fs.readdirplus) {
      conn.request('DO_READDIRPLUS');
      conn.request('READDIRPLUS_AUTO');
    }
    const finish = (): void => {
      const out = conn.finish();
      this.conn = conn;
      this.minor = conn.minor;
      this.agreed = conn.agreed;
      if (this.fs.read) this.splicer?.prepare();
      if (this.fs.read && this.opts.ring !== false) this.startRing();
      const end = encodeInitOut(this.outbuf, HDR, out, a.minor);
      this.send(h.unique, 0, end, this.outbuf, t0, 'INIT');
      if (this.debug) this.log(`INIT agreed ${conn.minor}: ${conn.agreedNames().join(' ')} max_write=${out.maxWrite}`);
      this.opts.onInit?.(conn);
    };
    try {
      const r = this.fs.init?.(conn, this.notifier);
      if (isThenable(r)) {
        r.then(finish, (e) => this.replyThrown(h, OPS[Opcode.FUSE_INIT]!, e, t0));
        return;
      }
    } catch (e) {
      this.replyThrown(h, OPS[Opcode.FUSE_INIT]!, e, t0);
      return;
    }
    finish();
  }

  private replyResult(h: InHeader, spec: OpSpec, args: unknown, result: unknown, out: Buffer, t0: bigint): void {
    if (result instanceof FileData) {
      try {
        this.replyFileData(h, result, Math.min(result.length, (args as ReadIn).size, out.length - HDR), out, t0);
      } catch (e) {
        // A bug of ours, not the filesystem's: logged, and the request still gets its one reply.
        this.log(`READ ${h.unique}: sending FileData failed: ${String((e as Error)?.stack ?? e)}`);
        this.replyError(h.unique, Errno.EIO, h.opcode, t0);
      }
      return;
    }
    if (result instanceof FileWrite) {
      try {
        this.replyFileWrite(h, result, out, t0);
      } catch (e) {
        this.log(`WRITE ${h.unique}: FileWrite failed: ${String((e as Error)?.stack ?? e)}`);
        this.replyError(h.unique, Errno.EIO, h.opcode, t0);
      }
      return;
    }
    // Calls left to the session that move no data (file-calls.ts).
    if (result instanceof FileSync) return this.calls.sync(h, spec, result, t0);
    if (result instanceof FileTruncate) return this.calls.truncate(h, spec, args, result, t0);
    if (result instanceof FileAllocate) return this.calls.allocate(h, spec, result, t0);
    if (result instanceof FileClose) return this.calls.closeAndReply(h, spec, result, t0);
    let end: number = HDR;
    if (spec.encode) {
      try {
        end = spec.encode(out, HDR, result as never, args as never);
      } catch (e) {
        if (e instanceof EncodeErrno) {
          this.replyError(h.unique, e.errno, h.opcode, t0);
        } else {
          this.log(`${spec.name}: bad result from the filesystem: ${String((e as Error)?.stack ?? e)}`);
          this.replyError(h.unique, Errno.EIO, h.opcode, t0);
        }
        return;
      }
    }
    const how = this.debug && spec.describeReply ? ` ${spec.describeReply(out, HDR, end)}` : '';
    this.sendAt(h.unique, 0, out, 0, end, t0, spec.name, how);
  }

  /** A READ answered with `len` bytes of a file: spliced when large, else read into the reply buffer. */
  private replyFileData(h: InHeader, d: FileData, len: number, out: Buffer, t0: bigint): void {
    if (!Number.isInteger(len) || len < 0 || !Number.isInteger(d.fd) || typeof d.offset !== 'bigint') {
      this.log(`READ: bad FileData from the filesystem (fd ${d.fd}, offset ${String(d.offset)}, length ${d.length})`);
      this.replyError(h.unique, Errno.EIO, h.opcode, t0);
      return;
    }
    // Asked for (splice_read): splicing comes first for large replies.
    if (!d.direct && this.splicer?.wants(len)) {
      const r = this.splicer.send(this.fd, h.unique, d.fd, d.offset, len);
      if (r.ok) {
        if (this.debug) this.log(`${h.unique} < READ OK ${r.n} bytes (spliced) ${(Number(process.hrtime.bigint() - t0) / 1000).toFixed(1)}us`);
        return;
      }
      // ENOENT: the kernel gave up on the request (interrupted); nothing more to send.
      if (r.errno === Errno.ENOENT) return;
      if (this.debug) this.log(`${h.unique} READ splice failed (${errnoName(r.errno)}): reading instead`);
    }
    const rio = this.rio;
    if (rio !== undefined && this.overlapping(rio)) {
      // Data in the host's page cache is cheapest read at once (the ring
      // would add system calls); only what would wait goes on the ring.
      if (!d.direct) {
        const n = sys.preadFlags(d.fd, out, len, d.offset, sys.RWF_NOWAIT, HDR);
        if (n === len) {
          this.send(h.unique, 0, HDR + n, out, t0, 'READ');
          return;
        }
      }
      if (rio.read(h.unique, d.fd, d.offset, len)) return;
    }
    if (d.direct) {
      // O_DIRECT needs block-aligned memory: read into the scratch buffer, send header and data.
      const buf = this.alignedScratch(len);
      const n = sys.pread(d.fd, buf, len, d.offset, DATA_AT);
      if (n < 0) this.replyError(h.unique, -n, h.opcode, t0);
      else this.sendAt(h.unique, 0, buf, DATA_AT - HDR, HDR + n, t0, 'READ');
      return;
    }
    const n = sys.pread(d.fd, out, len, d.offset, HDR);
    if (n < 0) this.replyError(h.unique, -n, h.opcode, t0);
    else this.send(h.unique, 0, HDR + n, out, t0, 'READ');
  }

  /** A WRITE whose data the filesystem left to us: on the ring when O_DIRECT writes overlap, else pwrite. */
  private replyFileWrite(h: InHeader, w: FileWrite, out: Buffer, t0: bigint): void {
    if (!Number.isInteger(w.fd) || typeof w.offset !== 'bigint' || !Buffer.isBuffer(w.data)) {
      this.log(`WRITE: bad FileWrite from the filesystem (fd ${w.fd}, offset ${String(w.offset)})`);
      this.replyError(h.unique, Errno.EIO, h.opcode, t0);
      return;
    }
    const rio = this.rio;
    if (w.direct && rio !== undefined && this.overlapping(rio) && rio.write(h.unique, w.fd, w.offset, w.data)) return;
    let n: number;
    if (w.direct) {
      // O_DIRECT needs block-aligned memory.
      const buf = this.alignedScratch(w.data.length);
      w.data.copy(buf, DATA_AT);
      n = sys.pwrite(w.fd, buf, w.data.length, w.offset, DATA_AT);
    } else {
      n = sys.pwrite(w.fd, w.data, w.data.length, w.offset);
    }
    if (n < 0) this.replyError(h.unique, -n, h.opcode, t0);
    else this.send(h.unique, 0, encodeWriteOut(out, HDR, n), out, t0, 'WRITE');
  }

  /**
   * Whether requests overlap, so that this one goes on the ring: one is on the
   * disk already (or was, less than OVERLAP_MEMORY_MS ago: a pipeline of
   * parallel readers runs dry now and then), or other requests were queued
   * behind this one. A lone reader's READs stay plain preads. (Only a read
   * in flight is remembered: a lone reader's next request sometimes beats
   * the thread back to /dev/fuse, and remembering that sent a millisecond
   * of its reads to the ring: 7% fewer reads per second, measured.)
   */
  private overlapping(rio: RingIo): boolean {
    if (this.opts.ring === 'always') return true;
    const now = performance.now();
    if (rio.busy > 0) {
      this.overlapAt = now;
      return true;
    }
    return !this.waited || now - this.overlapAt < OVERLAP_MEMORY_MS;
  }

  /** The buffer of O_DIRECT reads and writes served inline (alignedReplyBuffer's layout), kept and grown. */
  private alignedScratch(len: number): Buffer {
    if (this.scratch === undefined || this.scratch.length < DATA_AT + len) this.scratch = alignedReplyBuffer(Math.max(len, 1 << 20));
    return this.scratch;
  }

  /** Sets up the io_uring for READs and O_DIRECT WRITEs; without it (refused, or the ring option off) they are served inline. */
  private startRing(): void {
    const ring = sys.Uring.create(RING_SLOTS * 2);
    if (typeof ring === 'number') {
      if (this.debug) this.log(`io_uring not available (${errnoName(-ring)}): data requests served inline`);
      return;
    }
    this.rio = new RingIo(ring, {
      send: (unique, error, buf, off, len, what) => this.sendAt(unique, error, buf, off, len, 0n, what, ' (ring)'),
    });
  }

  private replyThrown(h: InHeader, spec: OpSpec, e: unknown, t0: bigint): void {
    let errno = errnoFromThrown(e);
    if (errno === undefined) {
      this.log(`${spec.name} ino=${h.nodeid}: handler threw without an errno, replying EIO: ${String((e as Error)?.stack ?? e)}`);
      errno = Errno.EIO;
    }
    this.replyError(h.unique, errno, h.opcode, t0);
  }

  private replyEmpty(unique: bigint, t0: bigint, spec: OpSpec): void {
    // A header alone: the error replies' buffer serves (send writes it out before returning).
    this.send(unique, 0, HDR, this.errbuf, t0, spec.name);
  }

  replyError(unique: bigint, errno: number, opcode: number, t0 = 0n): void {
    // The kernel refuses a reply whose errno is outside 1-511 (EINVAL to our
    // write), and the caller then waits for ever: a filesystem's such errno is EIO.
    if (!(errno >= 1 && errno <= MAX_ERRNO)) {
      this.log(`${opName(opcode)} ${unique}: errno ${errno} is not one the kernel takes in a reply (1-${MAX_ERRNO}); replying EIO`);
      errno = Errno.EIO;
    }
    // Its own buffer (the reply buffer may belong to a pending handler), sent
    // before this returns: one serves every header-only reply.
    this.send(unique, -errno, HDR, this.errbuf, t0, opName(opcode));
  }

  private send(unique: bigint, error: number, len: number, buf: Buffer, t0: bigint, what: string): void {
    this.sendAt(unique, error, buf, 0, len, t0, what);
  }

  /** Sends the reply in buf[off, off+len), its header written at `off`; `how` ends its debug line. */
  private sendAt(unique: bigint, error: number, buf: Buffer, off: number, len: number, t0: bigint, what: string, how = ''): void {
    encodeOutHeader(buf, off, len, error, unique);
    let r: number;
    try {
      r = sys.write(this.fd, buf, len, off);
    } catch (e) {
      // Only a reply longer than its buffer can throw here: a bug, logged, never fatal.
      this.log(`reply to ${what} ${unique} not sent: ${String(e)}`);
      return;
    }
    if (this.debug) {
      const us = t0 ? Number(process.hrtime.bigint() - t0) / 1000 : 0;
      this.log(`${unique} < ${what} ${error ? errnoName(-error) : 'OK'} ${len - HDR} bytes${how}${t0 ? ` ${us.toFixed(1)}us` : ''}`);
    }
    // ENOENT: the kernel gave up on this request (interrupted); nothing to do.
    if (r < 0 && -r !== Errno.ENOENT && !this.ended) this.log(`reply to ${what} ${unique} failed: ${errnoName(-r)}`);
  }
}
