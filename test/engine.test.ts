import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountMemFs, unmountFs, sh } from './helpers.js';

test('memfs: files, directories, symlinks, xattrs through the kernel', async () => {
  const m = await mountMemFs();
  try {
    assert.ok(m.minor >= 31, `minor ${m.minor}`);
    const f = path.join(m.dir, 'hello.txt');
    fs.writeFileSync(f, 'hello world\n');
    assert.equal(fs.readFileSync(f, 'utf8'), 'hello world\n');
    fs.mkdirSync(path.join(m.dir, 'sub'));
    fs.symlinkSync('../hello.txt', path.join(m.dir, 'sub', 'link'));
    assert.equal(fs.readlinkSync(path.join(m.dir, 'sub', 'link')), '../hello.txt');
    assert.equal(fs.readFileSync(path.join(m.dir, 'sub', 'link'), 'utf8'), 'hello world\n');
    assert.deepEqual(fs.readdirSync(m.dir).sort(), ['hello.txt', 'sub']);
    fs.renameSync(f, path.join(m.dir, 'sub', 'moved.txt'));
    assert.deepEqual(fs.readdirSync(path.join(m.dir, 'sub')).sort(), ['link', 'moved.txt']);
    const r = sh(`setfattr -n user.k -v v1 ${m.dir}/sub/moved.txt && getfattr --only-values -n user.k ${m.dir}/sub/moved.txt`);
    assert.equal(r.stdout, 'v1', r.stderr);
    fs.unlinkSync(path.join(m.dir, 'sub', 'moved.txt'));
    assert.throws(() => fs.statSync(path.join(m.dir, 'sub', 'moved.txt')), { code: 'ENOENT' });
  } finally {
    await unmountFs(m);
  }
});
