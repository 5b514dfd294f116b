"""Redraw throttling: at most one redraw per interval, the latest state always drawn in the end.

``throttle_latest`` emits the first item at once, then holds a gate open for ``interval``; items
that arrive while the gate is open replace each other, and the last of them is emitted when the gate
closes (which opens it again). Emissions are therefore at least ``interval`` apart, whatever the
input rate, and the final state is never lost (unlike ``throttle_first``); unlike ``sample`` no timer
runs while nothing happens. When the source completes, a held item is emitted before completing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

T = TypeVar("T")
MAX_RATE = 20.0
"""Redraws per second a widget never exceeds by default (PITFALLS.md: <= 20 Hz)."""


def throttle_latest(interval: float, scheduler: abc.SchedulerBase) -> Callable[[Observable[T]], Observable[T]]:
    """The operator: ``source.pipe(throttle_latest(0.05, scheduler))`` emits at most 20 items per second.

    Args:
        interval: seconds between two emissions, at least.
        scheduler: where the gate's timer runs (the bus loop's scheduler; a ``TestScheduler`` in tests).
    """
    if interval <= 0:
        raise ValueError(f"interval must be positive seconds, got {interval}")
    gap = timedelta(seconds=interval)

    def operator(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            timer = SerialDisposable()
            held: list[T] = []  # zero or one item waiting for the gate to close
            gate_open = [False]

            def close_gate(_: abc.SchedulerBase, __: Any = None) -> None:
                if held:
                    item = held.pop()
                    timer.disposable = scheduler.schedule_relative(gap, close_gate)
                    observer.on_next(item)
                else:
                    gate_open[0] = False

            def on_next(item: T) -> None:
                if gate_open[0]:
                    held[:] = [item]
                    return
                gate_open[0] = True
                timer.disposable = scheduler.schedule_relative(gap, close_gate)
                observer.on_next(item)

            def on_completed() -> None:
                timer.dispose()
                if held:
                    observer.on_next(held.pop())
                observer.on_completed()

            def on_error(error: Exception) -> None:
                timer.dispose()
                observer.on_error(error)

            subscription = source.subscribe(on_next, on_error, on_completed)
            return CompositeDisposable(subscription, timer)

        return reactivex.create(subscribe)

    return operator


def interval_for(max_rate: float) -> float:
    """Seconds between redraws for at most ``max_rate`` redraws per second."""
    if not 0 < max_rate <= MAX_RATE:
        raise ValueError(f"max_rate must be in (0, {MAX_RATE:g}] redraws per second, got {max_rate}")
    return 1.0 / max_rate
