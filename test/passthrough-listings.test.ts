// Directory listings under cache=auto: the kernel keeps a listing it read
// while the host directory is unchanged (FOPEN_CACHE_DIR + FOPEN_KEEP_CACHE),
// and reads it anew after any change, made on the host or through the mount.
// Which listings reach the daemon is counted from its debug log.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mountMemFs, tmpdir, unmountFs, waitFor, withLoggedDaemon } from './helpers.js';
import { DirListings, fsTypeOfMount, granularityOf } from '../src/fs/passthrough/dir-listings.js';
import { parseMountInfo } from '../src/session/mount.js';

/** Sorted names of `dir`, listed by a separate process (its own open of the directory). */
function list(dir: string): string[] {
  const r = spawnSync('python3', ['-c', 'import os, sys\nprint("\\n".join(sorted(os.listdir(sys.argv[1]))))', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((n) => n !== '');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Counts of requests in the daemon's log after `from`: OPENDIRs, and
 * READDIRs + READDIRPLUSes; and what each OPENDIR's reply told the kernel
 * about its listing: 'keep' (CACHE_DIR and KEEP_CACHE), 'fill' (CACHE_DIR:
 * read it anew and cache it), 'off' (neither: read it, do not cache it).
 */
function counts(log: string, from: number): { opens: number; reads: number; flags: string[] } {
  const s = log.slice(from);
  const flags = [...s.matchAll(/^\d+ < OPENDIR OK \d+ bytes fh=\d+ open_flags=(\S+)/gm)].map((m) => {
    const f = m[1]!.split('|');
    return f.includes('CACHE_DIR') ? (f.includes('KEEP_CACHE') ? 'keep' : 'fill') : f.includes('KEEP_CACHE') ? 'KEEP_CACHE alone' : 'off';
  });
  return { opens: (s.match(/^\d+ > OPENDIR /gm) ?? []).length, reads: (s.match(/^\d+ > READDIR(PLUS)? /gm) ?? []).length, flags };
}

/**
 * Lists `dir` through the mount and returns what was listed and what reached
 * the daemon for it (once its log shows the RELEASEDIR).
 */
async function listCounted(dir: string, log: () => string): Promise<{ names: string[]; opens: number; reads: number; flags: string[] }> {
  const from = log().length;
  const names = list(dir);
  await waitFor(() => /> RELEASEDIR /.test(log().slice(from)), 5_000);
  return { names, ...counts(log(), from) };
}

describe('listings under cache=auto', () => {
  test('an unchanged directory is listed from the kernel\'s cache; a change on the host shows at the next open', async () => {
    const host = tmpdir();
    const d = path.join(host, 'd');
    fs.mkdirSync(d);
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(d, `f${i}`), '');
    const names = Array.from({ length: 20 }, (_, i) => `f${i}`).sort();
    await withLoggedDaemon(host, [], async (mnt, log) => {
      const md = path.join(mnt, 'd');
      // Older than a fine-grained host's timestamp granularity (50 ms), were /tmp without multigrain timestamps.
      await sleep(150);
      let r = await listCounted(md, log);
      assert.deepEqual(r.names, names);
      assert.equal(r.opens, 1);
      assert.ok(r.reads >= 1, 'the first listing is read from the daemon');
      assert.deepEqual(r.flags, ['fill'], 'the first open has the kernel cache what it reads');
      r = await listCounted(md, log);
      assert.deepEqual(r.names, names);
      assert.deepEqual([r.opens, r.reads], [1, 0], 'the second listing comes from the kernel\'s cache');
      assert.deepEqual(r.flags, ['keep']);

      // Each host change, made while the kernel holds a listing it may keep, shows at the next open.
      const changes: [string, () => void, string[]][] = [
        ['create', () => fs.writeFileSync(path.join(d, 'new'), ''), [...names, 'new'].sort()],
        ['rename', () => fs.renameSync(path.join(d, 'new'), path.join(d, 'renamed')), [...names, 'renamed'].sort()],
        ['unlink', () => fs.unlinkSync(path.join(d, 'renamed')), names],
        ['mkdir', () => fs.mkdirSync(path.join(d, 'sub')), [...names, 'sub'].sort()],
        ['rmdir', () => fs.rmdirSync(path.join(d, 'sub')), names],
      ];
      for (const [what, change, want] of changes) {
        await sleep(150);
        await listCounted(md, log);
        r = await listCounted(md, log);
        assert.equal(r.reads, 0, `before the host's ${what}: kept`);
        change();
        r = await listCounted(md, log);
        assert.deepEqual(r.names, want, `after the host's ${what}`);
        assert.ok(r.reads >= 1, `after the host's ${what}: read anew`);
        assert.deepEqual(r.flags, ['fill'], `after the host's ${what}: cached anew`);
      }

      // A change right after the listing was read (within the host's timestamp granularity).
      for (let i = 0; i < 20; i++) {
        list(md);
        fs.writeFileSync(path.join(d, `quick${i}`), '');
        assert.ok(list(md).includes(`quick${i}`), `a name created on the host right after a listing (round ${i})`);
        fs.unlinkSync(path.join(d, `quick${i}`));
        assert.ok(!list(md).includes(`quick${i}`), `a name removed on the host right after a listing (round ${i})`);
      }

      // Changes through the mount: the kernel drops its own listing.
      await sleep(150);
      await listCounted(md, log);
      fs.writeFileSync(path.join(md, 'via-mount'), '');
      assert.deepEqual(list(md), [...names, 'via-mount'].sort());
      fs.unlinkSync(path.join(md, 'via-mount'));
      assert.deepEqual(list(md), names);
    });
  });

  test('a listing is read anew once older than the entry and attribute timeouts, or when it gave names without attributes the kernel did not hold fresh', async () => {
    const host = tmpdir();
    fs.mkdirSync(path.join(host, 'small'));
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(host, 'small', `f${i}`), '');
    // More names than the first READDIRPLUS holds: the rest of a names-only listing comes by plain READDIR, without attributes.
    fs.mkdirSync(path.join(host, 'big'));
    for (let i = 0; i < 1500; i++) fs.writeFileSync(path.join(host, 'big', `a-longer-name-to-fill-the-buffer-${i}`), '');
    await sleep(150);
    await withLoggedDaemon(host, ['-o', 'attr_timeout=1,entry_timeout=1'], async (mnt, log) => {
      const small = path.join(mnt, 'small');
      await listCounted(small, log);
      assert.equal((await listCounted(small, log)).reads, 0, 'kept within the timeouts');
      await sleep(1200);
      const r = await listCounted(small, log);
      assert.equal(r.names.length, 10);
      assert.ok(r.reads >= 1, 'read anew after the timeouts: the names it gives are fresh again');

      const big = path.join(mnt, 'big');
      assert.equal((await listCounted(big, log)).names.length, 1500);
      const again = await listCounted(big, log);
      assert.equal(again.names.length, 1500);
      assert.ok(again.reads >= 2, `a listing that came partly without attributes is read anew (${again.reads} reads)`);
      // Such a listing could not be kept: the kernel is not asked to copy the next one.
      assert.deepEqual(again.flags, ['off']);
    });
    // With the default timeouts (5 s): the names stay fresh while they are made and listed.
    await withLoggedDaemon(host, [], async (mnt, log) => {
      // Names the kernel holds fresh (each looked up, by a stat), listed by name only: the
      // reads after the first are plain READDIRs, whose names need no LOOKUP later either.
      const looked = path.join(mnt, 'big');
      // (The names come from the host: a listing through the mount would be one that gave names the kernel did not hold.)
      const st = spawnSync('python3', ['-c', 'import os, sys\nfor n in os.listdir(sys.argv[2]): os.stat(os.path.join(sys.argv[1], n))', looked, path.join(host, 'big')], { encoding: 'utf8' });
      assert.equal(st.status, 0, st.stderr);
      const first = await listCounted(looked, log);
      assert.equal(first.names.length, 1500);
      assert.ok(first.reads >= 2, `the first listing is read (${first.reads} reads)`);
      const kept = await listCounted(looked, log);
      assert.equal(kept.names.length, 1500);
      assert.equal(kept.reads, 0, 'a names-only listing of names the kernel holds fresh is kept');
      assert.deepEqual(kept.flags, ['keep']);
    });
  });

  test('cache=never and nokeep_listings list every open from the host; cache=always and keep_listings keep listings', async () => {
    const host = tmpdir();
    fs.mkdirSync(path.join(host, 'd'));
    fs.writeFileSync(path.join(host, 'd', 'a'), '');
    await sleep(150);
    for (const [opts, keptReads, flags] of [
      ['cache=never', 1, ['off', 'off']], ['cache=always', 0, ['keep', 'keep']], ['nokeep_listings', 1, ['off', 'off']], ['keep_listings', 0, ['fill', 'keep']],
    ] as const) {
      await withLoggedDaemon(host, ['-o', opts], async (mnt, log) => {
        const first = await listCounted(path.join(mnt, 'd'), log);
        const r = await listCounted(path.join(mnt, 'd'), log);
        assert.deepEqual(r.names, ['a']);
        assert.equal(Math.min(r.reads, 1), keptReads, `-o ${opts}: ${r.reads} reads for the second listing`);
        assert.deepEqual([...first.flags, ...r.flags], flags, `-o ${opts}: what the two OPENDIRs answered`);
      });
    }
  });

  test('documented difference: rewinddir in one open shows a host-side change only once the directory\'s attributes expire', async () => {
    const host = tmpdir();
    fs.mkdirSync(path.join(host, 'd'));
    fs.writeFileSync(path.join(host, 'd', 'a'), '');
    // Lists `dir` with readdir, creates `late` in the host directory, rewinds and lists again: both listings.
    const rewound = (dir: string): string => {
      const r = spawnSync('python3', ['-c', String.raw`
import ctypes, os, sys
libc = ctypes.CDLL(None)
libc.opendir.restype = ctypes.c_void_p; libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir.restype = ctypes.c_void_p; libc.readdir.argtypes = [ctypes.c_void_p]
libc.rewinddir.argtypes = [ctypes.c_void_p]; libc.closedir.argtypes = [ctypes.c_void_p]
def names(dp):
    out = []
    while True:
        e = libc.readdir(dp)
        if not e: break
        out.append(ctypes.string_at(e + 19).decode())  # d_name in glibc's struct dirent (x86-64)
    return ','.join(sorted(n for n in out if n not in ('.', '..')))
dp = libc.opendir(sys.argv[1].encode())
first = names(dp)
open(os.path.join(sys.argv[2], 'late'), 'w').close()
libc.rewinddir(dp)
print(first, names(dp))
libc.closedir(dp)
`, dir, path.join(host, 'd')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(rewound(path.join(host, 'd')), 'a a,late', 'natively the rewound listing shows the new name');
    fs.unlinkSync(path.join(host, 'd', 'late'));
    await withLoggedDaemon(host, [], async (mnt) => {
      assert.equal(rewound(path.join(mnt, 'd')), 'a a', 'through the mount the kernel serves its listing again');
      assert.deepEqual(list(path.join(mnt, 'd')), ['a', 'late'], 'the next open sees the host as it is');
    });
  });

  test('on a host with coarse timestamps, a change in the same tick as a listing shows at the next open', async () => {
    // The host is a memfs mount whose times go in steps of 2 s, as FAT's, and
    // whose directories' size is always 0: a create in the same step as the
    // one before leaves the directory's mtime, ctime and size as they were
    // (on ext4 and tmpfs here, multigrain timestamps never do). Its type
    // (fuse.*) is one whose granularity the passthrough does not know: 2 s.
    const h = await mountMemFs({ coarseTimesMs: 2000, timeout: 0 });
    try {
      const hd = path.join(h.dir, 'd');
      fs.mkdirSync(hd);
      await withLoggedDaemon(h.dir, [], async (mnt, log) => {
        const md = path.join(mnt, 'd');
        let sameState = 0;
        for (let round = 0; round < 3; round++) {
          // Just after a step begins: the steps below take well under 2 s.
          await sleep(2000 - (Date.now() % 2000) + 20);
          fs.writeFileSync(path.join(hd, `a${round}`), '');
          const before = fs.statSync(hd, { bigint: true });
          assert.ok((await listCounted(md, log)).names.includes(`a${round}`));
          const again = await listCounted(md, log);
          assert.ok(again.reads >= 1, `round ${round}: a listing read within the host's granularity of its change is not kept (${again.flags})`);
          fs.writeFileSync(path.join(hd, `b${round}`), '');
          const after = fs.statSync(hd, { bigint: true });
          if (after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs && after.size === before.size) sameState++;
          const r = await listCounted(md, log);
          assert.ok(r.names.includes(`b${round}`), `round ${round}: a name created on the host in the same step shows (${r.flags})`);
        }
        // Else every round crossed a step, and kept listings would have been read anew anyway.
        assert.ok(sameState >= 1, 'in some round the second create left the host directory\'s state as it was');
      });
    } finally {
      await unmountFs(h);
    }
  });

  test('a listing read within the host\'s timestamp granularity of the directory\'s last change is not kept', () => {
    // The rule's cases one by one (the test above shows it through a mount).
    const l = new DirListings(5000);
    const t = 1_700_000_000_000;
    const at = (ms: number) => ({ mtimeSec: Math.floor(ms / 1000), mtimeNsec: (ms % 1000) * 1e6, ctimeSec: Math.floor(ms / 1000), ctimeNsec: (ms % 1000) * 1e6, size: 4096 });
    // Multigrain timestamps (Linux 6.13 on): no wait; before, or on other filesystems, the coarse tick.
    assert.equal(granularityOf('ext4', '6.18.44-fc-v657'), 0);
    assert.equal(granularityOf('tmpfs', '7.0.1'), 0);
    assert.equal(granularityOf('ext4', '6.12.9'), 50);
    assert.equal(granularityOf('f2fs', '6.18.1'), 50);
    assert.equal(granularityOf('vfat', '6.18.1'), 2000);
    assert.equal(granularityOf('', '6.18.1'), 2000);
    const mountinfo = '22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n97 22 0:45 / /dev/shm rw shared:2 - tmpfs tmpfs rw\n';
    assert.equal(fsTypeOfMount(97n, parseMountInfo(mountinfo)), 'tmpfs');
    assert.equal(fsTypeOfMount(22n, parseMountInfo(mountinfo)), 'ext4');
    assert.equal(fsTypeOfMount(9n, parseMountInfo(mountinfo)), '');
    const g = granularityOf('ext4', '6.12.9');
    // Coarse timestamps (50 ms): changed 20 ms before the read: not kept, whatever follows.
    assert.equal(l.opened(1, 1n, at(t - 20), g, t), 'fill');
    l.listed(1, 1n, 0n, false, t);
    assert.equal(l.opened(1, 1n, at(t - 20), g, t + 100), 'fill');
    // Changed 200 ms before the read: kept; then not once the state differs.
    assert.equal(l.opened(2, 2n, at(t - 200), g, t), 'fill');
    l.listed(2, 2n, 0n, false, t);
    assert.equal(l.opened(2, 2n, at(t - 200), g, t + 100), 'keep');
    assert.equal(l.opened(2, 2n, { ...at(t - 200), size: 8192 }, g, t + 200), 'fill');
    // A read with a bare entry: not kept, and the next open does not even cache (until a read has none).
    l.listed(2, 2n, 0n, false, t + 300);
    l.listed(2, 2n, 4096n, true, t + 300);
    assert.equal(l.opened(2, 2n, { ...at(t - 200), size: 8192 }, g, t + 400), 'off');
    assert.equal(l.opened(2, 2n, { ...at(t - 200), size: 12288 }, g, t + 450), 'off');
    l.listed(2, 2n, 0n, false, t + 500);
    assert.equal(l.opened(2, 2n, { ...at(t - 200), size: 12288 }, g, t + 600), 'keep');
    // Past the window: not kept.
    assert.equal(l.opened(2, 2n, { ...at(t - 200), size: 12288 }, g, t + 5600), 'fill');
    // The slot taken by another inode (another node id): nothing it knew applies.
    l.listed(2, 2n, 0n, false, t + 700);
    assert.equal(l.opened(2, 2n, { ...at(t - 200), size: 12288 }, g, t + 800), 'keep');
    assert.equal(l.opened(2, 7n, { ...at(t - 200), size: 12288 }, g, t + 800), 'fill');
    l.listed(2, 2n, 0n, false, t + 900);
    assert.equal(l.opened(2, 7n, { ...at(t - 200), size: 12288 }, g, t + 1000), 'fill');
    // Multigrain: a read right after the change is kept.
    assert.equal(l.opened(3, 3n, at(t - 1), 0, t), 'fill');
    l.listed(3, 3n, 0n, false, t);
    assert.equal(l.opened(3, 3n, at(t - 1), 0, t + 100), 'keep');
  });
});
