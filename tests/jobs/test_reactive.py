"""RxChain jobs: operator chains over the triggering events in virtual time; each delivered item is one run."""

from __future__ import annotations

from typing import Any

from reactivex import operators as ops

from resoto_rx import Emit, Event, FrameView, Job, RxChain
from resoto_rx.workflows import EventTrigger, TimeTrigger
from tests.jobs.conftest import Jobs


def counts(items: list[Any]) -> list[Any]:
    return [[m.data["count"] for m in batch] if isinstance(batch, list) else batch.data["count"] for batch in items]


def test_filter_then_buffer_with_time_delivers_batches_on_the_scheduler(h: Jobs) -> None:
    batches: list[Any] = []
    chain = RxChain(ops.filter(lambda m: m.data["count"] > 10), ops.buffer_with_time(60), into=batches)
    h.jobs.add(Job("big", chain, EventTrigger("collected")))
    for count in (5, 50, 70):
        h.bus.emit("collected", {"count": count})
    assert batches == []  # nothing before the window closes
    h.advance(61)
    h.bus.emit("collected", {"count": 99})
    h.advance(60)
    assert counts(batches) == [[50, 70], [99]]
    history = h.jobs.history("big")
    assert history["status"].tolist() == ["done", "done"] and history["trigger"].tolist() == ["list", "list"]


def test_debounce_runs_once_after_a_burst(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("quiet", RxChain(ops.debounce(10), into=seen), EventTrigger("changed")))
    for i in range(5):
        h.bus.emit("changed", {"count": i})
        h.advance(2)
    assert seen == []
    h.advance(10)
    assert counts(seen) == [4]
    assert h.started() == ["quiet"]


def test_scan_into_a_frame_view_and_an_emitted_event(h: Jobs) -> None:
    view = FrameView()
    total = ops.scan(lambda acc, m: {"total": acc["total"] + m.data["count"]}, {"total": 0})
    h.jobs.add(Job("sum", RxChain(total, into=view), EventTrigger("collected")))
    announce = RxChain(ops.map(lambda m: {"seen": m.data["count"]}), into=Emit("announced"))
    h.jobs.add(Job("announce", announce, EventTrigger("collected")))
    for count in (1, 2, 3):
        h.bus.emit("collected", {"count": count})
    assert view.frame["total"].tolist() == [1, 3, 6]
    assert [e.data for e in h.events("announced")] == [{"seen": 1}, {"seen": 2}, {"seen": 3}]


def test_frame_view_rows_from_messages_lists_and_values() -> None:
    view = FrameView(max_rows=3)
    view.append(Event("collected", {"a": 1}))
    view.append([{"a": 2}, {"a": 3}])
    assert view.rows[0] == {"id": None, "at": None, "message_type": "collected", "a": 1}
    view.append(7)
    assert len(view) == 3  # the oldest row made room
    assert view.frame["a"].tolist()[:2] == [2, 3] and view.frame.to_dict("records")[-1]["value"] == 7


def test_a_failing_operator_is_a_failed_run_and_the_chain_goes_on(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("ratio", RxChain(ops.map(lambda m: 100 // m.data["count"]), into=seen), EventTrigger("c")))
    h.bus.emit("c", {"count": 4})
    h.bus.emit("c", {"count": 0})
    h.bus.emit("c", {"count": 5})
    assert seen == [25, 20]
    history = h.jobs.history("ratio")
    assert history["status"].tolist() == ["done", "failed", "done"]
    assert "operator chain failed: ZeroDivisionError" in history["error"].iloc[1]
    assert h.events("error")[0].data["workflow"] == "ratio"


def test_a_failing_sink_fails_only_its_run(h: Jobs) -> None:
    def sink(item: Any) -> None:
        if item.data["count"] == 2:
            raise RuntimeError("disk full")

    h.jobs.add(Job("s", RxChain(into=sink), EventTrigger("c")))
    for count in (1, 2, 3):
        h.bus.emit("c", {"count": count})
    assert h.jobs.history("s")["status"].tolist() == ["done", "failed", "done"]


def test_deactivating_a_chain_stops_it_and_manual_run_feeds_the_sink(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("c", RxChain(ops.map(lambda m: m.data["count"]), into=seen), EventTrigger("c")))
    h.bus.emit("c", {"count": 1})
    h.jobs.deactivate("c")
    h.bus.emit("c", {"count": 2})
    h.jobs.run("c", "by hand")
    h.jobs.activate("c")
    h.bus.emit("c", {"count": 3})
    assert seen == [1, "by hand", 3]


def test_chain_over_cron_ticks(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("ticks", RxChain(ops.buffer_with_count(2), into=seen), TimeTrigger("*/10 * * * *")))
    h.advance(41 * 60)
    assert [[t.minute for t in pair] for pair in seen] == [[10, 20], [30, 40]]
    assert h.jobs.history("ticks")["reason"].tolist() == ["time", "time"]


def test_jobs_on_task_end_are_not_triggered_by_their_own_runs(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("after_any_chain", RxChain(into=seen), EventTrigger("task_end")))
    h.bus.emit("task_end", {"task_id": "t1", "descriptor_id": "somebody_else", "success": True})
    h.jobs.add(Job("after_any_call", lambda message: None, EventTrigger("task_end", {"descriptor_id": "x"})))
    h.jobs.add(Job("x", lambda message: None))
    h.jobs.run("x")
    runs = h.jobs.history()["job"].tolist()
    # after_any_chain: once for somebody_else, once for x, once for after_any_call - never for itself
    assert sorted(runs) == ["after_any_call", "after_any_chain", "after_any_chain", "after_any_chain", "x"]
    assert len(seen) == 3
