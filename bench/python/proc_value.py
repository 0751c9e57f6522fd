# Value('i') incremented under its lock; prints the median ops/s.
import multiprocessing as mp, statistics, sys, time

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    v = mp.Value("i", 0)
    rates = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            with v.get_lock():
                v.value += 1
        rates.append(n / (time.perf_counter() - t0))
    print(statistics.median(rates))

if __name__ == "__main__":
    main()
