# Popen(['cat']).communicate(input) of N MiB each way; prints the median ms/op.
import statistics, subprocess, sys, time

def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    data = bytes(range(256)) * (mib * 4096)
    costs = []
    for _ in range(3):
        t0 = time.perf_counter()
        p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        out, _ = p.communicate(data)
        costs.append((time.perf_counter() - t0) * 1e3)
        assert out == data
    print(statistics.median(costs))

if __name__ == "__main__":
    main()
