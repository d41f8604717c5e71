// The published package: `npm pack`, install the tarball into an empty
// directory (no compiler, no dev dependencies), and mount with `npx tsfuse`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from './helpers.js';
import { unmountKernel } from '../src/session/mount.js';

const repo = new URL('..', import.meta.url).pathname;
const mounted = (dir: string) => fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);

test('npm pack → npm install <tarball> → npx tsfuse mounts a directory', { timeout: 300_000 }, () => {
  const work = tmpdir('tsfuse-pack-');
  const out = execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: repo, encoding: 'utf8' }).trim().split('\n').pop()!;
  const tarball = path.join(work, out);
  assert.ok(fs.existsSync(tarball), `npm pack made ${tarball}`);
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
  // No compiler on the path: the install must not try to build anything.
  const env = { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin', CC: '/bin/false', CXX: '/bin/false', npm_config_build_from_source: 'false' };
  const inst = spawnSync('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env, encoding: 'utf8' });
  assert.equal(inst.status, 0, inst.stderr);
  assert.ok(!fs.existsSync(path.join(app, 'node_modules', 'typescript')), 'dev dependencies are not installed');
  const src = path.join(work, 'src');
  const mnt = path.join(work, 'mnt');
  fs.mkdirSync(src);
  fs.mkdirSync(mnt);
  fs.writeFileSync(path.join(src, 'file'), 'through the packed tsfuse');
  const r = spawnSync('npx', ['--no-install', 'tsfuse', 'passthrough', src, mnt], { cwd: app, env, encoding: 'utf8', timeout: 60000 });
  try {
    assert.equal(r.status, 0, r.stderr);
    assert.ok(mounted(mnt));
    assert.equal(fs.readFileSync(path.join(mnt, 'file'), 'utf8'), 'through the packed tsfuse');
    const u = spawnSync('npx', ['--no-install', 'tsfuse', 'unmount', mnt], { cwd: app, env, encoding: 'utf8' });
    assert.equal(u.status, 0, u.stderr);
    assert.ok(!mounted(mnt));
  } finally {
    if (mounted(mnt)) unmountKernel(mnt, { lazy: true });
  }
});
