# Python baseline: threading.Timer scheduled then cancelled (each Timer is a
# thread).  Python cannot hold 100k pending timers (100k threads), so it
# schedules n, cancels n, and the rate is timers per second; the threads
# are joined outside the timed part.  Prints the median over 5 repetitions.
import statistics, sys, threading, time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

def f():
    pass

def rep():
    t0 = time.perf_counter()
    ts = [threading.Timer(100.0, f) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.cancel()
    dt = time.perf_counter() - t0
    for t in ts:
        t.join()
    return n / dt

rep()
print(statistics.median(rep() for _ in range(5)))
