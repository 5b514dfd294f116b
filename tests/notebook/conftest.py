"""Helpers for the notebook-layer tests: a bus driven by a TestScheduler in virtual time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from reactivex.testing import TestScheduler

from resoto_rx import EventBus
from resoto_rx.notebook.view import LiveView

EPOCH = datetime(2024, 6, 1, tzinfo=UTC)


class VirtualClock(TestScheduler):
    """A TestScheduler that starts at a real-looking date (cron and clock arithmetic stay sensible)."""

    def __init__(self) -> None:
        super().__init__()
        self._clock = EPOCH.timestamp()


@pytest.fixture
def scheduler() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def burst() -> Callable[..., None]:
    """``burst(bus, scheduler, rate, seconds, message_type)``: emit ``rate`` events per second in virtual time."""

    def run(bus: EventBus, scheduler: TestScheduler, rate: int, seconds: float, message_type: str = "tick") -> None:
        start = scheduler.clock
        for i in range(int(rate * seconds)):
            scheduler.schedule_absolute(
                start + i / rate, lambda *_, n=i: bus.emit(message_type, {"n": n, "task_id": "t1"})
            )
        scheduler.advance_to(start + seconds + 1.0)

    return run


def max_per_second(view: LiveView) -> int:
    """The most redraws of ``view`` within any one-second window (half-open) of its redraw times."""
    return view.max_redraws_per_second()


@pytest.fixture
def closing() -> Iterator[Callable[[LiveView], LiveView]]:
    views: list[LiveView] = []

    def keep(view: LiveView) -> LiveView:
        views.append(view)
        return view

    yield keep
    for view in views:
        view.close()
