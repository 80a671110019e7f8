"""What a dependency call's slot costs: the `concurrency_limit` semaphore alone, and with
the queueing measure (`chainsc_runtime.queueing`) around it, per call, uncontended.

Usage: python bench/bench_client_slots.py [calls]. Prints µs per call for the sync and async
slot (acquire + release) both ways; the difference is what `QueueStats` adds to each call.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import threading
import time

from chainsc_runtime.queueing import QueueStats


def _sync(calls: int, measured: bool) -> float:
    slots = threading.BoundedSemaphore(32)
    stats = QueueStats("Dep", 32, logging.getLogger("bench"))
    started = time.perf_counter()
    for _ in range(calls):
        if measured:
            since = stats.queued()
            slots.acquire()
            stats.acquired(since)
            slots.release()
            stats.released()
        else:
            slots.acquire()
            slots.release()
    return (time.perf_counter() - started) / calls * 1e6


async def _async(calls: int, measured: bool) -> float:
    slots = asyncio.Semaphore(32)
    stats = QueueStats("Dep", 32, logging.getLogger("bench"))
    started = time.perf_counter()
    for _ in range(calls):
        if measured:
            since = stats.queued()
            await slots.acquire()
            stats.acquired(since)
            slots.release()
            stats.released()
        else:
            await slots.acquire()
            slots.release()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000

    def sync(measured: bool) -> float:
        return _sync(calls, measured)

    def in_loop(measured: bool) -> float:
        return asyncio.run(_async(calls, measured))

    for name, run in (("sync", sync), ("async", in_loop)):
        bare = statistics.median(run(False) for _ in range(5))
        measured = statistics.median(run(True) for _ in range(5))
        print(
            f"{name}: slot {bare:.2f} µs, with the queueing measure {measured:.2f} µs "
            f"(+{measured - bare:.2f} µs per call)"
        )


if __name__ == "__main__":
    main()
