// Running an operation as the caller. When the daemon is root and another
// user reaches the mount (allow_other), operations that create files, change
// ownership, or (without default_permissions) need a permission check run
// with the caller's mapped fsuid, fsgid and supplementary groups. The switch
// is per thread (setfsuid, setfsgid and the raw setgroups syscall), so only
// the session thread changes, as virtiofsd does.

import { readFileSync } from 'node:fs';
import * as sys from '../../sys/index.js';
import type { IdMap } from './idmap.js';
import type { RequestContext } from '../../session/filesystem.js';

const GROUPS_TTL_MS = 1000;

export class Credentials {
  readonly enabled: boolean;
  private groupCache = new Map<number, { at: number; groups: number[] }>();
  private switched = false;

  constructor(private readonly uidMap: IdMap, private readonly gidMap: IdMap) {
    // Only root can take on another user's identity; otherwise the host's checks use ours.
    this.enabled = sys.geteuid() === 0;
  }

  /** Supplementary groups of the calling process, from /proc (cached briefly). */
  private groupsOf(pid: number): number[] {
    const now = Date.now();
    const hit = this.groupCache.get(pid);
    if (hit && now - hit.at < GROUPS_TTL_MS) return hit.groups;
    let groups: number[] = [];
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'latin1');
      const m = /\nGroups:\t?([^\n]*)/.exec(status);
      if (m) groups = m[1]!.trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // The caller is gone or in another pid namespace: no supplementary groups.
    }
    if (this.groupCache.size > 4096) this.groupCache.clear();
    this.groupCache.set(pid, { at: now, groups });
    return groups;
  }

  /**
   * Takes on the caller's identity if it differs from the daemon's (root).
   * Returns true if it switched; then leave() must be called.
   */
  enter(ctx: RequestContext): boolean {
    if (!this.enabled) return false;
    const uid = this.uidMap.toHost(ctx.uid);
    const gid = this.gidMap.toHost(ctx.gid);
    if (uid === 0 && gid === 0) return false;
    const groups = this.groupsOf(ctx.pid).map((g) => this.gidMap.toHost(g));
    // Groups first: after setfsuid to non-root we could no longer change them.
    sys.setgroupsThread(groups);
    sys.setfsgid(gid);
    sys.setfsuid(uid);
    this.switched = true;
    return true;
  }

  leave(): void {
    if (!this.switched) return;
    sys.setfsuid(0);
    sys.setfsgid(0);
    sys.setgroupsThread([]);
    this.switched = false;
  }

  /** Runs `f` with the caller's identity, and the daemon's again afterwards, whatever `f` does. */
  asCaller<T>(ctx: RequestContext, f: () => T): T {
    const switched = this.enter(ctx);
    try {
      return f();
    } finally {
      if (switched) this.leave();
    }
  }
}
