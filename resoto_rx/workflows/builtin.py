"""The built-in workflows of resotocore 3.9, with the same steps in the same order (PROTOCOL.md §2)."""

from __future__ import annotations

from datetime import timedelta

from resoto_rx.workflows.model import (
    EventTrigger,
    PerformAction,
    Step,
    Surpass,
    TimeTrigger,
    WaitForGraphMerge,
    Workflow,
)

DEFAULT_SCHEDULE = "0 * * * *"  # collect_and_cleanup runs hourly unless configured otherwise
GRAPH_MERGE_TIMEOUT = timedelta(minutes=10)


def _actions(*names: str) -> list[Step]:
    return [Step(name, PerformAction(name)) for name in names]


COLLECT_STEPS = [
    *_actions("pre_collect", "collect"),
    Step("wait_for_graph_merged", WaitForGraphMerge(), GRAPH_MERGE_TIMEOUT),
    *_actions("merge_outer_edges", "post_collect"),
]
CLEANUP_STEPS = _actions(
    "pre_cleanup_plan", "cleanup_plan", "post_cleanup_plan", "pre_cleanup", "cleanup", "post_cleanup"
)
METRICS_STEPS = _actions("pre_generate_metrics", "generate_metrics", "post_generate_metrics")


def builtin_workflows(schedule: str | None = DEFAULT_SCHEDULE, timezone: str = "UTC") -> list[Workflow]:
    """``collect``, ``cleanup``, ``metrics`` and ``collect_and_cleanup``, each started by ``start_<id>_workflow``.

    ``collect_and_cleanup`` also runs on ``schedule`` (hourly by default; None: no schedule).
    """

    def workflow(name: str, steps: list[Step], cron: str | None = None) -> Workflow:
        triggers: list[EventTrigger | TimeTrigger] = [EventTrigger(f"start_{name}_workflow")]
        if cron is not None:
            triggers.append(TimeTrigger(cron, timezone))
        return Workflow(name, steps, triggers, Surpass.Wait)

    return [
        workflow("collect", COLLECT_STEPS + METRICS_STEPS),
        workflow("cleanup", CLEANUP_STEPS + METRICS_STEPS),
        workflow("metrics", METRICS_STEPS),
        workflow("collect_and_cleanup", COLLECT_STEPS + CLEANUP_STEPS + METRICS_STEPS, schedule),
    ]
