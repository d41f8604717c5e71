"""Long-call client: how long other clients of a mount wait while one process
makes a system call that takes long. A forked prober stats distinct missing
names (one LOOKUP each, never cached) in a loop; the parent makes the long
call. Prints JSON {"wait_ms": longest probe that overlapped the call,
"call_ms": the call's own time, "probes": probes that overlapped it}.

usage: longcall.py fsync <dir> <bytes>     write <bytes> (1 MiB blocks) to a new
                                           file, then time its fsync
       longcall.py copy <dir> <bytes> <src> copy_file_range <src> (which must
                                           hold <bytes>) to a new file in <dir>,
                                           looping on short counts
       longcall.py truncate <dir> <bytes>  write <bytes> to a new file, then time
                                           its ftruncate to 0 (dirty pages dropped)
       longcall.py otrunc <dir> <bytes>    write <bytes> to a new file and close it,
                                           then time an open of it with O_TRUNC
                                           (the shell's `>`, cp over a file)
       longcall.py otrunc-setid <dir> <bytes>  the same with the file made set-id
                                           (mode 6755) before the open
       longcall.py unlink <dir> <bytes>    write <bytes> to a new file, fsync and
                                           close it, then time its unlink and the
                                           second after (a daemon frees the file
                                           when the kernel forgets it, later)
       longcall.py fsync4k <dir> <n>       n times: pwrite 4 KiB, fsync; prints
                                           {"us_per_op": ...} instead (no prober)
"""
import json
import os
import signal
import struct
import sys
import time

MiB = 1 << 20
BLOCK = b'y' * MiB
now = time.perf_counter  # CLOCK_MONOTONIC: the same clock in both processes


def prober(d, out_fd, ready_fd):
    """Until SIGTERM: stat missing names; then write (start, end) pairs."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    spans = []
    os.write(ready_fd, b'r')
    k = 0
    while not stop:
        p = os.path.join(d, 'probe-%d' % k)
        k += 1
        t0 = now()
        try:
            os.stat(p)
        except FileNotFoundError:
            pass
        spans.append((t0, now()))
    data = b''.join(struct.pack('dd', a, b) for a, b in spans)
    os.write(out_fd, struct.pack('q', len(spans)))
    while data:
        data = data[os.write(out_fd, data):]
    os.close(out_fd)


def with_prober(d, call):
    """Runs call() while a prober runs; returns the JSON fields."""
    r, w = os.pipe()
    rr, rw = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.close(rr)
        try:
            prober(d, w, rw)
            os._exit(0)
        except BaseException as e:  # noqa: BLE001
            sys.stderr.write('prober: %r\n' % (e,))
            os._exit(1)
    os.close(w)
    os.close(rw)
    os.read(rr, 1)
    time.sleep(0.05)  # the prober is in its loop
    t0 = now()
    call()
    t1 = now()
    time.sleep(0.01)
    os.kill(pid, signal.SIGTERM)
    n = struct.unpack('q', read_exact(r, 8))[0]
    raw = read_exact(r, 16 * n)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit('prober failed')
    spans = [struct.unpack_from('dd', raw, 16 * i) for i in range(n)]
    during = [b - a for a, b in spans if b >= t0 and a <= t1]
    if not during:
        sys.exit('no probe overlapped the call')
    return {'wait_ms': max(during) * 1e3, 'call_ms': (t1 - t0) * 1e3, 'probes': len(during)}


def read_exact(fd, n):
    parts = []
    while n:
        b = os.read(fd, n)
        if not b:
            sys.exit('prober pipe closed early')
        parts.append(b)
        n -= len(b)
    return b''.join(parts)


def write_file(path, size):
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    left = size
    while left:
        n = os.write(fd, BLOCK[:min(left, MiB)])
        left -= n
    return fd


def main():
    mode, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == 'fsync':
        fd = write_file(os.path.join(d, 'fsync.dat'), n)
        res = with_prober(d, lambda: os.fsync(fd))
        os.close(fd)
    elif mode == 'truncate':
        fd = write_file(os.path.join(d, 'truncate.dat'), n)
        res = with_prober(d, lambda: os.ftruncate(fd, 0))
        os.close(fd)
    elif mode in ('otrunc', 'otrunc-setid'):
        p = os.path.join(d, mode + '.dat')
        os.close(write_file(p, n))
        if mode == 'otrunc-setid':
            os.chmod(p, 0o6755)
        fds = []
        res = with_prober(d, lambda: fds.append(os.open(p, os.O_WRONLY | os.O_TRUNC)))
        if os.fstat(fds[0]).st_size != 0:
            sys.exit('%s holds %d bytes after O_TRUNC' % (p, os.fstat(fds[0]).st_size))
        os.close(fds[0])
    elif mode == 'unlink':
        p = os.path.join(d, 'unlink.dat')
        fd = write_file(p, n)
        os.fsync(fd)
        os.close(fd)

        def unlink():
            os.unlink(p)
            time.sleep(1)

        res = with_prober(d, unlink)
    elif mode == 'copy':
        src = os.open(sys.argv[4], os.O_RDONLY)
        dst = os.open(os.path.join(d, 'copy.dat'), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        if os.fstat(src).st_size != n:
            sys.exit('%s holds %d bytes, expected %d' % (sys.argv[4], os.fstat(src).st_size, n))

        def copy():
            left = n
            while left:
                c = os.copy_file_range(src, dst, left)
                if c <= 0:
                    raise OSError('copy_file_range returned %d with %d bytes left' % (c, left))
                left -= c

        res = with_prober(d, copy)
        os.close(src)
        if os.fstat(dst).st_size != n:
            sys.exit('the copy holds %d bytes, expected %d' % (os.fstat(dst).st_size, n))
        os.close(dst)
    elif mode == 'fsync4k':
        fd = os.open(os.path.join(d, 'small.dat'), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        block = b'z' * 4096
        os.pwrite(fd, block, 0)
        os.fsync(fd)
        t0 = now()
        for i in range(n):
            os.pwrite(fd, block, (i % 256) * 4096)
            os.fsync(fd)
        res = {'us_per_op': (now() - t0) / n * 1e6}
        os.close(fd)
    else:
        sys.exit('unknown mode ' + mode)
    print(json.dumps(res))


main()
