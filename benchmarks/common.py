"""Shared pieces of the benchmarks: results, timing, realistic messages.

The machine is small and noisy, so every benchmark compares resoto_rx with a raw peer measured in the
same run and reports the best of several repeats (the least disturbed one), never a single shot.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from resoto_rx.codec import encode_data, wire_data
from resoto_rx.messages import Action, ActionDone, Event, Message


@dataclass(frozen=True)
class Result:
    """One figure: ``value`` in ``unit``; ``target`` and ``passed`` only for figures that have a target."""

    section: str
    name: str
    value: float
    unit: str
    target: str = ""
    passed: bool | None = None

    @property
    def status(self) -> str:
        if self.passed is None:
            return ""
        return "PASS" if self.passed else "MISS"

    def shown(self) -> str:
        """The value with a precision that suits its size."""
        v = self.value
        if self.unit in ("x", "µs", "s"):
            return f"{v:.2f}"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if float(v).is_integer():
            return f"{int(v)}"
        return f"{v:.2f}"


def best_of(repeats: int, run: Callable[[], float]) -> float:
    """The smallest of ``repeats`` calls of ``run`` (each returns elapsed seconds)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        best = min(best, run())
    return best


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# Event types seen on a busy resotocore: collect / cleanup progress and config events.
_EVENT_TYPES = (
    "collect_progress",
    "node_updated",
    "metrics_collected",
    "progress",
    "config-updated",
    "message-listener-connected",
)
_STEPS = ("collect", "merge_outer_edges", "post_collect", "cleanup_plan", "cleanup")
_SUBSCRIBERS = ("resotoworker", "resotometrics", "resotoshell-1", "aws-collector")
EPOCH = 1_717_000_000.0


def realistic_message(i: int) -> Message:
    """Message number ``i`` of a realistic stream (not published: no id yet).

    Of every 20 messages 16 are events with small data, 2 are actions and 2 are action_done replies;
    a task lasts 1000 messages, so its id string repeats like it does on a real bus.
    """
    slot = i % 20
    if slot < 16:
        return Event(_EVENT_TYPES[slot % len(_EVENT_TYPES)], {"n": i, "cloud": "aws", "count": i % 97})
    task = f"task-{i // 1000:08d}-7c1e"
    step = _STEPS[(i // 200) % len(_STEPS)]
    if slot < 18:
        return Action(step, {"n": i}, task=task, step=step)
    return ActionDone(step, task=task, step=step, subscriber_id=_SUBSCRIBERS[slot % len(_SUBSCRIBERS)])


def stamped(first_id: int, count: int) -> Iterator[tuple[Message, bytes, float]]:
    """Realistic messages stamped as the bus would: ``(message, encoded wire data, epoch time)``."""
    for i in range(first_id, first_id + count):
        fresh = realistic_message(i)
        at = EPOCH + i * 1e-4
        message = _with_id(fresh, i, at)
        yield message, encode_data(wire_data(message)), at


def _with_id(message: Message, msg_id: int, at: float) -> Message:
    object.__setattr__(message, "id", msg_id)
    object.__setattr__(message, "at", datetime.fromtimestamp(at, UTC))
    return message
