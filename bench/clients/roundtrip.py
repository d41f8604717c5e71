"""Round-trip client. Prints JSON {"us_per_op": ...}; interpreter start-up is
not timed.

usage: roundtrip.py negative <dir> <n>   stat of n distinct missing names
       roundtrip.py stat <dir> <n>       n stats of <dir>/f (which must exist)
"""
import json
import os
import sys
import time

mode, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
f = os.path.join(d, 'f')
os.stat(f)
st = os.stat
if mode == 'negative':
    names = [os.path.join(d, 'missing-%d' % i) for i in range(n)]
    t0 = time.perf_counter()
    for p in names:
        try:
            st(p)
        except FileNotFoundError:
            pass
        else:
            sys.exit('%s exists' % p)
    t1 = time.perf_counter()
elif mode == 'stat':
    t0 = time.perf_counter()
    for _ in range(n):
        st(f)
    t1 = time.perf_counter()
else:
    sys.exit('unknown mode ' + mode)
print(json.dumps({'us_per_op': (t1 - t0) / n * 1e6}))
