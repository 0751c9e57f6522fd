# Process start + join with the fork start method; prints the median procs/s.
import multiprocessing as mp, statistics, sys, time

def nothing():
    pass

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    ctx = mp.get_context("fork")
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            p = ctx.Process(target=nothing)
            p.start()
            p.join()
        rates.append(n / (time.perf_counter() - t0))
    print(statistics.median(rates))

if __name__ == "__main__":
    main()
