# subprocess.run(['/bin/true']) (spawn + wait); prints the median us/op.
import statistics, subprocess, sys, time

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    costs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            subprocess.run(["/bin/true"])
        costs.append((time.perf_counter() - t0) / n * 1e6)
    print(statistics.median(costs))

if __name__ == "__main__":
    main()
