"""Python baselines for bench/sync: prints the median of 5 runs.
usage: sync_lock.py uncontended|contended|event"""
import statistics, sys, threading, time

def uncontended(n=1_000_000):
    l = threading.Lock()
    t0 = time.perf_counter()
    for _ in range(n):
        l.acquire(); l.release()
    return (time.perf_counter() - t0) * 1e9 / n

def contended(n=400_000):
    l = threading.Lock()
    box = [0]
    def work():
        for _ in range(n // 2):
            with l:
                box[0] += 1
    ts = [threading.Thread(target=work) for _ in range(2)]
    t0 = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    return (time.perf_counter() - t0) * 1e9 / n

def event(rounds=5_000):
    e = [threading.Event(), threading.Event()]
    def echo():
        for _ in range(rounds):
            e[0].wait(); e[0].clear(); e[1].set()
    t = threading.Thread(target=echo); t.start()
    t0 = time.perf_counter()
    for _ in range(rounds):
        e[0].set(); e[1].wait(); e[1].clear()
    t.join()
    return rounds / (time.perf_counter() - t0)

fn = {"uncontended": uncontended, "contended": contended, "event": event}[sys.argv[1]]
print(statistics.median(fn() for _ in range(5)))
