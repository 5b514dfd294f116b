"""EventLog and LiveFrame: state without a browser, filters, windows, and throttled redraws in virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from resoto_rx import Action, ActionDone, EventBus
from resoto_rx.notebook import EventLog, LiveFrame
from tests.notebook.conftest import VirtualClock, max_per_second


def test_event_log_shows_the_latest_rows_newest_first_and_filters(
    make_bus: Callable[..., EventBus], scheduler: VirtualClock
) -> None:
    bus = make_bus()
    log = EventLog(bus, rows=3, scheduler=scheduler)
    for n in range(5):
        bus.emit("collect_done", {"count": n})
    bus.emit(Action("collect", {}, task="t-1", step="collect"))
    bus.emit(ActionDone("collect", task="t-1", step="collect", subscriber_id="worker"))
    bus.emit("task_end", {"task_id": "t-1", "success": True})

    frame = log.frame()
    assert list(frame["message_type"]) == ["task_end", "collect", "collect"]
    assert list(frame["kind"]) == ["event", "action_done", "action"]
    assert str(frame["at"].dtype) == "datetime64[us, UTC]"
    assert frame["subscriber_id"].tolist()[1] == "worker"

    log.set_filter(message_type="collect_done")
    assert log.frame()["data"].tolist() == ['{"count":4}', '{"count":3}', '{"count":2}']
    log.set_filter(kind="action_done")
    assert log.frame()["subscriber_id"].tolist() == ["worker"]
    log.set_filter(task="t-1")
    assert log.frame()["message_type"].tolist() == ["task_end", "collect", "collect"]
    with pytest.raises(ValueError, match="unknown kind"):
        log.set_filter(kind="nope")
    log.close()


def test_event_log_widget_redraws_at_most_20_per_second_in_a_1000_per_second_burst(
    make_bus: Callable[..., EventBus], scheduler: VirtualClock, burst: Callable[..., None]
) -> None:
    bus = make_bus()
    log = EventLog(bus, rows=5, scheduler=scheduler)
    widget = log.widget  # displayed: every redraw also renders the HTML table
    burst(bus, scheduler, rate=1000, seconds=10)
    assert log.received == 10_000
    assert max_per_second(log) <= 20
    assert 190 <= log.updates <= 202
    assert not log.pending
    assert "9999" in widget.children[2].value  # the final state was drawn: the last event is in the table
    assert log.draw_errors == 0
    log.close()


def test_event_log_controls_change_the_filter(make_bus: Callable[..., EventBus], scheduler: VirtualClock) -> None:
    bus = make_bus()
    log = EventLog(bus, scheduler=scheduler)
    controls = log.widget.children[0].children
    bus.emit("a", {})
    bus.emit("b", {})
    controls[0].value = "a, c"
    assert log.filter.message_types == frozenset({"a", "c"})
    controls[1].value = "event"
    controls[2].value = " t-9 "
    assert log.filter.kind == "event"
    assert log.filter.task == "t-9"
    assert log.frame().empty
    log.close()


def test_live_frame_keeps_the_last_n(make_bus: Callable[..., EventBus], scheduler: VirtualClock) -> None:
    bus = make_bus()
    live = LiveFrame(bus, "tick", last=3, scheduler=scheduler)
    for n in range(5):
        bus.emit("tick", {"n": n, "cloud": "aws"})
    bus.emit("other", {})
    frame = live.frame()
    assert frame["data.n"].tolist() == [2, 3, 4]
    assert frame.columns.tolist() == ["id", "at", "kind", "message_type", "data.n", "data.cloud"]
    assert isinstance(frame["message_type"].dtype, __import__("pandas").CategoricalDtype)
    live.close()


def test_live_frame_by_time_window_uses_the_scheduler_clock(
    make_bus: Callable[..., EventBus], scheduler: VirtualClock, burst: Callable[..., None]
) -> None:
    bus = make_bus()
    live = LiveFrame(bus, seconds=2.0, scheduler=scheduler)
    live.widget  # noqa: B018  (build it: redraws render the table)
    start = scheduler.clock
    for i in range(100):  # 10 per second for 10 s
        scheduler.schedule_absolute(start + i / 10, lambda *_, n=i: bus.emit("tick", {"n": n}))
    scheduler.advance_to(start + 9.95)
    kept = live.frame()["data.n"].tolist()
    assert kept == list(range(80, 100))  # received in the last 2 s
    assert max_per_second(live) <= 20
    scheduler.advance_to(start + 30)
    assert live.frame().empty
    with pytest.raises(ValueError, match="seconds"):
        LiveFrame(bus, seconds=0)
    live.close()


def test_a_view_never_raises_into_the_bus_when_drawing_fails(
    make_bus: Callable[..., EventBus], scheduler: VirtualClock
) -> None:
    bus = make_bus()
    log = EventLog(bus, scheduler=scheduler)
    log.widget  # noqa: B018
    log._table = None  # type: ignore[assignment]  (a broken widget tree)
    bus.emit("x", {})
    scheduler.advance_by(1.0)
    assert log.draw_errors >= 1
    assert bus.failures == 0
    log.close()


def test_a_redraw_never_runs_inside_the_emit(make_bus: Callable[..., EventBus], scheduler: VirtualClock) -> None:
    bus = make_bus()
    log = EventLog(bus, rows=3, scheduler=scheduler)
    _ = log.widget
    before = log.updates
    bus.emit("collect_done", {"count": 1})  # the first change of a burst
    assert log.updates == before and log.pending  # emit returned without rendering
    scheduler.advance_by(0.001)  # the scheduler's next turn
    assert log.updates == before + 1 and not log.pending
    log.close()


async def test_settled_returns_after_close_and_changes_after_close_are_ignored() -> None:
    bus = EventBus()
    log = EventLog(bus, rows=3)
    bus.emit("collect_done", {"count": 1})
    assert log.pending
    waiting = asyncio.ensure_future(log.settled())
    await asyncio.sleep(0)
    log.close()  # closed while someone awaits the redraw
    await asyncio.wait_for(waiting, timeout=5)
    log.set_filter(message_type="x")  # a change on a closed view
    await asyncio.wait_for(log.settled(), timeout=5)
    assert not log.pending
    bus.close()
