# Pool(2).apply_async(f, (x,)).get() one at a time; prints median calls/s.
import multiprocessing as mp, statistics, sys, time

def square(x):
    return x * x + 1

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as p:
        p.apply(square, (1,))
        rates = []
        for _ in range(5):
            t0 = time.perf_counter()
            for i in range(n):
                p.apply_async(square, (i,)).get()
            rates.append(n / (time.perf_counter() - t0))
    print(statistics.median(rates))

if __name__ == "__main__":
    main()
