"""Jobs: trigger-to-body latency on a real loop, and job runs per second with 100 active jobs.

- ``latency``: one job with an ``EventTrigger``; the event carries ``time.perf_counter_ns()`` taken just
  before ``emit``, the body takes it again on entry. Measured one event at a time (the previous run has
  ended), on a running asyncio loop with the runner's default ``AsyncIOScheduler``, memory-only bus:
  - ``sync body, same thread``: a plain function, emit on the loop thread (delivery is synchronous);
  - ``async body``: an ``async def``, which starts as a task on the loop;
  - ``sync body, other thread``: emit from a second thread, handed to the loop (``call_soon_threadsafe``);
  - ``shell body (true)``: emit to the end of the process ``true`` (spawn + exit), fewer samples.
  Each run publishes task_started, progress and task_end: that work is inside the figure.
- ``throughput``: 100 active jobs with a sync body. ``own event``: job i listens to ``tick-i``, events
  round robin (one run per event); ``one event``: all 100 jobs listen to ``tick`` (100 runs per event).
  The raw peer is 100 plain bus subscribers (``bus.listen(type).subscribe(fn)``) on the same events:
  the ratio is what turning a subscriber into a job (a task with events and run history) costs.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks.common import Result, best_of
from resoto_rx import EventBus, Job, JobRegistry, Message
from resoto_rx.workflows import EventTrigger, TaskRunner

SECTION = "jobs"
JOBS = 100


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Engine:
    """A memory-only bus, a runner on the loop's scheduler (real time) and a job registry."""

    def __init__(self) -> None:
        self.bus = EventBus(history=10_000)
        self.runner = TaskRunner(self.bus, workflows=[], keep_runs=100)
        self.jobs = JobRegistry(self.runner)

    def close(self) -> None:
        self.jobs.close()
        self.runner.close()
        self.bus.close()


async def latency_sync_same_thread(samples: int) -> list[float]:
    engine = Engine()
    seen: list[float] = []

    def body(message: Message) -> None:
        seen.append((time.perf_counter_ns() - message.data["t"]) / 1000)

    engine.jobs.add(Job("ping", body, EventTrigger("ping")))
    for _ in range(samples):
        engine.bus.emit("ping", {"t": time.perf_counter_ns()})
        await asyncio.sleep(0)
    engine.close()
    return seen


async def latency_async(samples: int) -> list[float]:
    engine = Engine()
    seen: list[float] = []
    done = asyncio.Event()

    async def body(message: Message) -> None:
        seen.append((time.perf_counter_ns() - message.data["t"]) / 1000)
        done.set()

    engine.jobs.add(Job("ping", body, EventTrigger("ping")))
    for _ in range(samples):
        done.clear()
        engine.bus.emit("ping", {"t": time.perf_counter_ns()})
        await done.wait()
        await engine.jobs.settle()
    engine.close()
    return seen


async def latency_other_thread(samples: int) -> list[float]:
    engine = Engine()
    seen: list[float] = []
    arrived = threading.Event()

    def body(message: Message) -> None:
        seen.append((time.perf_counter_ns() - message.data["t"]) / 1000)
        arrived.set()

    engine.jobs.add(Job("ping", body, EventTrigger("ping")))

    def emitter() -> None:
        for _ in range(samples):
            arrived.clear()
            engine.bus.emit("ping", {"t": time.perf_counter_ns()})
            arrived.wait(5)

    await asyncio.get_running_loop().run_in_executor(None, emitter)
    engine.close()
    return seen


async def latency_shell(samples: int) -> list[float]:
    engine = Engine()
    engine.jobs.add(Job("true", "true", EventTrigger("ping")))
    seen: list[float] = []
    for _ in range(samples):
        started = time.perf_counter_ns()
        engine.bus.emit("ping")
        await engine.jobs.settle()
        seen.append((time.perf_counter_ns() - started) / 1000)
    engine.close()
    return seen


def throughput(events: int, shared_event: bool, as_jobs: bool) -> float:
    """Seconds to deliver ``events`` events to 100 jobs (or 100 plain subscribers)."""

    async def go() -> float:
        engine = Engine()
        count = [0]

        def body(_: Any) -> None:
            count[0] += 1

        types = ["tick"] * JOBS if shared_event else [f"tick-{i}" for i in range(JOBS)]
        for i, message_type in enumerate(types):
            if as_jobs:
                engine.jobs.add(Job(f"job-{i}", body, EventTrigger(message_type)))
            else:
                engine.bus.listen(message_type).subscribe(body)
        emit = engine.bus.emit
        names = ["tick"] if shared_event else types
        start = time.perf_counter()
        for n in range(events):
            emit(names[n % len(names)])
        elapsed = time.perf_counter() - start
        engine.close()
        expected = events * JOBS if shared_event else events
        assert count[0] == expected, (count[0], expected)
        return elapsed

    return asyncio.run(go())


def run(quick: bool = False) -> list[Result]:
    samples, shell_samples, events, repeats = (200, 5, 1_000, 1) if quick else (5_000, 50, 20_000, 3)
    print(f"\n== {SECTION}: trigger-to-body latency (real loop) and runs/s with {JOBS} active jobs ==")
    results: list[Result] = []
    cases: list[tuple[str, Callable[[int], Any], int]] = [
        ("sync body, same thread", latency_sync_same_thread, samples),
        ("async body", latency_async, samples),
        ("sync body, other thread", latency_other_thread, samples),
        ("shell body (true)", latency_shell, shell_samples),
    ]
    print(f"{'latency':<26} {'samples':>8} {'p50 µs':>10} {'p99 µs':>10}")
    for name, measure, count in cases:
        seen = asyncio.run(measure(count))
        assert len(seen) == count, (name, len(seen), count)
        p50, p99 = statistics.median(seen), percentile(seen, 0.99)
        print(f"{name:<26} {count:>8} {p50:>10.1f} {p99:>10.1f}")
        results.append(Result(SECTION, f"latency p50, {name}", p50, "µs"))
        results.append(Result(SECTION, f"latency p99, {name}", p99, "µs"))
    print(f"{'throughput':<26} {'events':>8} {'runs/s':>12} {'peer/s':>12} {'job/peer':>9}")
    for shared in (False, True):
        label = "one event" if shared else "own event"
        emitted = events // 20 if shared else events  # each shared event is 100 runs: keep both cases short
        job_s = best_of(repeats, partial(throughput, emitted, shared, as_jobs=True))
        peer_s = best_of(repeats, partial(throughput, emitted, shared, as_jobs=False))
        delivered = emitted * (JOBS if shared else 1)
        job_rate, peer_rate = delivered / job_s, delivered / peer_s
        print(f"{label:<26} {emitted:>8} {job_rate:>12,.0f} {peer_rate:>12,.0f} {job_rate / peer_rate:>9.3f}")
        results.append(Result(SECTION, f"job runs/s, {JOBS} jobs, {label}", job_rate, "/s"))
        results.append(Result(SECTION, f"plain subscriber calls/s, {JOBS} subs, {label}", peer_rate, "/s"))
    return results


if __name__ == "__main__":
    from benchmarks.__main__ import table

    print("\n".join(table(run())))
