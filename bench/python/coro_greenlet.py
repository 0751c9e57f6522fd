"""Python baseline for bench/coro: greenlet switch there and back with a
value (python3-greenlet), ns per round trip; prints the median of 5 runs.
usage: coro_greenlet.py N"""
import statistics, sys, time
from greenlet import greenlet, getcurrent

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000

def rep():
    main = getcurrent()
    def body(v):
        while True:
            v = main.switch(v + 1)
    g = greenlet(body)
    t0 = time.perf_counter()
    v = 0
    for i in range(n):
        v = g.switch(i)
    dt = time.perf_counter() - t0
    assert v == n
    g.throw()  # GreenletExit: it finishes
    return dt * 1e9 / n

rep()
print(statistics.median(rep() for _ in range(5)))
