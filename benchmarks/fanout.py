"""Fan-out: messages delivered per second to 1, 10 and 100 subscribers.

Four ways to deliver the same stream, interleaved in each repeat so noise hits all of them alike:

- ``eventbus``: resoto_rx ``EventBus`` (default history), ``bus.listen().subscribe(fn)`` N times and
  ``bus.emit("x", {"n": i})`` on the owning thread: builds, encodes, stamps, records and delivers.
- ``subject``: a raw ``reactivex.subject.Subject`` with N subscribers, ``on_next`` of one pre-built message.
- ``queue-bus``: resotocore 3.9's design (``MessageBus``): one unbounded ``asyncio.Queue`` per subscriber,
  the emitter builds the message and ``await queue.put(msg)`` for each listener of its channel and of
  ``*``; one consumer task per subscriber ``await queue.get()``. The emitter yields to the loop every
  64 messages (in resotocore emits come from many coroutines). resotocore's eager debug-log f-string
  in ``emit`` is left out, which only flatters the queue bus.
- ``loop``: a plain ``for fn in callbacks: fn(msg)`` -- the floor.

Every subscriber is the same counting callback; the delivered count is checked after each run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from reactivex.subject import Subject

from benchmarks.common import Result, timed
from resoto_rx import EventBus, Message
from resoto_rx.messages import Event

SECTION = "fanout"
SUBSCRIBERS = (1, 10, 100)
VARIANTS = ("eventbus", "subject", "queue-bus", "loop")


class Counter:
    """The subscriber: counts what it receives."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def hit(self, _: object) -> None:
        self.n += 1


def _check(counters: list[Counter], messages: int, variant: str) -> None:
    got = sum(c.n for c in counters)
    if got != messages * len(counters):
        raise RuntimeError(f"{variant}: delivered {got}, expected {messages * len(counters)}")


def run_eventbus(subscribers: int, messages: int) -> float:
    loop = asyncio.new_event_loop()
    try:
        bus = EventBus(loop=loop)
        counters = [Counter() for _ in range(subscribers)]
        for counter in counters:
            bus.listen().subscribe(counter.hit)
        emit = bus.emit

        def go() -> None:
            for i in range(messages):
                emit("x", {"n": i})

        elapsed = timed(go)
        bus.close()
        _check(counters, messages, "eventbus")
        return elapsed
    finally:
        loop.close()


def run_subject(subscribers: int, messages: int) -> float:
    subject: Subject[Message] = Subject()
    counters = [Counter() for _ in range(subscribers)]
    for counter in counters:
        subject.subscribe(counter.hit)
    message = Event("x", {"n": 0})
    on_next = subject.on_next

    def go() -> None:
        for _ in range(messages):
            on_next(message)

    elapsed = timed(go)
    _check(counters, messages, "subject")
    return elapsed


class QueueMessage:
    """A resotocore-3.9-style message: a type and a copied data dict."""

    __slots__ = ("data", "message_type")

    def __init__(self, message_type: str, data: Mapping[str, Any] | None = None) -> None:
        self.message_type = message_type
        self.data = dict(data) if data else {}


class QueueBus:
    """resotocore's MessageBus reduced to its delivery path: channel -> list of asyncio queues."""

    def __init__(self) -> None:
        self.listeners: dict[str, list[asyncio.Queue[QueueMessage | None]]] = {}

    def subscribe(self, channel: str = "*") -> asyncio.Queue[QueueMessage | None]:
        queue: asyncio.Queue[QueueMessage | None] = asyncio.Queue()  # unbounded, as resotocore's default
        self.listeners.setdefault(channel, []).append(queue)
        return queue

    async def emit(self, message: QueueMessage | None, message_type: str = "x") -> None:
        for name in (message_type, "*"):
            for queue in self.listeners.get(name, ()):
                await queue.put(message)


async def _consume(queue: asyncio.Queue[QueueMessage | None], on_next: Callable[[QueueMessage], None]) -> None:
    while True:
        message = await queue.get()
        if message is None:  # end of the run
            return
        on_next(message)


def run_queue_bus(subscribers: int, messages: int) -> float:
    async def main() -> float:
        bus = QueueBus()
        counters = [Counter() for _ in range(subscribers)]
        consumers = [asyncio.create_task(_consume(bus.subscribe(), c.hit)) for c in counters]
        await asyncio.sleep(0)  # consumers start waiting on their queues
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(messages):
            await bus.emit(QueueMessage("x", {"n": i}))
            if i % 64 == 63:
                await asyncio.sleep(0)
        await bus.emit(None)
        await asyncio.gather(*consumers)
        elapsed = loop.time() - start
        _check(counters, messages, "queue-bus")
        return elapsed

    return asyncio.run(main())


def run_loop(subscribers: int, messages: int) -> float:
    counters = [Counter() for _ in range(subscribers)]
    callbacks = [c.hit for c in counters]
    message = Event("x", {"n": 0})

    def go() -> None:
        for _ in range(messages):
            for callback in callbacks:
                callback(message)

    elapsed = timed(go)
    _check(counters, messages, "loop")
    return elapsed


RUNNERS: dict[str, Callable[[int, int], float]] = {
    "eventbus": run_eventbus,
    "subject": run_subject,
    "queue-bus": run_queue_bus,
    "loop": run_loop,
}


def run(quick: bool = False) -> list[Result]:
    # ~1M deliveries per measurement in the full run (~60k in quick), capped so N=1 stays short.
    deliveries = 60_000 if quick else 1_000_000
    repeats = 2 if quick else 5
    results: list[Result] = []
    print(f"\n== {SECTION}: deliveries/s to N subscribers, best of {repeats} ==")
    print(f"{'N':>4} {'variant':<10} {'messages':>9} {'ns/delivery':>12} {'deliveries/s':>14}")
    for n in SUBSCRIBERS:
        messages = max(2_000, min(deliveries // n, 200_000 if not quick else 20_000))
        best = dict.fromkeys(VARIANTS, float("inf"))
        for _ in range(repeats):
            for variant in VARIANTS:  # interleaved: a noisy moment hits one repeat of each, not one variant
                best[variant] = min(best[variant], RUNNERS[variant](n, messages))
        rate: dict[str, float] = {}
        for variant in VARIANTS:
            rate[variant] = messages * n / best[variant]
            ns = best[variant] / (messages * n) * 1e9
            print(f"{n:>4} {variant:<10} {messages:>9} {ns:>12.0f} {rate[variant]:>14,.0f}")
            results.append(Result(SECTION, f"{variant}, {n} sub: deliveries/s", rate[variant], "/s"))
        vs_subject = rate["eventbus"] / rate["subject"]
        vs_queue = rate["eventbus"] / rate["queue-bus"]
        vs_loop = rate["eventbus"] / rate["loop"]
        print(
            f"     EventBus/Subject {vs_subject:.2f}x  EventBus/queue-bus {vs_queue:.2f}x  EventBus/loop {vs_loop:.2f}x"
        )
        if n == 10:
            results.append(Result(SECTION, "EventBus/Subject, 10 sub", vs_subject, "x", ">= 0.5x", vs_subject >= 0.5))
            results.append(Result(SECTION, "EventBus/queue-bus, 10 sub", vs_queue, "x", ">= 2x", vs_queue >= 2.0))
        else:
            results.append(Result(SECTION, f"EventBus/Subject, {n} sub", vs_subject, "x"))
            results.append(Result(SECTION, f"EventBus/queue-bus, {n} sub", vs_queue, "x"))
    return results


if __name__ == "__main__":
    run(quick=True)
