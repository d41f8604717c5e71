"""Metadata client. Times only the operations (not interpreter start-up) and
prints JSON {"seconds": ...}.

usage: meta.py create <dir> <n>            create+write 4 KiB+close n files
       meta.py unlink <dir> <n>            unlink them
       meta.py pcreate <dir> <n> <procs>   the same, split over <procs> forked
       meta.py punlink <dir> <n> <procs>   processes, each in <dir>/p<k>/
"""
import json
import os
import sys

import time

BLOCK = b'x' * 4096
FLAGS = os.O_CREAT | os.O_WRONLY | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0)


def create(d, lo, hi):
    for i in range(lo, hi):
        fd = os.open(os.path.join(d, 'f%06d' % i), FLAGS, 0o644)
        if os.write(fd, BLOCK) != 4096:
            raise OSError('short write')
        os.close(fd)


def unlink(d, lo, hi):
    for i in range(lo, hi):
        os.unlink(os.path.join(d, 'f%06d' % i))


def parallel(op, d, n, procs):
    per = n // procs
    if op is create:
        for k in range(procs):
            os.mkdir(os.path.join(d, 'p%d' % k))
    r, w = os.pipe()
    pids = []
    for k in range(procs):
        pid = os.fork()
        if pid == 0:
            os.close(w)
            try:
                os.read(r, 1)  # the start signal
                op(os.path.join(d, 'p%d' % k), k * per, (k + 1) * per)
                os._exit(0)
            except BaseException as e:  # noqa: BLE001
                sys.stderr.write('child %d: %r\n' % (k, e))
                os._exit(1)
        pids.append(pid)
    os.close(r)
    t0 = time.perf_counter()
    os.write(w, b'g' * procs)
    bad = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if status != 0:
            bad += 1
    t1 = time.perf_counter()
    os.close(w)
    if bad:
        sys.exit('%d of %d processes failed' % (bad, procs))
    if op is unlink:
        for k in range(procs):
            os.rmdir(os.path.join(d, 'p%d' % k))
    return t1 - t0


def main():
    mode, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode in ('create', 'unlink'):
        op = create if mode == 'create' else unlink
        t0 = time.perf_counter()
        op(d, 0, n)
        secs = time.perf_counter() - t0
    else:
        procs = int(sys.argv[4])
        secs = parallel(create if mode == 'pcreate' else unlink, d, n, procs)
    print(json.dumps({'seconds': secs}))


main()
