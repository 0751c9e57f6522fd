"""Unbounded queue throughput between threads: `spsc N` or `mpmc N` (4x4).
queue.SimpleQueue, the expert's choice for an unbounded FIFO without
task_done/join (a C implementation; ours is compared unbounded too).
Prints the median items/s of 5 runs."""
import queue
import statistics
import sys
import threading
import time


def run(kind, n):
    q = queue.SimpleQueue()
    np = nc = 1 if kind == "spsc" else 4
    per_p, per_c = n // np, n // nc

    def prod():
        put = q.put
        for i in range(per_p):
            put(i)

    def cons():
        get = q.get
        for _ in range(per_c):
            get()

    ts = [threading.Thread(target=cons) for _ in range(nc)]
    ts += [threading.Thread(target=prod) for _ in range(np)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return n / (time.perf_counter() - t0)


kind, n = sys.argv[1], int(sys.argv[2])
print(statistics.median(run(kind, n) for _ in range(5)))
