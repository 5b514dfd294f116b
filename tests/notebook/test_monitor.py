"""WorkflowMonitor in virtual time: bars per phase, current step, errors, final summary, throttled redraws."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from resoto_rx import ActionProgress
from resoto_rx.app import ResotoRx
from resoto_rx.notebook import WorkflowMonitor
from resoto_rx.workflows.builtin import CLEANUP_STEPS, COLLECT_STEPS, METRICS_STEPS
from tests.notebook.conftest import VirtualClock, max_per_second

ALL_STEPS = [s.name for s in COLLECT_STEPS + CLEANUP_STEPS + METRICS_STEPS]


@pytest.fixture
def core(scheduler: VirtualClock) -> Iterator[ResotoRx]:
    with ResotoRx(store=None, schedule=None, scheduler=scheduler) as made:
        yield made


@pytest.fixture
def bare(scheduler: VirtualClock) -> Iterator[ResotoRx]:
    """No simulated cloud: the tests' own subscribers report all progress."""
    with ResotoRx(store=None, schedule=None, scheduler=scheduler, demo=False) as made:
        yield made


def test_idle_then_a_full_run_reaches_100_on_every_phase_with_a_summary(
    core: ResotoRx, scheduler: VirtualClock
) -> None:
    monitor = WorkflowMonitor(core, scheduler=scheduler)
    assert monitor.state().status == "idle"
    widget = monitor.widget
    assert "waiting for a run" in widget.children[0].value

    run = core.runner.run("collect_and_cleanup")
    assert run is not None
    scheduler.advance_by(5.0)
    state = monitor.state()
    assert state.status == "done" and state.finished
    assert [p.name for p in state.phases] == ALL_STEPS
    assert {p.percentage for p in state.phases} == {100}
    assert {p.status for p in state.phases} == {"done"}
    assert state.summary is not None and state.summary["collected"] > 0 and state.summary["status"] == "done"
    assert state.errors == ()

    bars = [row.children[0] for row in widget.children[1].children]
    assert [(b.description, b.value, b.bar_style) for b in bars] == [(n, 100, "success") for n in ALL_STEPS]
    assert "collected" in widget.children[2].value
    frame = monitor.phases_frame()
    assert frame["phase"].tolist() == ALL_STEPS
    assert str(frame["started_at"].dtype) == "datetime64[us, UTC]"
    assert frame["duration_s"].dtype == "float64"
    monitor.close()


def test_mid_run_shows_the_current_step_and_reported_progress(bare: ResotoRx, scheduler: VirtualClock) -> None:
    core = bare
    core.runner.registry.add_subscription("slow-collector", "collect", True, 60)
    monitor = WorkflowMonitor(core.runner, workflow="collect", scheduler=scheduler)
    monitor.widget  # noqa: B018
    core.runner.run("metrics")  # another workflow: not followed
    assert monitor.run is None
    run = core.runner.run("collect")
    assert run is not None
    scheduler.advance_by(1.0)
    progress = {"kind": "progress", "name": "account-1", "current": 1, "total": 4}
    core.bus.emit(
        ActionProgress("collect", task=run.id, step="collect", subscriber_id="slow-collector", progress=progress)
    )
    scheduler.advance_by(1.0)
    state = monitor.state()
    assert state.status == "running" and state.current_step == "collect"
    phases = {p.name: p for p in state.phases}
    assert phases["pre_collect"].status == "done"
    assert (phases["collect"].status, phases["collect"].percentage) == ("running", 25)
    assert phases["post_collect"].status == "waiting"

    scheduler.advance_by(120.0)  # the slow collector never answers: the step times out
    state = monitor.state()
    assert state.finished
    assert state.errors == ("collect: timed out after 60s waiting for slow-collector",)
    assert {p.name: p.status for p in state.phases}["collect"] == "failed"
    assert "timed out" in monitor.widget.children[2].value
    monitor.close()


def test_failing_subscriber_shows_as_an_error_of_its_phase(core: ResotoRx, scheduler: VirtualClock) -> None:
    from resoto_rx.workflows import subscribe_action

    def broken(_: object) -> None:
        raise RuntimeError("credentials expired")

    subscribe_action(core.bus, core.runner.registry, "cleanup_plan", broken, "broken-planner")
    monitor = WorkflowMonitor(core, scheduler=scheduler)
    core.runner.run("collect_and_cleanup")
    scheduler.advance_by(10.0)
    state = monitor.state()
    phases = {p.name: p for p in state.phases}
    assert phases["cleanup_plan"].status == "failed"
    assert any("credentials expired" in e for e in state.errors)
    monitor.close()


def test_progress_at_1000_per_second_redraws_at_most_20_per_second(bare: ResotoRx, scheduler: VirtualClock) -> None:
    core = bare
    core.runner.registry.add_subscription("busy-collector", "collect", True, 3600)
    monitor = WorkflowMonitor(core, scheduler=scheduler)
    monitor.widget  # noqa: B018
    run = core.runner.run("collect")
    assert run is not None
    start = scheduler.clock + 1.0
    for i in range(10_000):
        progress = {"kind": "progress", "name": "accounts", "current": i + 1, "total": 10_000}
        message = ActionProgress(
            "collect", task=run.id, step="collect", subscriber_id="busy-collector", progress=progress
        )
        scheduler.schedule_absolute(start + i / 1000, lambda *_, m=message: core.bus.emit(m))
    scheduler.advance_to(start + 11.0)
    assert max_per_second(monitor) <= 20
    assert monitor.updates <= 20 * 12
    phases = {p.name: p for p in monitor.state().phases}
    assert (phases["collect"].status, phases["collect"].percentage) == ("running", 100)
    bar = next(
        row.children[0] for row in monitor.widget.children[1].children if row.children[0].description == "collect"
    )
    assert bar.value == 100  # the last progress (10000/10000) was drawn
    monitor.close()
