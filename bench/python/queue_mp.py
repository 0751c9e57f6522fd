"""multiprocessing.SimpleQueue (a pipe and a lock, no feeder thread: the
expert's choice for one producer), 64-byte messages from a child process to
the parent: `N`.  Prints the median messages/s of 5 runs."""
import multiprocessing as mp
import statistics
import sys
import time


def producer(q, n):
    msg = b"x" * 64
    for _ in range(n):
        q.put(msg)


def run(n):
    q = mp.SimpleQueue()
    p = mp.Process(target=producer, args=(q, n))
    t0 = time.perf_counter()
    p.start()
    for _ in range(n):
        q.get()
    p.join()
    return n / (time.perf_counter() - t0)


if __name__ == "__main__":
    mp.set_start_method("fork")
    n = int(sys.argv[1])
    print(statistics.median(run(n) for _ in range(5)))
