"""multiprocessing.Pipe(duplex=False): `SIZE N` messages of SIZE bytes from
a child process to the parent.  Prints the median messages/s of 5 runs."""
import multiprocessing as mp
import statistics
import sys
import time


def producer(w, size, n):
    msg = b"x" * size
    for _ in range(n):
        w.send_bytes(msg)
    w.close()


def run(size, n):
    r, w = mp.Pipe(duplex=False)
    p = mp.Process(target=producer, args=(w, size, n))
    t0 = time.perf_counter()
    p.start()
    w.close()
    for _ in range(n):
        r.recv_bytes()
    p.join()
    return n / (time.perf_counter() - t0)


if __name__ == "__main__":
    mp.set_start_method("fork")
    size, n = int(sys.argv[1]), int(sys.argv[2])
    print(statistics.median(run(size, n) for _ in range(5)))
