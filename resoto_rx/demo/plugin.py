"""The simulated cloud as a plugin of the workflow engine: ordinary action subscribers on the bus.

collect            each account is collected (progress per account) and handed to the graph merger;
                   the merges finish on the scheduler, which ends ``wait_for_graph_merged``
cleanup_plan       the planners mark resources (expired, untagged and old, unattached volumes)
cleanup            marked resources are deleted in dependency order, only when cleanup is enabled
generate_metrics   metrics of the graph and the plan, kept until the next collect
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from reactivex import abc
from reactivex.disposable import CompositeDisposable

from resoto_rx.demo.cleanup import CleanupConfig, CleanupProgress, CleanupReport, execute_cleanup, plan_cleanup
from resoto_rx.demo.cloud import SimulatedCloud
from resoto_rx.demo.graph import ResourceGraph
from resoto_rx.demo.metrics import Metrics, compute_metrics
from resoto_rx.demo.model import AccountInventory
from resoto_rx.messages import Json
from resoto_rx.workflows.runner import TaskRunner
from resoto_rx.workflows.worker import ActionCall, subscribe_action

log = logging.getLogger(__name__)


class DemoCloud:
    """Plug a :class:`SimulatedCloud` into ``runner``: ``DemoCloud(runner).summary()`` after a run.

    Between two collects the simulated cloud's clock moves by the time that passed on the runner's
    scheduler, and new resources appear, so successive runs see a changing cloud.
    """

    def __init__(
        self, runner: TaskRunner, cloud: SimulatedCloud | None = None, config: CleanupConfig | None = None
    ) -> None:
        self.runner = runner
        self.cloud = cloud or SimulatedCloud()
        self.config = config or CleanupConfig()
        self.graph = ResourceGraph()
        self.plan: dict[str, str] = {}
        self.report: CleanupReport | None = None
        self.metrics: Metrics | None = None
        self.collects = 0
        self._last_collect_at: datetime | None = None
        bus, registry = runner.bus, runner.registry
        self._subscriptions = CompositeDisposable(
            subscribe_action(bus, registry, "collect", self._collect, "demo-collector"),
            subscribe_action(bus, registry, "cleanup_plan", self._plan, "demo-cleanup-planner"),
            subscribe_action(bus, registry, "cleanup", self._cleanup, "demo-cleaner"),
            subscribe_action(bus, registry, "generate_metrics", self._metrics, "demo-metrics"),
        )

    @property
    def subscription(self) -> abc.DisposableBase:
        return self._subscriptions

    def enable_cleanup(self, enabled: bool = True) -> None:
        """Let the next ``cleanup`` step delete what the plan marked (off by default, as in Resoto)."""
        self.config = replace(self.config, enabled=enabled)

    # ------------------------------------------------------------ handlers
    def _collect(self, call: ActionCall) -> None:
        now = self.runner.scheduler.now
        if self._last_collect_at is not None and now > self._last_collect_at:
            self.cloud.tick((now - self._last_collect_at).total_seconds() / 3600)
        self._last_collect_at = now
        # One progress part per account, as Resoto's collectors report them: 0/1 until collected.
        accounts = self.cloud.account_ids()
        for account in accounts:
            call.progress(account, 0, 1, path=[self.cloud.cloud_of(account)])
        inventories = []
        for account in accounts:
            inventories.append(self.cloud.collect_account(account))
            call.progress(account, 1, 1, path=[inventories[-1].cloud])
        # The merge runs after the collector answered, as resotocore merges uploaded graphs in the
        # background: `wait_for_graph_merged` holds the workflow until it is done.
        merges = self.runner.merges
        merges.begin(call.task)
        self.runner.scheduler.schedule(lambda *_: self._merge(call.task, inventories))
        self.collects += 1

    def _merge(self, task_id: str, inventories: list[AccountInventory]) -> None:
        graph = ResourceGraph()
        for inventory in inventories:
            graph.merge(inventory)
        self.graph = graph
        self.plan, self.report, self.metrics = {}, None, None  # they described the previous graph
        self.runner.merges.end(task_id, merged=len(graph.resources()))

    def _plan(self, call: ActionCall) -> None:
        self.plan = {rid: str(reason) for rid, reason in plan_cleanup(self.graph, self.cloud.now, self.config).items()}
        call.info(f"{len(self.plan)} of {len(self.graph.resources())} resources planned for cleanup")

    def _cleanup(self, call: ActionCall) -> None:
        if not self.config.enabled:
            call.info(f"cleanup disabled: {len(self.plan)} resources planned, none deleted")
            return

        def progress(step: CleanupProgress) -> None:
            call.progress("delete", step.done, step.total)

        self.report = execute_cleanup(self.cloud, self.graph, self.plan, progress)
        if self.report.failed:
            call.info(f"{len(self.report.failed)} deletions failed", level="warning")

    def _metrics(self, call: ActionCall) -> None:
        if self.metrics is None:  # cached until the next collect
            self.metrics = compute_metrics(self.graph, self.plan)

    # ------------------------------------------------------------- results
    def summary(self) -> Json:
        """What the last cycle did: resources collected, planned for cleanup, deleted, metrics."""
        result: dict[str, Any] = {
            "collected": len(self.graph.resources()),
            "by_kind": self.graph.counts(),
            "planned_for_cleanup": len(self.plan),
            "cleanup_enabled": self.config.enabled,
            "deleted": len(self.report.deleted) if self.report else 0,
            "failed": len(self.report.failed) if self.report else 0,
            "skipped": len(self.report.skipped) if self.report else 0,
        }
        if self.metrics is not None:
            result["metrics"] = {
                "total_resources": self.metrics.total_resources,
                "total_cores": self.metrics.total_cores,
                "candidates_by_reason": self.metrics.candidates_by_reason,
            }
        return result

    def close(self) -> None:
        self._subscriptions.dispose()
