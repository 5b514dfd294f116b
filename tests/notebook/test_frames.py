"""pandas views: the existing to_frame methods, with UTC times, categories and workflow-ordered steps."""

from __future__ import annotations

import pandas as pd
import pytest

from resoto_rx.app import ResotoRx
from resoto_rx.jobs import Job
from resoto_rx.notebook import (
    StepDurationsPlot,
    cleanup_candidates,
    history_frame,
    job_runs_frame,
    metrics_frame,
    plot_step_durations,
    resources_frame,
    runs_frame,
    step_durations,
    steps_frame,
)
from resoto_rx.workflows.builtin import COLLECT_STEPS
from tests.notebook.conftest import VirtualClock

UTC_US = "datetime64[us, UTC]"


@pytest.fixture
def core(scheduler: VirtualClock) -> ResotoRx:
    made = ResotoRx(store=None, schedule=None, scheduler=scheduler)
    assert metrics_frame(made.demo).empty  # type: ignore[arg-type]
    for _ in range(3):
        made.runner.run("collect_and_cleanup")
        scheduler.advance_by(3600.0)
    return made


def test_history_runs_and_steps(core: ResotoRx) -> None:
    ends = history_frame(core.bus, "task_end", flatten=True)
    assert len(ends) == 3 and ends["data.success"].all()
    assert ends["message_type"].cat.categories.tolist() == ["task_end"]
    assert str(ends["at"].dtype) == UTC_US
    assert history_frame(core.bus, since=int(ends["id"].iloc[-1])).empty
    assert len(history_frame(core.bus)) == len(core.bus.history)

    runs = runs_frame(core.runner)
    assert runs["duration_s"].dtype == "float64" and runs["duration_s"].notna().all()
    assert isinstance(runs["status"].dtype, pd.CategoricalDtype)
    steps = steps_frame(core.runner)
    assert steps["step"].cat.ordered
    assert steps["step"].cat.categories[: len(COLLECT_STEPS)].tolist() == [s.name for s in COLLECT_STEPS]
    durations = step_durations(core.runner, "collect_and_cleanup")
    assert durations.shape == (3, 14)
    assert durations.columns.tolist()[0] == "pre_collect"
    assert str(durations.index.dtype) == UTC_US
    core.close()


def test_the_simulated_cloud_and_jobs(core: ResotoRx, scheduler: VirtualClock) -> None:
    assert core.demo is not None
    resources = resources_frame(core.demo)
    assert isinstance(resources["kind"].dtype, pd.CategoricalDtype)
    assert str(resources["created_at"].dtype) == UTC_US
    candidates = cleanup_candidates(core.demo)
    assert len(candidates) == len(core.demo.plan) > 0
    assert set(candidates["cleanup_reason"].astype("str")) <= {"expired", "untagged", "unattached"} | set(
        core.demo.plan.values()
    )
    metrics = metrics_frame(core.demo)
    assert metrics["value"].dtype == "float64" and isinstance(metrics["name"].dtype, pd.CategoricalDtype)

    core.jobs.add(Job("count", lambda trigger: 1))
    core.jobs.run("count")
    scheduler.advance_by(1.0)
    jobs = job_runs_frame(core.jobs)
    assert jobs["job"].tolist() == ["count"]
    assert str(jobs["started_at"].dtype) == UTC_US
    core.close()


def test_step_durations_before_any_run(scheduler: VirtualClock) -> None:
    with ResotoRx(store=None, schedule=None, scheduler=scheduler) as core:
        durations = step_durations(core.runner)
        assert durations.empty and str(durations.index.dtype) == UTC_US
        assert plot_step_durations(durations).get_title() == "step durations per run"
        plot = StepDurationsPlot(core.runner, scheduler=scheduler)
        assert plot.widget.value[:4] == b"\x89PNG"
        plot.close()


def test_step_durations_plot(core: ResotoRx, scheduler: VirtualClock) -> None:
    ax = plot_step_durations(step_durations(core.runner))
    assert len(ax.get_yticklabels()) == 3
    plot = StepDurationsPlot(core.runner, scheduler=scheduler)
    image = plot.widget
    assert image.value[:8] == b"\x89PNG\r\n\x1a\n"
    before = plot.updates
    core.runner.run("metrics")
    scheduler.advance_by(5.0)
    assert plot.updates == before + 1
    plot.close()
    core.close()


def test_a_plot_of_one_workflow_ignores_the_ends_of_others(core: ResotoRx, scheduler: VirtualClock) -> None:
    plot = StepDurationsPlot(core.runner, workflow="collect", scheduler=scheduler)
    _ = plot.widget  # displayed: a redraw renders a PNG
    before = plot.updates
    core.runner.run("metrics")
    scheduler.advance_by(5.0)
    assert plot.updates == before  # not its workflow: nothing rendered
    core.runner.run("collect")
    scheduler.advance_by(5.0)
    assert plot.updates == before + 1
    plot.close()
    core.close()
