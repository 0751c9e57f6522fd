"""Baseline for bench/sched (sched_policies): a plain Python event simulation
of every mtsched policy at its defaults (fcfs sjf srtf priority ppriority hrrn
rr q=4, mlfq quanta 1,2,4), with the mtsched rules for CPU-only workloads
(docs/mtsched.md: at one tick arrivals first, then the running slice ends
and an expired one joins the tail, then the preemption test, then dispatch;
ties to (arrival, line)), reading an mtsched workload and writing the same
kind of JSON document as sched_rr.py.  The ready sets are what a Python
programmer would write: deques, heapq, and for HRRN a scan of the ready list
(O(n) per dispatch, the textbook way).
Usage: sched_all.py POLICY WORKLOAD OUT.json [REPS]   prints median seconds
       sched_all.py --mem POLICY WORKLOAD OUT.json    prints peak bytes per process
       sched_all.py --check POLICY WORKLOAD OUT.json  prints the sum of finish times"""
import collections
import heapq
import json
import resource
import statistics
import sys
import time


def read(path):
    procs = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                procs.append((line[0], int(line[1]), int(line[2]),
                              int(line[3]) if len(line) > 3 else 0))
    return procs


def simulate(policy, procs):
    n = len(procs)
    order = sorted(range(n), key=lambda i: (procs[i][1], i))
    rank = [0] * n
    for r, i in enumerate(order):
        rank[i] = r
    rem = [p[2] for p in procs]
    start, finish, level = [-1] * n, [0] * n, [0] * n
    gantt = []
    quanta = [1, 2, 4]
    fifo = policy in ("fcfs", "rr")
    dq = collections.deque()
    heap = []
    mq = [collections.deque() for _ in quanta]
    scan = []
    since = [0] * n

    def push(i, now):
        if fifo:
            dq.append(i)
        elif policy in ("sjf", "srtf"):
            heapq.heappush(heap, (rem[i], rank[i], i))
        elif policy in ("priority", "ppriority"):
            heapq.heappush(heap, (procs[i][3], rank[i], i))
        elif policy == "mlfq":
            mq[level[i]].append(i)
        else:
            since[i] = now
            scan.append(i)

    def nready():
        if fifo:
            return len(dq)
        if policy == "mlfq":
            return sum(len(q) for q in mq)
        return len(heap) if heap else len(scan)

    def take(now):
        if fifo:
            return dq.popleft()
        if policy == "mlfq":
            for q in mq:
                if q:
                    return q.popleft()
        if policy != "hrrn":
            return heapq.heappop(heap)[2]
        best = 0
        for k in range(1, len(scan)):  # (w + b) / b, exactly, ties to rank
            a, b = scan[k], scan[best]
            x = (now - since[a] + rem[a]) * rem[b]
            y = (now - since[b] + rem[b]) * rem[a]
            if x > y or (x == y and rank[a] < rank[b]):
                best = k
        i = scan[best]
        scan[best] = scan[-1]
        scan.pop()
        return i

    def add(name, a, b):
        if b <= a:
            return
        if gantt and gantt[-1]["name"] == name and gantt[-1]["end"] == a and name is not None:
            gantt[-1]["end"] = b
        else:
            gantt.append({"name": name, "start": a, "end": b})

    now = procs[order[0]][1]
    nxt, done, cur, run_start, run_end, idle_since = 0, 0, -1, 0, 0, now
    while True:
        while nxt < n and procs[order[nxt]][1] == now:
            push(order[nxt], now)
            nxt += 1
        if cur >= 0 and run_end == now:
            ran = now - run_start
            rem[cur] -= ran
            add(procs[cur][0], run_start, now)
            if rem[cur] == 0:
                finish[cur] = now
                done += 1
            else:
                if policy == "mlfq" and level[cur] < len(quanta) - 1:
                    level[cur] += 1
                push(cur, now)
            cur, idle_since = -1, now
            if done == n:
                break
        if cur >= 0 and nready():
            pre = False
            if policy == "srtf":
                pre = heap[0][0] < rem[cur] - (now - run_start)
            elif policy == "ppriority":
                pre = heap[0][0] < procs[cur][3]
            elif policy == "mlfq":
                pre = any(mq[l] for l in range(level[cur]))
            if pre:
                rem[cur] -= now - run_start
                add(procs[cur][0], run_start, now)
                push(cur, now)
                cur, idle_since = -1, now
        if cur < 0 and nready():
            add(None, idle_since, now)
            cur, run_start = take(now), now
            if start[cur] < 0:
                start[cur] = now
            q = 4 if policy == "rr" else quanta[level[cur]] if policy == "mlfq" else rem[cur]
            run_end = now + min(q, rem[cur])
        t = procs[order[nxt]][1] if nxt < n else None
        if cur >= 0 and (t is None or run_end < t):
            t = run_end
        now = t
    rows, st, sw, sr = [], 0, 0, 0
    for i, (name, arrival, burst, prio) in enumerate(procs):
        t = finish[i] - arrival
        rows.append({"name": name, "arrival": arrival, "bursts": [burst], "priority": prio,
                     "start": start[i], "finish": finish[i], "turnaround": t,
                     "waiting": t - burst, "response": start[i] - arrival})
        st, sw, sr = st + t, sw + t - burst, sr + start[i] - arrival
    return {"policy": policy, "processes": rows,
            "averages": {"turnaround": st / n, "waiting": sw / n, "response": sr / n},
            "makespan": max(finish) - procs[order[0]][1], "gantt": gantt}


def run(policy, path, out):
    doc = simulate(policy, read(path))
    with open(out, "w") as f:
        f.write(json.dumps(doc))  # json.dumps: the C encoder (json.dump streams through the pure-Python one)
    return doc


def main():
    args = sys.argv[1:]
    if args[0] in ("--mem", "--check"):
        mode, args = args[0], args[1:]
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        doc = run(*args[:3])
        if mode == "--check":
            print(sum(p["finish"] for p in doc["processes"]))
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print((peak - base) * 1024 / len(doc["processes"]))
        return
    reps = int(args[3]) if len(args) > 3 else 3
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run(*args[:3])
        times.append(time.perf_counter() - t0)
    print(statistics.median(times))


if __name__ == "__main__":
    main()
