// The daemon's fd budget: inode fds (O_PATH, one per inode the kernel knows)
// and the fds of open files and directories count against one limit. Open
// files always win: when the budget is full, inode fds that can be reopened
// are closed (the inode table's sweep) to make room.

const ENFILE = 23;
const EMFILE = 24;

/**
 * Closes inode fds until at most `target` are left (never one the current
 * operation uses, never one that cannot be reopened); the table's clock sweep.
 */
export type Sweep = (target: number) => void;

export class FdBudget {
  /** Inode fds open now (the root's not counted). */
  inodeFds = 0;
  /** How many of them are directories' (closed only once no other inode fd can be). */
  dirFds = 0;
  /** fds of open files and directories. */
  private otherFds = 0;
  /** After a sweep that could not get under budget: no new sweep until inodeFds reaches this. */
  private sweepAgainAt = 0;

  constructor(
    /** How many fds (inode fds and open files' together) to keep. */
    private readonly maxFds: number,
    /**
     * The limit is hard (no file handles, so inode fds cannot all be
     * reopened): past it, EMFILE without trying.
     */
    private readonly hard: boolean,
    private readonly sweep: Sweep,
  ) {}

  /** Sweeps down to `target` inode fds; when it falls short, not again for the next 64 fds. */
  private sweepTo(target: number): void {
    this.sweep(target);
    // Nothing more to close (open files fill the budget, or the rest cannot
    // be reopened): do not sweep every slot again for each new fd.
    this.sweepAgainAt = this.inodeFds > Math.max(0, target) ? this.inodeFds + 64 : 0;
  }

  /** Closes inode fds if `extra` more fds would go over budget (down to 90% of it). */
  private fit(extra: number): void {
    if (this.inodeFds + this.otherFds + extra > this.maxFds && this.inodeFds >= this.sweepAgainAt) this.sweepTo(Math.floor(this.maxFds * 0.9) - this.otherFds);
  }

  /** Counts one more inode fd (of a directory: `dir`), first closing others if over budget. */
  addInodeFd(dir: boolean): void {
    this.fit(1);
    this.inodeFds++;
    if (dir) this.dirFds++;
  }

  /** An inode fd was closed, or handed to someone else to close. */
  dropInodeFd(dir: boolean): void {
    this.inodeFds--;
    if (dir) this.dirFds--;
  }

  /** An open file or directory now holds an fd: inode fds make room for it. */
  holdFd(): void {
    this.otherFds++;
    this.fit(0);
  }

  releaseFd(): void {
    this.otherFds--;
    this.sweepAgainAt = 0;
  }

  /**
   * The host said EMFILE or ENFILE: close half of the inode fds that can be
   * reopened. Returns whether any was closed, so that the caller may retry once.
   */
  shed(): boolean {
    const before = this.inodeFds;
    this.sweepTo(Math.floor(before / 2));
    return this.inodeFds < before;
  }

  /**
   * `f()` (a call that makes an fd), once more after shed() if the process ran
   * out of fds. With a hard limit, EMFILE past it without the call, so that
   * the fds above the budget stay free for the runtime (the unmount at a
   * signal spawns fusermount3, which needs pipes).
   */
  retryFd(f: () => number): number {
    if (this.hard && this.inodeFds + this.otherFds >= this.maxFds) {
      // Inode fds reopened by name can make room: the usual sweep (down to
      // 90%), even if the last one fell short, since what that operation
      // held is free now.
      this.sweepAgainAt = 0;
      this.fit(1);
      if (this.inodeFds + this.otherFds >= this.maxFds) return -EMFILE;
    }
    const r = f();
    return (r === -EMFILE || r === -ENFILE) && this.shed() ? f() : r;
  }

  /** Every fd was closed (the session is ending). */
  reset(): void {
    this.inodeFds = 0;
    this.dirFds = 0;
    this.otherFds = 0;
    this.sweepAgainAt = 0;
  }
}
