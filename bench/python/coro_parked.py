"""Python reference for bench/coro (bench_tasks): resident bytes per
coroutine parked in a queue get, VmRSS growth with all N parked.
usage: coro_parked.py gevent|asyncio N   (prints bytes per coroutine)
gevent: N greenlets blocked in gevent.queue.Queue().get() (python3-gevent);
asyncio: N tasks awaiting asyncio.Queue().get() (Debian's python3).
Validated: every coroutine then receives exactly one item."""
import sys


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return -1


def run_gevent(n):
    import gevent
    import gevent.queue
    q = gevent.queue.Queue()
    got = []
    before = rss()
    gs = [gevent.spawn(lambda: got.append(q.get())) for _ in range(n)]
    gevent.sleep(0)  # every greenlet runs and parks
    parked = rss()
    for i in range(n):
        q.put(i + 1)
    gevent.joinall(gs)
    assert len(got) == n and sum(got) == n * (n + 1) // 2
    return (parked - before) / n


def run_asyncio(n):
    import asyncio

    async def main():
        q = asyncio.Queue()
        got = []

        async def getter():
            got.append(await q.get())
        before = rss()
        ts = [asyncio.ensure_future(getter()) for _ in range(n)]
        await asyncio.sleep(0)  # every task runs and parks
        parked = rss()
        for i in range(n):
            q.put_nowait(i + 1)
        await asyncio.gather(*ts)
        assert len(got) == n and sum(got) == n * (n + 1) // 2
        return (parked - before) / n
    return asyncio.run(main())


kind, n = sys.argv[1], int(sys.argv[2])
print(run_gevent(n) if kind == "gevent" else run_asyncio(n))
