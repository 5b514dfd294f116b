"""throttle_latest in virtual time: leading item at once, at most one per interval, the last never lost."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from reactivex.scheduler import HistoricalScheduler
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler

from resoto_rx.notebook.throttle import interval_for, throttle_latest

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed


def test_marbles_leading_trailing_and_flush_on_completion() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        on_next(1.00, "a"),  # gate closed: emitted at once, gate open until 1.05
        on_next(1.01, "b"),  # held
        on_next(1.02, "c"),  # replaces b
        on_next(1.20, "d"),  # gate closed again (c went out at 1.05, gate until 1.10): at once
        on_next(1.21, "e"),  # held, then flushed by completion
        on_completed(1.22),
    )
    throttled = lambda: source.pipe(throttle_latest(0.05, scheduler))  # noqa: E731
    results = scheduler.start(throttled, created=0.1, subscribed=0.5, disposed=5.0)  # created=0.0 reads as unset
    assert results.messages == [
        on_next(1.00, "a"),
        on_next(1.05, "c"),
        on_next(1.20, "d"),
        on_next(1.22, "e"),
        on_completed(1.22),
    ]


def test_a_burst_of_1000_per_second_gives_at_most_20_per_second_and_ends_on_the_last_item() -> None:
    scheduler = TestScheduler()
    subject: Subject[int] = Subject()
    seen: list[tuple[float, int]] = []
    subject.pipe(throttle_latest(interval_for(20), scheduler)).subscribe(lambda i: seen.append((scheduler.clock, i)))
    for i in range(10_000):
        scheduler.schedule_absolute(i / 1000, lambda *_, n=i: subject.on_next(n))
    scheduler.advance_to(12.0)
    assert seen[-1][1] == 9_999
    for second in range(10):
        in_window = [t for t, _ in seen if second <= t < second + 1]
        assert len(in_window) <= 20
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    assert min(gaps) >= 0.05 - 1e-9


def test_no_timer_runs_while_idle() -> None:
    scheduler = HistoricalScheduler(datetime(2024, 6, 1, tzinfo=UTC))
    subject: Subject[int] = Subject()
    subject.pipe(throttle_latest(0.05, scheduler)).subscribe(lambda _: None)
    subject.on_next(1)
    subject.on_next(2)
    scheduler.start()  # runs until no timer is left: a periodic timer (like ops.sample's) would never return
    assert scheduler.now == datetime(2024, 6, 1, 0, 0, 0, 100_000, tzinfo=UTC)


def test_errors_pass_through_and_rates_are_checked() -> None:
    scheduler = TestScheduler()
    subject: Subject[int] = Subject()
    errors: list[Exception] = []
    subject.pipe(throttle_latest(0.05, scheduler)).subscribe(on_error=errors.append)
    subject.on_error(RuntimeError("boom"))
    assert [str(e) for e in errors] == ["boom"]
    with pytest.raises(ValueError, match="max_rate"):
        interval_for(50)
    with pytest.raises(ValueError, match="positive"):
        throttle_latest(0, scheduler)
