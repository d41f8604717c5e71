"""Untimed warm-up run on every peer before a group's timed steps (the same
for all peers): exercises lookup, create, write, release, readdir, getattr
and read, so that a JIT-compiled daemon is measured warm. Deletes nothing:
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
