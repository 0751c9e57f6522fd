# Manager().dict() get + set of 1024 keys; prints the median ops/s.
import multiprocessing as mp, statistics, sys, time

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with mp.Manager() as m:
        d = m.dict()
        for i in range(1024):
            d["k%d" % i] = 0
        rates = []
        for _ in range(5):
            t0 = time.perf_counter()
            for i in range(n):
                k = "k%d" % (i & 1023)
                d[k] = d[k] + 1
            rates.append(2 * n / (time.perf_counter() - t0))
        print(statistics.median(rates))

if __name__ == "__main__":
    main()
