"""pandas views for notebooks: history, runs, step durations, job runs, the simulated cloud.

Each reuses the ``to_frame`` / ``*_frame`` method of the object it views and only settles dtypes:
times are UTC datetimes, repeated labels are categories (half the memory, PITFALLS.md), steps are
ordered categories in workflow order (so plots and pivots follow the workflow, not the alphabet).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from resoto_rx.bus import EventBus
from resoto_rx.frames import as_categories
from resoto_rx.history import History
from resoto_rx.workflows.runner import TaskRunner

if TYPE_CHECKING:
    from resoto_rx.demo.plugin import DemoCloud

RESOURCE_CATEGORIES = ("kind", "cloud", "account", "region", "cleanup_reason")
METRIC_CATEGORIES = ("name", "cloud", "account", "region", "kind", "reason")


class JobHistory(Protocol):
    """What :func:`job_runs_frame` needs of a job registry (``resoto_rx.jobs.JobRegistry``)."""

    def history(self, job_id: str | None = None) -> pd.DataFrame: ...


def history_frame(
    source: EventBus | History,
    *message_types: str,
    since: int | None = None,
    flatten: bool = False,
) -> pd.DataFrame:
    """The bus history as a DataFrame (``History.to_frame``), optionally only some types or ids.

    >>> bus = EventBus()
    >>> bus.emit("collect_done", {"count": 3})
    >>> history_frame(bus, "collect_done", flatten=True)[["id", "message_type", "data.count"]]
       id  message_type  data.count
    0   1  collect_done           3
    >>> bus.close()
    """
    history = source.history if isinstance(source, EventBus) else source
    if not message_types and since is None:
        return history.to_frame(flatten=flatten)
    frame = history.to_frame()
    keep = pd.Series(True, index=frame.index)
    if message_types:
        keep &= frame["message_type"].isin(message_types)
    if since is not None:
        keep &= frame["id"] > since
    frame = frame[keep].reset_index(drop=True)
    frame["message_type"] = frame["message_type"].cat.remove_unused_categories()
    if not flatten:
        return frame
    # flattened after filtering: only the data keys of the kept types become columns
    flat = pd.DataFrame(list(frame.pop("data")), index=frame.index)
    flat.columns = [f"data.{key}" for key in flat.columns]
    return pd.concat([frame, flat], axis=1)


def runs_frame(runner: TaskRunner) -> pd.DataFrame:
    """One row per kept run (``TaskRunner.runs_frame``) plus ``duration_s`` (NaN while running)."""
    frame = runner.runs_frame()
    frame["duration_s"] = (frame["finished_at"] - frame["started_at"]).dt.total_seconds().astype("float64")
    return frame


def steps_frame(runner: TaskRunner) -> pd.DataFrame:
    """One row per step of every kept run (``TaskRunner.steps_frame``), ``step`` ordered as in the workflows."""
    frame = runner.steps_frame()
    order = _step_order(runner, frame["step"].astype("str").unique().tolist())
    frame["step"] = pd.Categorical(frame["step"].astype("str"), categories=order, ordered=True)
    return frame


def step_durations(runner: TaskRunner, workflow: str | None = None) -> pd.DataFrame:
    """Seconds per step (columns, in workflow order) of each run (rows, indexed by start time, oldest first).

    A picture of where a workflow spends its time: ``step_durations(runner).plot.barh(stacked=True)``.
    """
    steps = steps_frame(runner)
    if workflow is not None:
        steps = steps[steps["workflow"] == workflow]
    if steps.empty:
        index = pd.DatetimeIndex([], dtype="datetime64[us, UTC]", name="run_started_at")
        return pd.DataFrame(index=index, dtype="float64")
    runs = runs_frame(runner).set_index("task_id")["started_at"]
    steps = steps.assign(started=steps["task_id"].map(runs))
    table = steps.pivot_table(index="started", columns="step", values="duration_s", aggfunc="sum", observed=True)
    table.index.name = "run_started_at"
    table.columns = pd.CategoricalIndex(table.columns.astype("str"), categories=list(table.columns.astype("str")))
    return table.sort_index()


def job_runs_frame(jobs: JobHistory, job_id: str | None = None) -> pd.DataFrame:
    """The job registry's kept runs (``JobRegistry.history``), times in UTC, labels as categories."""
    return as_categories(jobs.history(job_id), ("reason", "trigger"))  # times and job/status are typed already


def resources_frame(demo: DemoCloud) -> pd.DataFrame:
    """The last collected resources (``ResourceGraph.to_frame``), ``cleanup`` / ``cleanup_reason`` from the
    last plan; kinds, clouds, accounts, regions and reasons as categories."""
    frame = demo.graph.to_frame()
    if demo.plan:  # the planner keeps its plan beside the graph rather than marking it
        reasons = pd.Series(demo.plan, dtype="str")
        frame["cleanup"] = frame["id"].isin(reasons.index)
        frame["cleanup_reason"] = frame["id"].map(reasons)
    return as_categories(frame, RESOURCE_CATEGORIES)


def cleanup_candidates(demo: DemoCloud) -> pd.DataFrame:
    """The resources the last plan marked for cleanup, with the reason."""
    frame = resources_frame(demo)
    return frame[frame["cleanup"]].reset_index(drop=True)


def metrics_frame(demo: DemoCloud) -> pd.DataFrame:
    """The last computed metrics (``Metrics.to_frame``), labels as categories; empty before the first run."""
    if demo.metrics is None:
        empty = pd.DataFrame({c: pd.Series(dtype="str") for c in METRIC_CATEGORIES})
        return as_categories(empty.assign(value=pd.Series(dtype="float64")), METRIC_CATEGORIES)
    return as_categories(demo.metrics.to_frame(), METRIC_CATEGORIES)


def _step_order(runner: TaskRunner, present: Sequence[Any]) -> list[str]:
    order: list[str] = []
    for workflow in runner.workflows.values():
        order.extend(s.name for s in workflow.steps if s.name not in order)
    order.extend(str(s) for s in present if str(s) not in order)
    return [s for s in order if s in set(map(str, present))]
