"""Redis: events/s and latency through buses sharing a Redis stream, vs raw redis-py in the same run.

- ``bus``: N ``EventBus`` servers on one ``RedisBackend`` stream each (own connections), in one process
  and loop; server 0 emits M events (in bursts of 1000, yielding between them) and every server
  delivers every event to one counting subscriber. This includes everything: encode, outbox, pipelined
  XADD, XREAD, decode, build the message, stamp, record in the history, deliver.
- ``raw``: one redis-py connection XADDs the same fields in pipelines of 1000; N connections XREAD
  (BLOCK, COUNT 1000) from the start id and count entries. No decoding, no messages, no history.
- Latency: time from the emitter's ``at`` to delivery, at a paced rate (1000 events/s) so it shows
  the path, not a queue; p50 and p99 over every delivery of every server.

Redis: ``RESOTO_RX_REDIS_URL`` if set, else a private ``redis-server`` on a free port (skipped without one).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio

from benchmarks.common import Result
from resoto_rx import EventBus, Message
from resoto_rx.backends import RedisBackend
from resoto_rx.backends.local import LocalRedis
from resoto_rx.codec import encode_data

SECTION = "redis"
SERVERS = (1, 10)
BURST = 1000


class Counter:
    """Counts deliveries; keeps the latency of each when asked to."""

    def __init__(self, latencies: list[float] | None = None) -> None:
        self.n = 0
        self.latencies = latencies

    def hit(self, message: Message) -> None:
        self.n += 1
        if self.latencies is not None and message.at is not None:
            self.latencies.append(time.time() - message.at.timestamp())


async def _wait(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"benchmark stalled waiting for {what}")
        await asyncio.sleep(0.001)


async def run_bus(url: str, servers: int, messages: int, pace: float | None = None) -> tuple[float, list[float]]:
    """Seconds until every server delivered ``messages`` events; latencies when paced."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    buses = []
    for i in range(servers):
        backend = RedisBackend(url, prefix=prefix, name=f"s{i}", maxlen=10 * messages)
        buses.append(EventBus(backend.history(10_000), transport=backend.transport))
    latencies: list[float] = []
    counters = [Counter(latencies if pace else None) for _ in buses]
    for bus, counter in zip(buses, counters, strict=True):
        bus.listen("bench").subscribe(counter.hit)
    start = time.perf_counter()
    emit = buses[0].emit
    for i in range(messages):
        emit("bench", {"n": i, "cloud": "aws", "count": i % 97})
        if pace is not None:
            await asyncio.sleep(pace)
        elif i % BURST == BURST - 1:
            await asyncio.sleep(0)
    await _wait(lambda: all(c.n == messages for c in counters), "bus deliveries")
    elapsed = time.perf_counter() - start
    for bus in buses:
        bus.close()
    for bus in buses:
        await bus.transport.wait_closed()  # type: ignore[attr-defined]
    await _drop(url, prefix)
    return elapsed, latencies


async def run_raw(url: str, servers: int, messages: int) -> float:
    """Seconds until N raw XREAD connections read ``messages`` entries XADDed in pipelines."""
    key = f"bench-raw-{uuid.uuid4().hex[:8]}"
    producer = redis.asyncio.Redis.from_url(url)
    readers = [redis.asyncio.Redis.from_url(url) for _ in range(servers)]
    data = encode_data({"n": 0, "cloud": "aws", "count": 0})

    async def consume(client: redis.asyncio.Redis) -> None:
        cursor, got = "0-0", 0
        while got < messages:
            response = await client.xread({key: cursor}, count=BURST, block=1000)
            for _, entries in response or ():
                got += len(entries)
                cursor = entries[-1][0]

    start = time.perf_counter()
    consumers = [asyncio.create_task(consume(c)) for c in readers]
    for first in range(0, messages, BURST):
        async with producer.pipeline(transaction=False) as pipe:
            for _ in range(min(BURST, messages - first)):
                fields = {"kind": "event", "message_type": "bench", "data": data, "at": repr(time.time())}
                pipe.xadd(key, fields)  # type: ignore[arg-type]
            await pipe.execute()
    await asyncio.gather(*consumers)
    elapsed = time.perf_counter() - start
    await producer.delete(key)
    for client in (producer, *readers):
        await client.aclose()
    return elapsed


async def _drop(url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def _best(repeats: int, run: Callable[[], Awaitable[float]]) -> float:
    return min([await run() for _ in range(repeats)])


async def measure(url: str, quick: bool) -> list[Result]:
    messages = 2_000 if quick else 20_000
    repeats = 1 if quick else 3
    paced = 300 if quick else 3_000
    results: list[Result] = []
    print(f"\n== {SECTION}: events/s through a shared Redis stream, {messages} events, best of {repeats} ==")
    print(f"{'servers':>7} {'variant':<6} {'events/s':>10} {'deliveries/s':>13} {'p50 ms':>7} {'p99 ms':>7}")
    for n in SERVERS:
        bus_s = raw_s = float("inf")
        for _ in range(repeats):  # interleaved: a noisy moment hits both alike
            bus_s = min(bus_s, (await run_bus(url, n, messages))[0])
            raw_s = min(raw_s, await run_raw(url, n, messages))
        _, latencies = await run_bus(url, n, paced, pace=0.001)
        p50 = statistics.median(latencies) * 1000
        p99 = statistics.quantiles(latencies, n=100)[98] * 1000
        for variant, seconds in (("bus", bus_s), ("raw", raw_s)):
            shown = f"{p50:>7.2f} {p99:>7.2f}" if variant == "bus" else f"{'':>7} {'':>7}"
            print(f"{n:>7} {variant:<6} {messages / seconds:>10,.0f} {messages * n / seconds:>13,.0f} {shown}")
        ratio = raw_s / bus_s
        print(f"        bus/raw {ratio:.2f}x")
        tag = f"{n} server" + ("s" if n > 1 else "")
        results += [
            Result(SECTION, f"bus, {tag}: events/s", messages / bus_s, "/s"),
            Result(SECTION, f"raw XADD/XREAD, {tag}: events/s", messages / raw_s, "/s"),
            Result(SECTION, f"bus/raw, {tag}", ratio, "x", ">= 0.7x", ratio >= 0.7),
            Result(SECTION, f"bus latency p50, {tag} (1k ev/s)", p50, "ms"),
            Result(SECTION, f"bus latency p99, {tag} (1k ev/s)", p99, "ms"),
        ]
    return results


def run(quick: bool = False) -> list[Result]:
    url = os.environ.get("RESOTO_RX_REDIS_URL")
    if url:
        return asyncio.run(measure(url, quick))
    if shutil.which("redis-server") is None:
        print(f"\n== {SECTION}: skipped (no RESOTO_RX_REDIS_URL and no redis-server binary) ==")
        return []
    with LocalRedis() as server:
        return asyncio.run(measure(server.url, quick))


if __name__ == "__main__":
    run(quick=True)
