# Python baselines for bench/futures: ThreadPoolExecutor(W).
# usage: futures_pool.py MODE N W   MODE = submit | latency | map
# Prints the median rate (items/s) of 5 repetitions.
import statistics, sys, time
from concurrent.futures import ThreadPoolExecutor

def triv(x):
    return x * 2

def submit_all(ex, n):
    t = time.perf_counter()
    fs = [ex.submit(triv, i) for i in range(n)]
    for i, f in enumerate(fs):
        assert f.result() == 2 * i
    return n / (time.perf_counter() - t)

def latency(ex, n):
    t = time.perf_counter()
    for i in range(n):
        ex.submit(triv, i).result()
    return n / (time.perf_counter() - t)

def map_(ex, n):
    t = time.perf_counter()
    r = list(ex.map(triv, range(n)))
    assert r[-1] == 2 * (n - 1)
    return n / (time.perf_counter() - t)

mode, n, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fn = {"submit": submit_all, "latency": latency, "map": map_}[mode]
with ThreadPoolExecutor(w) as ex:
    fn(ex, min(n, 1000))  # warm up: start the workers
    print(statistics.median(fn(ex, n) for _ in range(5)))
