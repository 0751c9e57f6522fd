# Pool(2).map of a trivial function over N items with the given chunksize
# (0 = Python's default chunking); prints the median items/s of 5 runs.
import multiprocessing as mp, statistics, sys, time

def square(x):
    return x * x + 1

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    cs = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as p:
        p.map(square, range(100))  # warm up
        rates = []
        for _ in range(reps):
            t0 = time.perf_counter()
            if cs:
                p.map(square, range(n), cs)
            else:
                p.map(square, range(n))
            rates.append(n / (time.perf_counter() - t0))
    print(statistics.median(rates))

if __name__ == "__main__":
    main()
