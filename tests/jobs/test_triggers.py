"""Jobs in virtual time: event and cron triggers, schedule + wait, timeouts, surpass, isolation, verbs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from resoto_rx import Event, Job, Message
from resoto_rx.workflows import EventTrigger, Surpass, TaskStatus, TimeTrigger
from tests.jobs.conftest import Jobs


def test_event_trigger_with_filter_data_calls_the_body_with_the_message(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("on-prod", seen.append, EventTrigger("deployed", {"env": "prod"})))
    h.bus.emit("deployed", {"env": "dev"})
    assert seen == []
    h.bus.emit("deployed", {"env": "prod", "version": 7})
    assert [m.data["version"] for m in seen] == [7]
    assert h.started() == ["on-prod"]
    end = h.events("task_end")[-1].data
    assert end["descriptor_id"] == "on-prod" and end["success"] is True


def test_time_trigger_runs_on_the_cron_schedule_in_virtual_time(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("every-5", seen.append, TimeTrigger("*/5 * * * *")))
    h.advance(4 * 60)
    assert seen == []
    h.advance(7 * 60)  # 00:05 and 00:10 passed
    assert seen == [None, None]
    assert list(h.jobs.history("every-5")["reason"]) == ["time", "time"]


def test_schedule_then_wait_for_event_runs_the_body_with_that_event(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("early", seen.append, TimeTrigger("0 4 * * *"), wait=EventTrigger("collect_done"), timeout=600))
    h.bus.emit("collect_done", {"n": 0})  # before the schedule: ignored
    h.advance(4 * 3600)
    assert h.started() == ["early"] and seen == []  # running, waiting
    h.bus.emit("collect_done", {"n": 1})
    assert [m.data["n"] for m in seen] == [1]
    assert h.jobs.history("early")["status"].tolist() == ["done"]


def test_wait_timeout_fails_the_run_without_running_the_body(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("w", seen.append, None, wait=EventTrigger("never"), wait_timeout=30, timeout=600))
    run = h.jobs.run("w")
    assert run is not None
    h.advance(29)
    assert run.active
    h.advance(2)
    assert run.status is TaskStatus.failed and "timed out after 30s" in (run.error or "")
    assert seen == []
    assert h.events("task_end")[-1].data["success"] is False


def test_surpass_wait_queues_one_run_and_skip_ignores(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("queued", seen.append, EventTrigger("go"), wait=EventTrigger("release")))
    h.jobs.add(
        Job("skipping", seen.append, EventTrigger("go"), wait=EventTrigger("release"), on_surpass=Surpass.Skip)
    )
    for _ in range(3):
        h.bus.emit("go")
    assert h.started() == ["queued", "skipping"]
    h.bus.emit("release")  # ends both runs; "queued" starts its one queued run
    assert h.started() == ["queued", "skipping", "queued"]
    h.bus.emit("release")
    assert len(seen) == 3 and h.jobs.running() == []


def test_a_failing_body_is_isolated_and_recorded(h: Jobs) -> None:
    ok: list[Any] = []

    def broken(message: Message) -> None:
        raise ValueError(f"cannot handle {message.message_type}")

    h.jobs.add(Job("broken", broken, EventTrigger("tick")))
    h.jobs.add(Job("fine", ok.append, EventTrigger("tick")))
    h.bus.emit("tick")
    h.bus.emit("tick")
    assert len(ok) == 2
    errors = [e.data for e in h.events("error")]
    assert errors[0]["workflow"] == "broken" and errors[0]["message"] == "ValueError: cannot handle tick"
    history = h.jobs.history("broken")
    assert history["status"].tolist() == ["failed", "failed"]
    assert "ValueError: cannot handle tick" in history["error"].iloc[0]
    assert h.bus.failures == 0  # the bus never saw a subscriber fail


def test_async_body_hanging_past_its_timeout_is_cancelled(make_jobs: type[Jobs]) -> None:
    h = make_jobs()
    cancelled: list[bool] = []

    async def hangs(_: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    h.jobs.add(Job("hangs", hangs, timeout=5))
    run = h.jobs.run("hangs")
    assert run is not None
    h.loop.run_until_complete(_yield())  # the body starts and waits
    h.advance(6)
    assert run.status is TaskStatus.failed and "timed out after 5s" in (run.error or "")
    h.loop.run_until_complete(h.jobs.settle())
    assert cancelled == [True]
    assert any("timed out" in e.data["message"] for e in h.events("error"))


def test_async_body_result_lands_in_history(make_jobs: type[Jobs]) -> None:
    h = make_jobs()

    async def doubles(event: Message) -> int:
        return int(event.data["n"]) * 2

    h.jobs.add(Job("doubles", doubles, EventTrigger("n")))
    h.bus.emit("n", {"n": 21})
    h.loop.run_until_complete(h.jobs.settle())
    h.loop.run_until_complete(_yield())  # the step's done-callback runs on the loop
    assert h.jobs.history("doubles")["result"].tolist() == [42]


def test_deactivate_unregisters_trigger_but_manual_run_works(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("j", seen.append, EventTrigger("go")))
    assert h.jobs.deactivate("j").active is False
    h.bus.emit("go")
    assert seen == []
    marker = Event("by-hand")
    h.jobs.run("j", marker)
    assert seen == [marker]
    h.jobs.activate("j")
    h.bus.emit("go")
    assert len(seen) == 2 and h.jobs.show("j").active


def test_update_replaces_trigger_and_delete_removes_everything(h: Jobs) -> None:
    seen: list[Any] = []
    h.jobs.add(Job("j", seen.append, EventTrigger("old")))
    h.jobs.update(Job("j", seen.append, EventTrigger("new")))
    h.bus.emit("old")
    h.bus.emit("new")
    assert [m.message_type for m in seen] == ["new"]
    h.jobs.add(Job("slow", seen.append, EventTrigger("go"), wait=EventTrigger("release")))
    h.bus.emit("go")
    assert [t.workflow.id for t in h.jobs.running()] == ["slow"]
    deleted = h.jobs.delete("slow")
    assert deleted.id == "slow" and h.jobs.running() == [] and "slow" not in h.runner.workflows
    assert h.events("task_end")[-1].data["success"] is False  # the running run was stopped
    h.bus.emit("go")
    assert [j.id for j in h.jobs.list()] == ["j"]


def test_running_list_show_and_history_frame(h: Jobs) -> None:
    h.jobs.add(Job("b", print, None, wait=EventTrigger("release")))
    h.jobs.add(Job("a", "echo hi", TimeTrigger("0 * * * *")))
    assert [j.id for j in h.jobs.list()] == ["a", "b"]
    run = h.jobs.run("b")
    assert [t.id for t in h.jobs.running()] == [run.id if run else None]
    assert h.jobs.show("a").to_json() == {
        "id": "a",
        "command": "echo hi",
        "shell": False,
        "trigger": {"cron_expression": "0 * * * *", "timezone": "UTC"},
        "timeout": 3600.0,
        "active": True,
        "on_surpass": "wait",
    }
    frame = h.jobs.history()
    assert list(frame.columns) == [
        *("task_id", "job", "reason", "trigger", "status", "started_at", "finished_at", "duration_s"),
        *("error", "result"),
    ]
    assert frame["status"].tolist() == ["running"]
    assert frame["started_at"].iloc[0] == datetime(1970, 1, 1, tzinfo=UTC)


async def _yield() -> None:
    for _ in range(3):  # a few loop turns, not a delay
        await asyncio.sleep(0)


def test_deleting_a_job_drops_the_run_queued_behind_its_running_one(h: Jobs) -> None:
    h.jobs.add(Job("slow", lambda m: None, EventTrigger("go"), wait=EventTrigger("release")))
    h.bus.emit("go")
    h.bus.emit("go")  # Surpass.Wait: queued behind the running run
    h.jobs.delete("slow")
    assert h.jobs.running() == [] and h.runner.running() == []
    assert h.started() == ["slow"]  # the queued run never started
