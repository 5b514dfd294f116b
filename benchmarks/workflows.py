"""Workflow engine overhead: per-step cost with 0, 10 and 100 in-process no-op subscribers, and full
``collect_and_cleanup`` runs per second with the demo cloud off.

- ``per step``: a workflow of 10 action steps; every step's action has N in-process subscribers
  (``subscribe_action`` with a handler that returns at once, so each answers ``action_done``). One run
  = 10 steps; the figure is wall time per step. Raw peer, in the same run: for each step a
  ``reactivex.Subject`` publishes an action dict to N callbacks, each of which answers on a second
  Subject that counts the answers until all N are in -- the bare "publish, collect N acks" handshake
  with none of the engine's bookkeeping (ids, history, task events, progress, timeouts).
- ``collect_and_cleanup``: the built-in 14-step workflow with no subscribers, runs per second.
Time comes from a TestScheduler that is never advanced: timeouts are scheduled and cancelled, as in
production, but no wall clock is involved in the engine itself.
"""

from __future__ import annotations

import time
from typing import Any

from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from benchmarks.common import Result, best_of
from resoto_rx import EventBus
from resoto_rx.workflows import PerformAction, Step, TaskRunner, TaskStatus, Workflow, subscribe_action

SECTION = "workflows"
STEPS = 10


def _engine(subscribers: int) -> tuple[EventBus, TaskRunner]:
    bus = EventBus(history=10_000)
    steps = [Step(f"s{i}", PerformAction(f"work{i}")) for i in range(STEPS)]
    runner = TaskRunner(bus, scheduler=TestScheduler(), workflows=[Workflow("bench", steps)])
    for i in range(STEPS):
        for n in range(subscribers):
            subscribe_action(bus, runner.registry, f"work{i}", lambda call: None, f"sub{n}")
    return bus, runner


def engine_step_seconds(subscribers: int, runs: int, repeats: int) -> float:
    bus, runner = _engine(subscribers)

    def once() -> float:
        start = time.perf_counter()
        for _ in range(runs):
            task = runner.run("bench")
            assert task is not None and task.status is TaskStatus.done
        return time.perf_counter() - start

    try:
        return best_of(repeats, once) / (runs * STEPS)
    finally:
        runner.close()
        bus.close()


def raw_step_seconds(subscribers: int, runs: int, repeats: int) -> float:
    actions: Subject[dict[str, Any]] = Subject()
    answers: Subject[str] = Subject()
    pending: set[str] = set()
    for n in range(subscribers):
        name = f"sub{n}"
        actions.subscribe(lambda action, name=name: answers.on_next(name))  # type: ignore[misc]
    answers.subscribe(pending.discard)

    def once() -> float:
        start = time.perf_counter()
        for run in range(runs):
            for step in range(STEPS):
                pending.update(f"sub{n}" for n in range(subscribers))
                actions.on_next({"task": run, "step": step})
                assert not pending
        return time.perf_counter() - start

    return best_of(repeats, once) / (runs * STEPS)


def full_runs_per_second(runs: int, repeats: int) -> float:
    bus = EventBus(history=10_000)
    runner = TaskRunner(bus, scheduler=TestScheduler())

    def once() -> float:
        start = time.perf_counter()
        for _ in range(runs):
            runner.run("collect_and_cleanup")
        return time.perf_counter() - start

    try:
        return runs / best_of(repeats, once)
    finally:
        runner.close()
        bus.close()


def run(quick: bool) -> list[Result]:
    print(f"\n== {SECTION}: per-step overhead and collect_and_cleanup runs/s ==")
    runs, repeats = (5, 2) if quick else (100, 5)
    results: list[Result] = []
    for subscribers in (0, 10, 100):
        count = max(1, runs // 10) if subscribers == 100 else runs
        engine = engine_step_seconds(subscribers, count, repeats)
        raw = raw_step_seconds(subscribers, count, repeats)
        print(
            f"{subscribers:4d} subscribers: engine {engine * 1e6:9.1f} µs/step, raw handshake {raw * 1e6:8.1f} µs/step,"
            f" engine/raw {engine / raw:6.1f}x"
        )
        results.append(Result(SECTION, f"per step, {subscribers} subscribers", engine * 1e6, "µs"))
        results.append(Result(SECTION, f"raw handshake per step, {subscribers} subscribers", raw * 1e6, "µs"))
        results.append(Result(SECTION, f"engine/raw time per step, {subscribers} subscribers", engine / raw, "x"))
    per_second = full_runs_per_second(runs, repeats)
    print(f"collect_and_cleanup, demo off: {per_second:,.0f} runs/s ({per_second * 14:,.0f} steps/s)")
    results.append(Result(SECTION, "collect_and_cleanup runs/s, demo off", per_second, "/s"))
    return results
