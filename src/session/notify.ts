// Notifications from the filesystem to the kernel. They are queued and sent
// by the session after the current reply has gone out, never inline inside a
// handler: the kernel may hold a lock for the request being served (an
// inval_entry of the directory being looked up deadlocks if sent inline).

import { NotifyCode } from '../protocol/kernel.js';
import {
  encodeNotifyDelete, encodeNotifyInvalEntry, encodeNotifyInvalInode, encodeNotifyPoll,
  encodeNotifyRetrieve, encodeNotifyStore, encodeOutHeader,
} from '../protocol/replies.js';
import { FUSE_EXPIRE_ONLY } from '../protocol/kernel.js';
import { errnoName } from './errors.js';

/** Sends one whole message to the kernel; returns 0 or -errno. */
export type MessageWriter = (msg: Buffer) => number;

export class Notifier {
  private queue: Buffer[] = [];
  private nextRetrieve = 1n;
  private retrieves = new Map<bigint, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private flushScheduled = false;
  /** True while the session is inside a handler: sends wait for the reply. */
  dispatching = false;
  /** Errors from sends (for example ENOENT: the kernel had nothing cached). */
  onError: (code: NotifyCode, errno: number) => void = () => {};

  constructor(private readonly send: MessageWriter) {}

  private enqueue(code: NotifyCode, body: Buffer, bodyLen: number): void {
    const msg = Buffer.allocUnsafe(16 + bodyLen);
    encodeOutHeader(msg, 0, 16 + bodyLen, code, 0n);
    body.copy(msg, 16, 0, bodyLen);
    this.queue.push(msg);
    if (!this.dispatching && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Called by the session after each reply. */
  flush(): void {
    this.flushScheduled = false;
    while (this.queue.length > 0) {
      const msg = this.queue.shift()!;
      const r = this.send(msg);
      if (r >= 0) continue;
      const code = msg.readInt32LE(4) as NotifyCode;
      if (code === NotifyCode.FUSE_NOTIFY_RETRIEVE) {
        const id = msg.readBigUInt64LE(16);
        this.retrieves.get(id)?.reject(Object.assign(new Error(`retrieve: ${errnoName(-r)}`), { errno: -r }));
        this.retrieves.delete(id);
      }
      this.onError(code, -r);
    }
  }

  /** Drop cached attributes, and the data in [offset, offset+len) (len 0: all; offset -1: attributes only). */
  invalInode(ino: bigint, offset = 0n, len = 0n): void {
    const b = Buffer.allocUnsafe(24);
    this.enqueue(NotifyCode.FUSE_NOTIFY_INVAL_INODE, b, encodeNotifyInvalInode(b, 0, ino, offset, len));
  }

  /** Drop the cached name `name` in `parent` (expireOnly: only mark it stale). */
  invalEntry(parent: bigint, name: Buffer | string, expireOnly = false): void {
    const n = typeof name === 'string' ? Buffer.from(name) : name;
    const b = Buffer.allocUnsafe(17 + n.length);
    this.enqueue(NotifyCode.FUSE_NOTIFY_INVAL_ENTRY, b, encodeNotifyInvalEntry(b, 0, parent, n, expireOnly ? FUSE_EXPIRE_ONLY : 0));
  }

  /** Tell the kernel `name` in `parent` (inode `child`) is gone. */
  delete(parent: bigint, child: bigint, name: Buffer | string): void {
    const n = typeof name === 'string' ? Buffer.from(name) : name;
    const b = Buffer.allocUnsafe(25 + n.length);
    this.enqueue(NotifyCode.FUSE_NOTIFY_DELETE, b, encodeNotifyDelete(b, 0, parent, child, n));
  }

  /** Put data into the kernel's page cache of `ino`. */
  store(ino: bigint, offset: bigint, data: Buffer): void {
    const b = Buffer.allocUnsafe(24 + data.length);
    this.enqueue(NotifyCode.FUSE_NOTIFY_STORE, b, encodeNotifyStore(b, 0, ino, offset, data));
  }

  /** Wake a poller registered with this kernel handle. */
  pollWakeup(kh: bigint): void {
    const b = Buffer.allocUnsafe(8);
    this.enqueue(NotifyCode.FUSE_NOTIFY_POLL, b, encodeNotifyPoll(b, 0, kh));
  }

  /**
   * Ask the kernel for the cached data of `ino`; resolves with what it had
   * (possibly less than asked). Only works for a filesystem whose handlers
   * are asynchronous: the answer comes back as a request.
   */
  retrieve(ino: bigint, offset: bigint, size: number): Promise<Buffer> {
    const id = this.nextRetrieve++;
    const b = Buffer.allocUnsafe(32);
    const p = new Promise<Buffer>((resolve, reject) => this.retrieves.set(id, { resolve, reject }));
    this.enqueue(NotifyCode.FUSE_NOTIFY_RETRIEVE, b, encodeNotifyRetrieve(b, 0, id, ino, offset, size));
    return p;
  }

  /** A NOTIFY_REPLY request arrived: settle the matching retrieve. */
  retrieved(unique: bigint, data: Buffer): void {
    const w = this.retrieves.get(unique);
    if (!w) return;
    this.retrieves.delete(unique);
    w.resolve(Buffer.from(data));
  }

  /** Fail every outstanding retrieve (the session is ending). */
  close(): void {
    for (const w of this.retrieves.values()) w.reject(new Error(`session ended: ${errnoName(107)}`));
    this.retrieves.clear();
  }
}
