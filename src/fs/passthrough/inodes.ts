// The inode table: which host file each FUSE node id stands for, how many
// lookups the kernel holds on it, and how to reach it.
//
// A host file is identified by (device, inode) from statx. Each inode keeps an
// O_PATH fd while it can; when there are more live inodes than fds allowed,
// the oldest fds are closed and reopened on demand from a kernel file handle
// (name_to_handle_at / open_by_handle_at, which needs CAP_DAC_READ_SEARCH).
// Without file handles every inode keeps its fd.

import * as sys from '../../sys/index.js';
import { FuseError } from '../../session/errors.js';

export interface Inode {
  nodeid: bigint;
  generation: bigint;
  /** (device, mount, inode, birth time): unique for the life of the host filesystem. */
  key: string;
  hostIno: bigint;
  /** (device, mount) */
  devKey: string;
  /** S_IFMT bits of the file's mode. */
  type: number;
  /** O_PATH fd, or -1 when evicted (then `handle` reopens it). */
  fd: number;
  handle: sys.FileHandle | null;
  mountFd: number;
  /** Lookups the kernel holds. Root is never forgotten. */
  refs: bigint;
}

const VIRTUAL_FLAG = 1n << 55n;
const HOST_INO_MASK = (1n << 47n) - 1n;
const MAX_DEVICES = 254;

export class InodeTable {
  private readonly byId = new Map<bigint, Inode>();
  private readonly byKey = new Map<string, Inode>();
  /** (device, mount, inode) → inode, for readdir, which knows no birth time. */
  private readonly byHost = new Map<string, Inode>();
  private nextId = 2n;
  private nextVirtual = 1n;
  private generation = 0n;
  private readonly devIds = new Map<string, bigint>();
  /** Inodes holding an fd, oldest first, for eviction. */
  private fdQueue: Inode[] = [];
  private openFds = 0;
  readonly root: Inode;

  constructor(
    rootFd: number,
    rootKey: { devKey: string; ino: bigint; key: string; type: number },
    private readonly useHostIno: boolean,
    /** How many inode fds to keep before evicting those that have handles. */
    private readonly maxFds: number,
    private readonly useHandles: boolean,
  ) {
    this.root = {
      nodeid: 1n, generation: 0n, key: rootKey.key, hostIno: rootKey.ino, devKey: rootKey.devKey,
      type: rootKey.type, fd: rootFd, handle: null, mountFd: rootFd, refs: 1n,
    };
    this.byId.set(1n, this.root);
    this.byKey.set(this.root.key, this.root);
    this.byHost.set(`${rootKey.devKey}:${rootKey.ino}`, this.root);
  }

  get size(): number {
    return this.byId.size;
  }

  get fdCount(): number {
    return this.openFds;
  }

  get(nodeid: bigint): Inode {
    const i = this.byId.get(nodeid);
    if (i === undefined) throw new FuseError(116 /* ESTALE */, `unknown node id ${nodeid}`);
    return i;
  }

  tryGet(nodeid: bigint): Inode | undefined {
    return this.byId.get(nodeid);
  }

  findByKey(key: string): Inode | undefined {
    return this.byKey.get(key);
  }

  findByHostIno(devKey: string, ino: bigint): Inode | undefined {
    return this.byHost.get(`${devKey}:${ino}`);
  }

  private allocId(devKey: string, ino: bigint): bigint {
    if (!this.useHostIno) return this.nextId++;
    let dev = this.devIds.get(devKey);
    if (dev === undefined) {
      if (this.devIds.size >= MAX_DEVICES) throw new FuseError(75 /* EOVERFLOW */, 'more than 254 host devices under the source');
      dev = BigInt(this.devIds.size + 1);
      this.devIds.set(devKey, dev);
    }
    if (ino > HOST_INO_MASK) return VIRTUAL_FLAG | this.nextVirtual++;
    return (dev << 47n) | ino;
  }

  /** The number clients see as st_ino. */
  stIno(i: Inode): bigint {
    return i.nodeid;
  }

  /** Adds a new inode for a host file with one lookup reference. Takes ownership of `fd`. */
  add(fd: number, devKey: string, ino: bigint, key: string, type: number, mountFd: number): Inode {
    let handle: sys.FileHandle | null = null;
    if (this.useHandles && mountFd >= 0) {
      const h = sys.name_to_handle_at(fd, '', sys.AT_EMPTY_PATH);
      if (typeof h !== 'number') handle = h;
    }
    const nodeid = this.allocId(devKey, ino);
    const inode: Inode = {
      nodeid, generation: this.useHostIno ? ++this.generation : 0n, key, hostIno: ino, devKey, type,
      fd, handle, mountFd, refs: 1n,
    };
    this.byId.set(nodeid, inode);
    this.byKey.set(inode.key, inode);
    this.byHost.set(`${devKey}:${ino}`, inode);
    this.trackFd(inode);
    return inode;
  }

  private trackFd(i: Inode): void {
    this.openFds++;
    this.fdQueue.push(i);
    if (this.openFds > this.maxFds) this.evict();
    // Forgotten inodes linger in the queue: drop them before it outgrows the live ones.
    if (this.fdQueue.length > 2 * this.openFds + 1024) this.fdQueue = this.fdQueue.filter((q) => q.fd >= 0);
  }

  private evict(): void {
    // Close the oldest fds that can be reopened from a handle.
    let scanned = 0;
    const keep: Inode[] = [];
    while (this.openFds > this.maxFds * 0.9 && this.fdQueue.length > 0 && scanned < this.fdQueue.length + keep.length) {
      const i = this.fdQueue.shift()!;
      scanned++;
      if (i.fd < 0) continue;
      if (i.handle === null || i === this.root) {
        keep.push(i);
        continue;
      }
      sys.close(i.fd);
      i.fd = -1;
      this.openFds--;
    }
    if (keep.length) this.fdQueue = keep.concat(this.fdQueue);
  }

  /** The inode's O_PATH fd, reopened from its handle if it was evicted. */
  fdOf(i: Inode): number {
    if (i.fd >= 0) return i.fd;
    const fd = sys.open_by_handle_at(i.mountFd, i.handle!, sys.O_PATH | sys.O_CLOEXEC);
    if (fd < 0) throw new FuseError(-fd === 2 ? 116 /* ESTALE: the file is gone */ : -fd);
    i.fd = fd;
    this.trackFd(i);
    return fd;
  }

  /** Replaces an evicted fd with a fresh one the caller already opened, or closes it. */
  offerFd(i: Inode, fd: number): void {
    if (i.fd < 0) {
      i.fd = fd;
      this.trackFd(i);
    } else {
      sys.close(fd);
    }
  }

  /** Drops `n` lookups; at zero the inode and its fd go away. */
  forget(nodeid: bigint, n: bigint): void {
    const i = this.byId.get(nodeid);
    if (i === undefined || i === this.root) return;
    i.refs -= n;
    if (i.refs > 0n) return;
    this.byId.delete(nodeid);
    if (this.byKey.get(i.key) === i) this.byKey.delete(i.key);
    const hk = `${i.devKey}:${i.hostIno}`;
    if (this.byHost.get(hk) === i) this.byHost.delete(hk);
    if (i.fd >= 0) {
      sys.close(i.fd);
      i.fd = -1;
      this.openFds--;
    }
  }

  /** Closes every fd (at the end of the session). */
  clear(): void {
    for (const i of this.byId.values()) {
      if (i !== this.root && i.fd >= 0) sys.close(i.fd);
    }
    this.byId.clear();
    this.byKey.clear();
    this.byHost.clear();
    this.fdQueue = [];
    this.openFds = 0;
  }
}
