"""The simulated cloud plugged into the real workflow engine, in virtual time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from reactivex.testing import TestScheduler

from resoto_rx import ActionProgress, EventBus, Message
from resoto_rx.demo import SimulatedCloud
from resoto_rx.demo.plugin import DemoCloud
from resoto_rx.workflows import TaskRunner, TaskStatus


class World:
    def __init__(self) -> None:
        self.scheduler = TestScheduler()
        self.bus = EventBus()
        self.messages: list[Message] = []
        self.bus.listen().subscribe(self.messages.append)
        self.runner = TaskRunner(self.bus, scheduler=self.scheduler)
        self.demo = DemoCloud(self.runner, SimulatedCloud(seed=7))

    def close(self) -> None:
        self.demo.close()
        self.runner.close()
        self.bus.close()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    yield w
    w.close()


def test_collect_waits_for_the_graph_merge_before_merge_outer_edges(world: World) -> None:
    run = world.runner.run("collect")
    assert run is not None
    assert run.current_step == "wait_for_graph_merged" and run.active
    assert "merge_outer_edges" not in [m.message_type for m in world.messages if m.kind == "action"]
    world.scheduler.advance_by(0.001)  # the merge runs on the scheduler, after the collector answered
    assert run.status is TaskStatus.done
    merged = next(m for m in world.messages if m.message_type == "graph-merge-completed")
    types = [m.message_type for m in world.messages]
    assert types.index("graph-merge-completed") < types.index("merge_outer_edges")
    assert merged.data["merged"] == len(world.demo.graph.resources()) > 0


def test_collect_reports_progress_per_account(world: World) -> None:
    world.runner.run("collect")
    world.scheduler.advance_by(0.001)
    progress = [m.progress for m in world.messages if isinstance(m, ActionProgress)]
    accounts = world.demo.cloud.account_ids()
    assert [(p["name"], p["current"], p["total"]) for p in progress] == [
        *((a, 0, 1) for a in accounts),
        *((a, 1, 1) for a in accounts),
    ]
    assert {p["path"][0] for p in progress} == {"aws", "gcp"}


def test_cleanup_plans_only_until_enabled_then_deletes_in_dependency_order(world: World) -> None:
    first = world.runner.run("collect_and_cleanup")
    world.scheduler.advance_by(0.001)
    assert first is not None and first.status is TaskStatus.done
    planned = dict(world.demo.plan)
    assert planned, "the seeded cloud has cleanup candidates"
    assert world.demo.report is None and all(rid in world.demo.cloud for rid in planned)
    infos = [m.message for m in world.messages if m.kind == "action_info"]  # type: ignore[attr-defined]
    assert any("cleanup disabled" in i for i in infos)

    world.demo.enable_cleanup()
    second = world.runner.run("collect_and_cleanup")
    world.scheduler.advance_by(0.001)
    assert second is not None and second.status is TaskStatus.done
    report = world.demo.report
    assert report is not None and report.deleted
    assert all(rid not in world.demo.cloud for rid in report.deleted)
    # The next collect no longer sees what was deleted.
    world.runner.run("collect")
    world.scheduler.advance_by(0.001)
    assert not set(report.deleted) & {r.id for r in world.demo.graph.resources()}


def test_metrics_are_cached_until_the_next_collect(world: World) -> None:
    world.runner.run("collect_and_cleanup")
    world.scheduler.advance_by(0.001)
    metrics = world.demo.metrics
    assert metrics is not None and metrics.total_resources == len(world.demo.graph.resources())
    world.runner.run("metrics")
    assert world.demo.metrics is metrics
    world.runner.run("collect")
    world.scheduler.advance_by(0.001)
    assert world.demo.metrics is not metrics


def test_the_hourly_schedule_runs_the_whole_cycle_on_a_changing_cloud(world: World) -> None:
    world.scheduler.advance_by(timedelta(hours=3, minutes=1))
    runs = [t for t in world.runner.finished if t.workflow.id == "collect_and_cleanup"]
    assert len(runs) == 3 and all(t.reason == "time" and t.status is TaskStatus.done for t in runs)
    assert world.demo.collects == 3
    assert world.demo.cloud.now > world.demo.graph.resources()[0].created_at


def test_summary_names_what_happened(world: World) -> None:
    world.demo.enable_cleanup()
    world.runner.run("collect_and_cleanup")
    world.scheduler.advance_by(0.001)
    summary = world.demo.summary()
    assert summary["collected"] == sum(summary["by_kind"].values())
    assert summary["planned_for_cleanup"] == len(world.demo.plan)
    assert summary["deleted"] + summary["skipped"] + summary["failed"] == summary["planned_for_cleanup"]
    assert summary["metrics"]["total_resources"] == summary["collected"]
