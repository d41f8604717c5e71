// More live inodes than the fd limit (SPEC §3): a C peer keeping one fd per
// inode fails with EMFILE here; tsfuse reopens inodes from file handles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { tmpdir } from './helpers.js';

test('5,000 live inodes under a 1,000 fd limit: every file listed, stated, read', () => {
  const src = tmpdir();
  const mnt = tmpdir('tsfuse-mnt-');
  const r = spawnSync(process.execPath, ['--import', 'tsx', new URL('./fixtures/fdlimit-child.ts', import.meta.url).pathname, src, mnt], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(res.errors, []);
  assert.equal(res.listed, 5000);
  assert.equal(res.stated, 5000);
  assert.equal(res.read, 5000);
  assert.ok(res.maxFds < 1000, `the daemon stayed under its limit: ${res.maxFds} fds`);
  assert.equal(fs.statSync(path.join(src, 'f0')).mode & 0o777, 0o600);
  assert.ok(fs.existsSync(path.join(src, 'renamed')));
});
