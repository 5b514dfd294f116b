"""The task runner in virtual time: ordering, timeouts, on_error, surpass, subscriber loss, stop, cron."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from reactivex.testing import TestScheduler

from resoto_rx import Action, ActionAbort, ActionDone, ActionError, ActionInfo, EventBus, Message
from resoto_rx.workflows import (
    EmitEvent,
    EventTrigger,
    OnError,
    PerformAction,
    Step,
    Surpass,
    TaskRunner,
    TaskStatus,
    TimeTrigger,
    UnknownWorkflowError,
    WaitForEvent,
    WaitForGraphMerge,
    Workflow,
    subscribe_action,
)

PHASES = [
    "pre_collect",
    "collect",
    "merge_outer_edges",
    "post_collect",
    "pre_cleanup_plan",
    "cleanup_plan",
    "post_cleanup_plan",
    "pre_cleanup",
    "cleanup",
    "post_cleanup",
    "pre_generate_metrics",
    "generate_metrics",
    "post_generate_metrics",
]


class Engine:
    def __init__(self, workflows: list[Workflow] | None = None) -> None:
        self.scheduler = TestScheduler()
        self.bus = EventBus()
        self.messages: list[Message] = []
        self.bus.listen().subscribe(self.messages.append)
        self.runner = TaskRunner(self.bus, scheduler=self.scheduler, workflows=workflows)

    def types(self, kind: str = "action") -> list[str]:
        return [m.message_type for m in self.messages if m.kind == kind]

    def events(self, message_type: str) -> list[Message]:
        return [m for m in self.messages if m.message_type == message_type and m.kind == "event"]

    def advance(self, seconds: float) -> None:
        self.scheduler.advance_by(timedelta(seconds=seconds))

    def answer(self, kind: type[ActionDone] | type[ActionError], action: Action, subscriber: str) -> None:
        self.bus.emit(kind(action.message_type, task=action.task, step=action.step, subscriber_id=subscriber))

    def last_action(self, message_type: str) -> Action:
        found = [m for m in self.messages if isinstance(m, Action) and m.message_type == message_type]
        return found[-1]


@pytest.fixture(autouse=True)
def _close_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    made: list[Engine] = []
    original = Engine.__init__

    def tracking_init(self: Engine, workflows: list[Workflow] | None = None) -> None:
        original(self, workflows)
        made.append(self)

    monkeypatch.setattr(Engine, "__init__", tracking_init)
    yield
    for e in made:
        e.runner.close()
        e.bus.close()


@pytest.fixture
def engine() -> Engine:
    return Engine()


def one_step(on_error: OnError = OnError.Continue, timeout: float = 10, surpass: Surpass = Surpass.Wait) -> Workflow:
    return Workflow(
        "wf",
        [Step("work", PerformAction("work"), timedelta(seconds=timeout), on_error), Step("after", EmitEvent("after"))],
        [EventTrigger("go", {"env": "prod"})],
        surpass,
    )


def test_collect_and_cleanup_publishes_every_phase_in_order(engine: Engine) -> None:
    run = engine.runner.run("collect_and_cleanup")
    assert run is not None and run.status is TaskStatus.done
    assert engine.types("action") == PHASES
    assert engine.messages[0].message_type == "task_started"
    assert engine.messages[0].data == {"task": "collect_and_cleanup", "task_id": run.id, "reason": "manual"}
    end = engine.events("task_end")
    assert [e.data for e in end] == [{"task_id": run.id, "descriptor_id": "collect_and_cleanup", "success": True}]
    assert end[0].id == engine.messages[-1].id  # task_end is the last word


def test_builtin_workflows_are_started_by_their_event(engine: Engine) -> None:
    for name in ("collect", "cleanup", "metrics"):
        engine.bus.emit(f"start_{name}_workflow")
    started = [e.data["task"] for e in engine.events("task_started")]
    assert started == ["collect", "cleanup", "metrics"]
    assert engine.types("action")[:4] == ["pre_collect", "collect", "merge_outer_edges", "post_collect"]


def test_step_waits_for_blocking_subscribers_and_records_who_answered() -> None:
    e = Engine([one_step()])
    e.runner.registry.add_subscription("a", "work")
    e.runner.registry.add_subscription("b", "work")
    e.runner.registry.add_subscription("watcher", "work", wait_for_completion=False)
    run = e.runner.run("wf")
    assert run is not None
    action = e.last_action("work")
    assert action.data["timing"] == {}
    e.answer(ActionDone, action, "a")
    assert run.active and "after" not in e.types("event")
    e.answer(ActionDone, action, "b")
    assert run.status is TaskStatus.done
    assert sorted(run.steps[0].waited_for) == ["a", "b"]
    assert run.steps[0].answered == ["a", "b"]


def test_event_trigger_filter_data(engine: Engine) -> None:
    engine.runner.add_workflow(one_step())
    engine.bus.emit("go", {"env": "dev"})
    assert engine.events("task_started") == []
    engine.bus.emit("go", {"env": "prod", "extra": 1})
    assert [e.data["task"] for e in engine.events("task_started")] == ["wf"]


def test_timeout_with_continue_goes_on_and_records_the_timeout() -> None:
    e = Engine([one_step(OnError.Continue, timeout=10)])
    e.runner.registry.add_subscription("slow", "work", timeout=timedelta(seconds=5))
    run = e.runner.run("wf")
    assert run is not None
    e.advance(9)
    assert run.active
    e.advance(2)
    assert run.status is TaskStatus.done
    assert run.steps[0].timed_out and "slow" in run.steps[0].errors[0]
    assert "after" in e.types("event")


def test_effective_timeout_is_the_longest_blocking_subscriber() -> None:
    e = Engine([one_step(OnError.Continue, timeout=10)])
    e.runner.registry.add_subscription("patient", "work", timeout=timedelta(seconds=30))
    run = e.runner.run("wf")
    assert run is not None
    e.advance(29)
    assert run.active
    e.advance(2)
    assert not run.active and run.steps[0].timed_out


def test_timeout_with_stop_fails_the_task() -> None:
    e = Engine([one_step(OnError.Stop, timeout=10)])
    e.runner.registry.add_subscription("slow", "work", timeout=timedelta(seconds=1))
    run = e.runner.run("wf")
    assert run is not None
    e.advance(11)
    assert run.status is TaskStatus.failed and "timed out" in (run.error or "")
    assert "after" not in e.types("event")
    assert e.events("task_end")[-1].data["success"] is False


def test_action_error_with_continue_counts_as_answer_and_publishes_error_event() -> None:
    e = Engine([one_step(OnError.Continue)])
    e.runner.registry.add_subscription("x", "work")
    run = e.runner.run("wf")
    assert run is not None
    e.answer(ActionError, e.last_action("work"), "x")
    assert run.status is TaskStatus.done
    assert e.events("error")[0].data == {"workflow": "wf", "task": run.id, "message": "n/a"}


def test_action_error_with_stop_ends_the_task_with_error() -> None:
    e = Engine([one_step(OnError.Stop)])
    e.runner.registry.add_subscription("x", "work")
    e.runner.registry.add_subscription("y", "work")
    run = e.runner.run("wf")
    assert run is not None
    e.answer(ActionError, e.last_action("work"), "x")
    assert run.status is TaskStatus.failed
    assert e.events("task_end")[0].data["error"].startswith("step work failed")


def test_error_level_info_publishes_error_event_but_does_not_answer() -> None:
    e = Engine([one_step()])
    e.runner.registry.add_subscription("x", "work")
    run = e.runner.run("wf")
    assert run is not None
    action = e.last_action("work")
    e.bus.emit(ActionInfo("work", task=action.task, step="work", subscriber_id="x", level="error", message="boom"))
    assert run.active
    assert e.events("error")[0].data["message"] == "boom"
    assert run.steps[0].infos == ["x: error: boom"]


def test_subscriber_that_goes_away_is_dropped_from_the_wait() -> None:
    e = Engine([one_step(timeout=100)])
    e.runner.registry.add_subscription("gone", "work")
    e.runner.registry.add_subscription("stays", "work")
    run = e.runner.run("wf")
    assert run is not None
    e.answer(ActionDone, e.last_action("work"), "stays")
    assert run.active
    e.runner.registry.remove_subscriber("gone")
    assert run.status is TaskStatus.done and not run.steps[0].timed_out


def test_subscriber_joining_after_the_step_started_is_not_waited_for() -> None:
    e = Engine([one_step(timeout=100)])
    e.runner.registry.add_subscription("early", "work")
    run = e.runner.run("wf")
    assert run is not None
    e.runner.registry.add_subscription("late", "work")
    e.answer(ActionDone, e.last_action("work"), "early")
    assert run.status is TaskStatus.done


def test_stop_sends_action_abort_and_task_end() -> None:
    e = Engine([one_step()])
    e.runner.registry.add_subscription("x", "work")
    run = e.runner.run("wf")
    assert run is not None and e.runner.running() == [run]
    assert e.runner.stop(run.id) is run
    assert run.status is TaskStatus.stopped
    aborts = [m for m in e.messages if isinstance(m, ActionAbort)]
    assert [(a.message_type, a.task, a.step) for a in aborts] == [("work", run.id, "work")]
    assert e.events("task_end")[-1].data == {
        "task_id": run.id,
        "descriptor_id": "wf",
        "success": False,
        "error": "stopped",
    }
    assert e.runner.running() == []
    e.advance(100)  # the step's timer was disposed with it
    assert len(e.events("task_end")) == 1


@pytest.mark.parametrize("surpass", list(Surpass))
def test_surpass_behaviour(surpass: Surpass) -> None:
    e = Engine([one_step(surpass=surpass, timeout=100)])
    e.runner.registry.add_subscription("x", "work")
    first = e.runner.run("wf")
    second = e.runner.run("wf")
    third = e.runner.run("wf")
    started = e.events("task_started")
    assert first is not None
    if surpass is Surpass.Skip:
        assert second is first and third is first and len(started) == 1
    elif surpass is Surpass.Parallel:
        assert len({first.id, second.id, third.id}) == 3 and len(e.runner.running()) == 3  # type: ignore[union-attr]
    elif surpass is Surpass.Replace:
        assert first.status is TaskStatus.failed and first.error == "replaced by a new run"
        assert second is not None and second.status is TaskStatus.failed
        assert third is not None and e.runner.running() == [third]
    else:  # Wait: at most one queued run, started when the running one ends
        assert second is first and third is first and len(started) == 1
        e.answer(ActionDone, e.last_action("work"), "x")
        assert first.status is TaskStatus.done
        assert len(e.events("task_started")) == 2
        follow = e.runner.running()[0]
        e.answer(ActionDone, e.last_action("work"), "x")
        assert follow.status is TaskStatus.done and e.runner.running() == []


def test_cron_trigger_fires_on_schedule_in_virtual_time() -> None:
    wf = Workflow("hourly", [Step("s", EmitEvent("tick"))], [TimeTrigger("0 * * * *")])
    e = Engine([wf])
    # TestScheduler starts at the epoch (00:00 UTC): the next full hours are 1:00, 2:00, 3:00.
    e.advance(30 * 60)
    assert e.events("task_started") == []
    e.advance(3 * 3600)
    assert len(e.events("task_started")) == 3
    assert e.runner.next_run_at("hourly") == datetime(1970, 1, 1, 4, tzinfo=UTC)


def test_cron_trigger_honours_the_time_zone() -> None:
    wf = Workflow("daily", [Step("s", EmitEvent("tick"))], [TimeTrigger("0 2 * * *", "Europe/Berlin")])
    e = Engine([wf])
    # The epoch is 01:00 in Berlin (CET): the next 02:00 there is 01:00 UTC the same day.
    assert e.runner.next_run_at("daily") == datetime(1970, 1, 1, 1, tzinfo=UTC)


def test_replacing_the_schedule_reschedules() -> None:
    e = Engine()
    wf = e.runner.workflow("collect_and_cleanup")
    e.runner.add_workflow(wf.with_schedule("*/15 * * * *"))
    e.advance(3600)
    assert len(e.runner.finished) == 4
    e.runner.add_workflow(wf.with_schedule(None))
    e.advance(3600 * 3)
    assert len(e.runner.finished) == 4


def test_wait_for_event_step_and_its_timeout() -> None:
    wf = Workflow("w", [Step("wait", WaitForEvent("ready", {"n": 1}), 30, OnError.Stop), Step("x", EmitEvent("x"))])
    e = Engine([wf])
    run = e.runner.run("w")
    assert run is not None
    e.bus.emit("ready", {"n": 2})
    assert run.active
    e.bus.emit("ready", {"n": 1})
    assert run.status is TaskStatus.done
    late = e.runner.run("w")
    assert late is not None
    e.advance(31)
    assert late.status is TaskStatus.failed


def test_graph_merge_step_waits_for_running_merges() -> None:
    wf = Workflow("g", [Step("collect", PerformAction("collect")), Step("merge", WaitForGraphMerge())])
    e = Engine([wf])

    def collect(call: object) -> None:
        e.runner.merges.begin(call.task)  # type: ignore[attr-defined]

    subscribe_action(e.bus, e.runner.registry, "collect", collect, "collector")
    run = e.runner.run("g")
    assert run is not None and run.current_step == "merge" and run.active
    e.runner.merges.end(run.id, merged=12)
    assert run.status is TaskStatus.done
    assert e.events("graph-merge-completed")[0].data == {"task_id": run.id, "merged": 12}


def test_action_metadata_carries_the_previous_runs_timing(engine: Engine) -> None:
    engine.runner.registry.add_subscription("x", "generate_metrics")
    first = engine.runner.run("metrics")
    assert first is not None
    engine.advance(3)
    engine.answer(ActionDone, engine.last_action("generate_metrics"), "x")
    engine.runner.run("metrics")
    timing = engine.last_action("pre_generate_metrics").data["timing"]
    assert timing["generate_metrics"] == {"started_at": 0.0, "finished_at": 3.0}


def test_progress_events_carry_the_tree(engine: Engine) -> None:
    def collect(call: object) -> None:
        call.progress("account-1", 1, 2, path=["aws"])  # type: ignore[attr-defined]

    subscribe_action(engine.bus, engine.runner.registry, "collect", collect, "collector")
    run = engine.runner.run("collect")
    assert run is not None
    trees = [e.data["message"] for e in engine.events("progress")]
    reported = [p for tree in trees for p in tree["parts"] if p.get("path") == ["collect", "aws"]]
    assert reported[0] == {
        "kind": "progress",
        "name": "account-1",
        "current": 1,
        "total": 2,
        "path": ["collect", "aws"],
    }
    assert trees[-1]["name"] == "collect" and all(p["current"] == p["total"] for p in trees[-1]["parts"])


def test_unknown_workflow_names_the_known_ones(engine: Engine) -> None:
    with pytest.raises(UnknownWorkflowError, match="unknown workflow 'nope'; known workflows: cleanup, collect"):
        engine.runner.run("nope")


def test_runs_and_steps_frames(engine: Engine) -> None:
    engine.runner.run("metrics")
    engine.runner.run("collect")
    runs = engine.runner.runs_frame()
    assert list(runs["workflow"]) == ["metrics", "collect"] and set(runs["status"]) == {"done"}
    assert str(runs["started_at"].dtype).startswith("datetime64") and runs["workflow"].dtype == "category"
    steps = engine.runner.steps_frame()
    assert len(steps) == 3 + 8 and steps["duration_s"].dtype == "float64"


def test_pending_actions_for_a_subscriber(engine: Engine) -> None:
    engine.runner.registry.add_subscription("worker", "collect")
    run = engine.runner.run("collect")
    assert run is not None
    pending = engine.runner.pending_actions_for("worker")
    assert [(a.message_type, a.task, a.step) for a in pending] == [("collect", run.id, "collect")]
    engine.answer(ActionDone, engine.last_action("collect"), "worker")
    assert engine.runner.pending_actions_for("worker") == []


def test_a_workflow_triggered_by_task_end_is_not_triggered_by_its_own_end() -> None:
    wf = Workflow("after_any", [Step("s", EmitEvent("noted"))], [EventTrigger("task_end")])
    e = Engine([wf, Workflow("other", [Step("s", EmitEvent("x"))])])
    e.runner.run("other")
    # other's end starts after_any once; after_any's own end does not start it again
    assert [t.workflow.id for t in e.runner.finished] == ["other", "after_any"]
    assert len(e.events("task_end")) == 2
