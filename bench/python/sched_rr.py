"""Baseline for bench/sched: a plain Python event simulation of round robin
(quantum 4, the mtsched rules: an arrival at t enters the ready queue before
the process whose quantum expired at t), reading a CPU-only mtsched workload
and writing the same JSON document (processes, averages, gantt) with the
json module.  Usage: sched_rr.py WORKLOAD OUT.json [REPS]; prints the median
seconds of REPS runs (OSTEP's scheduler.py is the model of this kind of tool).
bench/sched runs it on 10^5 processes (a 10^6 run takes about a minute here)
and compares rates, processes per second, at equal work per process."""
import collections
import json
import statistics
import sys
import time


def simulate(path, out, q=4):
    procs = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            name, arrival, burst = line[0], int(line[1]), int(line[2])
            prio = int(line[3]) if len(line) > 3 else 0
            procs.append([name, arrival, burst, prio])
    order = sorted(range(len(procs)), key=lambda i: (procs[i][1], i))
    rem = [p[2] for p in procs]
    start = [-1] * len(procs)
    finish = [0] * len(procs)
    gantt = []
    ready = collections.deque()
    now = procs[order[0]][1]
    nxt = 0
    done = 0
    last = -1

    def admit(t):
        nonlocal nxt
        while nxt < len(order) and procs[order[nxt]][1] <= t:
            ready.append(order[nxt])
            nxt += 1

    def add(name, a, b):
        if gantt and gantt[-1]["name"] == name and gantt[-1]["end"] == a and name is not None:
            gantt[-1]["end"] = b
        else:
            gantt.append({"name": name, "start": a, "end": b})

    admit(now)
    while done < len(procs):
        if not ready:
            t = procs[order[nxt]][1]
            add(None, now, t)
            now = t
            admit(now)
            continue
        i = ready.popleft()
        if start[i] < 0:
            start[i] = now
        run = min(q, rem[i])
        add(procs[i][0], now, now + run)
        now += run
        rem[i] -= run
        admit(now)
        if rem[i]:
            ready.append(i)
        else:
            finish[i] = now
            done += 1
    rows, st, sw, sr = [], 0, 0, 0
    for i, (name, arrival, burst, prio) in enumerate(procs):
        t = finish[i] - arrival
        rows.append({"name": name, "arrival": arrival, "bursts": [burst], "priority": prio,
                     "start": start[i], "finish": finish[i], "turnaround": t,
                     "waiting": t - burst, "response": start[i] - arrival})
        st, sw, sr = st + t, sw + t - burst, sr + start[i] - arrival
    n = len(procs)
    doc = {"policy": "rr", "processes": rows,
           "averages": {"turnaround": st / n, "waiting": sw / n, "response": sr / n},
           "makespan": max(finish) - procs[order[0]][1], "gantt": gantt}
    with open(out, "w") as f:
        f.write(json.dumps(doc))  # json.dumps: the C encoder (json.dump streams through the pure-Python one)


def main():
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        simulate(sys.argv[1], sys.argv[2])
        times.append(time.perf_counter() - t0)
    print(statistics.median(times))


if __name__ == "__main__":
    main()
