import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { mountFs, unmountFs, tmpdir } from './helpers.js';

const example = (name: string) => new URL(`../examples/${name}`, import.meta.url);

test('examples/hello.ts: one read-only file', async () => {
  const m = await mountFs({ module: example('hello.ts'), exportName: 'HelloFs' });
  try {
    assert.deepEqual(fs.readdirSync(m.dir), ['hello']);
    assert.equal(fs.readFileSync(path.join(m.dir, 'hello'), 'utf8'), 'Hello from tsfuse!\n');
    assert.throws(() => fs.writeFileSync(path.join(m.dir, 'hello'), 'x'), { code: 'EACCES' });
  } finally {
    await unmountFs(m);
  }
});

test('examples/memory.ts: runs as a program and unmounts on SIGINT', async () => {
  const dir = tmpdir();
  const p = spawn(process.execPath, ['--import', 'tsx', example('memory.ts').pathname, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  try {
    for (let i = 0; i < 400 && !out.includes('mounted') && !out.includes('filesystem on'); i++) await new Promise((r) => setTimeout(r, 25));
    fs.mkdirSync(path.join(dir, 'd'));
    fs.writeFileSync(path.join(dir, 'd', 'f'), 'in memory');
    assert.equal(fs.readFileSync(path.join(dir, 'd', 'f'), 'utf8'), 'in memory');
    p.kill('SIGINT');
    assert.equal(await new Promise((r) => p.on('exit', r)), 0);
    assert.ok(!fs.readFileSync('/proc/self/mounts', 'utf8').includes(` ${dir} `));
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    p.kill('SIGKILL');
  }
});

test('examples/readonly-logging.ts: a read-only view and a logging wrapper over the passthrough', async () => {
  const src = tmpdir();
  fs.writeFileSync(path.join(src, 'f'), 'data');
  const ro = await mountFs({ module: example('readonly-logging.ts'), exportName: 'ReadOnlyPassthrough', args: [{ source: src }] });
  try {
    assert.equal(fs.readFileSync(path.join(ro.dir, 'f'), 'utf8'), 'data');
    assert.throws(() => fs.writeFileSync(path.join(ro.dir, 'f'), 'x'), { code: 'EROFS' });
    assert.throws(() => fs.writeFileSync(path.join(ro.dir, 'new'), 'x'), { code: 'EROFS' });
    assert.throws(() => fs.unlinkSync(path.join(ro.dir, 'f')), { code: 'EROFS' });
    assert.throws(() => fs.chmodSync(path.join(ro.dir, 'f'), 0o600), { code: 'EROFS' });
    assert.equal(fs.readFileSync(path.join(src, 'f'), 'utf8'), 'data');
  } finally {
    await unmountFs(ro);
  }
  // The logging wrapper logs to stderr: run it as a program and read its log.
  const dir = tmpdir();
  const p = spawn(process.execPath, ['--import', 'tsx', example('readonly-logging.ts').pathname, src, dir, '--log'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  try {
    for (let i = 0; i < 400 && !out.includes('logging'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'data');
    assert.throws(() => fs.statSync(path.join(dir, 'missing')), { code: 'ENOENT' });
    p.kill('SIGINT');
    assert.equal(await new Promise((r) => p.on('exit', r)), 0);
    assert.match(err, /\[tsfuse\] lookup ino=1 uid=0 -> ok/);
    assert.match(err, /\[tsfuse\] lookup ino=1 uid=0 -> ENOENT/);
    assert.match(err, /\[tsfuse\] (open|read) /);
  } finally {
    p.kill('SIGKILL');
  }
});
