# ProcessPoolExecutor(2): submit(f, x).result() one at a time; prints the
# median calls/s.
import concurrent.futures as cf, multiprocessing as mp, statistics, sys, time

def square(x):
    return x * x + 1

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex:
        ex.submit(square, 1).result()
        rates = []
        for _ in range(5):
            t0 = time.perf_counter()
            for i in range(n):
                ex.submit(square, i).result()
            rates.append(n / (time.perf_counter() - t0))
    print(statistics.median(rates))

if __name__ == "__main__":
    main()
