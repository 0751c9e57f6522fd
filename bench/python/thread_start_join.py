# Python baseline: threading.Thread start + join of an empty function.
# Prints the median cost in microseconds per thread over 5 repetitions.
import statistics, sys, threading, time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000

def f():
    pass

def rep():
    t0 = time.perf_counter()
    for _ in range(n):
        t = threading.Thread(target=f)
        t.start()
        t.join()
    return (time.perf_counter() - t0) / n * 1e6

rep()  # warm up
print(statistics.median(rep() for _ in range(5)))
