# Python reference: asyncio's loop.call_later (a heap in the event loop, the
# expert's way to hold many timers): schedule n timers 100-110 s ahead, then
# cancel them all; prints timers per second, the median of 5 repetitions.
import asyncio, statistics, sys, time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000


def f():
    pass


async def rep():
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    hs = [loop.call_later(100.0 + (i % 1000) / 100, f) for i in range(n)]
    for h in hs:
        h.cancel()
    return n / (time.perf_counter() - t0)


async def main():
    await rep()
    print(statistics.median([await rep() for _ in range(5)]))

asyncio.run(main())
