# Popen(['cat']).communicate(input) of N MiB each way; prints the median ms/op
# of REPS runs (argv[2], default 3).
import statistics, subprocess, sys, time

def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    data = bytes(range(256)) * (mib * 4096)
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    costs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        out, _ = p.communicate(data)
        costs.append((time.perf_counter() - t0) * 1e3)
        assert out == data
    print(statistics.median(costs))

if __name__ == "__main__":
    main()
