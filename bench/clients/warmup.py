"""Untimed warm-up run on every peer before a group's timed steps (the same
for all peers): exercises lookup, create, write, release, readdir, getattr
and read, so that a JIT-compiled daemon is measured warm. A directory of
2,000 names is listed ten times: a listing's first read carries attributes
(READDIRPLUS) and only the reads after it are plain READDIRs, so a smaller
one would leave the names-only path cold. Deletes nothing:
deletions right before the timed steps would slow the host filesystem's
inode allocation (see docs/benchmarks.md).

usage: warmup.py <dir>    (<dir> must exist and be empty)
"""
import os
import sys

d = sys.argv[1]
for i in range(3000):
    try:
        os.stat(os.path.join(d, 'missing-%d' % i))
    except FileNotFoundError:
        pass
block = b'w' * 4096
for i in range(500):
    fd = os.open(os.path.join(d, 'w%04d' % i), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
    os.write(fd, block)
    os.close(fd)
for name in sorted(os.listdir(d)):
    os.lstat(os.path.join(d, name))
for i in range(500):
    with open(os.path.join(d, 'w%04d' % i), 'rb') as f:
        f.read()
for _ in range(4):
    for i in range(500):
        os.stat(os.path.join(d, 'w%04d' % i))
names = os.path.join(d, 'names')
os.mkdir(names)
for i in range(2000):
    os.close(os.open(os.path.join(names, 'n%04d' % i), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644))
for _ in range(10):
    if len(os.listdir(names)) != 2000:
        raise SystemExit('warm-up: listing of %s is not 2000 names' % names)
