// The files or directories the kernel has open, by inode. An open one's fd
// reaches its inode when the inode's own fd is closed and cannot be reopened
// by handle or name: xattrs of an O_PATH-less inode, and the inode table's
// reopen of an inode whose name changed behind the mount.

export class OpenByIno<T extends { readonly fd: number }> {
  private readonly m = new Map<bigint, T[]>();

  add(ino: bigint, v: T): void {
    const same = this.m.get(ino);
    if (same === undefined) this.m.set(ino, [v]);
    else same.push(v);
  }

  delete(ino: bigint, v: T): void {
    const same = this.m.get(ino);
    if (same === undefined) return;
    const k = same.indexOf(v);
    if (k >= 0) same.splice(k, 1);
    if (same.length === 0) this.m.delete(ino);
  }

  /** The fd of one of the opens of `ino`, if it has any. */
  fdOf(ino: bigint): number | undefined {
    return this.m.get(ino)?.[0]?.fd;
  }

  clear(): void {
    this.m.clear();
  }
}
