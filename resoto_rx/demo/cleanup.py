"""Cleanup: plan which resources go, order their deletion, and delete them against the cloud.

Planning mirrors Resoto's cleanup plugins (expired, untagged, unattached volumes) and only marks.
Deleting follows the ``depends_on`` edges: a resource is deleted after every resource that uses it.
A marked resource that is still used by something that will *not* be deleted is skipped with a
reason instead of being attempted, because the provider would refuse it anyway.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

import pandas as pd

from resoto_rx.demo.expiration import expiration_time
from resoto_rx.demo.graph import ResourceGraph
from resoto_rx.demo.model import Kind, as_utc


class CleanupReason(StrEnum):
    EXPIRED = "expired"
    UNATTACHED_VOLUME = "unattached_volume"
    UNTAGGED = "untagged"


DEFAULT_UNTAGGED_KINDS: frozenset[Kind] = frozenset({Kind.INSTANCE, Kind.VOLUME, Kind.SNAPSHOT})


@dataclass(frozen=True)
class CleanupConfig:
    """``enabled`` only gates deletion (the engine's cleanup step); planning always runs, as in Resoto."""

    untagged_older_than_days: float = 7
    unattached_volume_days: float = 3
    enabled: bool = False
    untagged_kinds: frozenset[Kind] = DEFAULT_UNTAGGED_KINDS

    def __post_init__(self) -> None:
        if self.untagged_older_than_days < 0 or self.unattached_volume_days < 0:
            raise ValueError("cleanup age thresholds must not be negative")


# ---------------------------------------------------------------------- planners


def find_expired(graph: ResourceGraph, now: datetime) -> dict[str, CleanupReason]:
    """Resources whose ``resoto:expires``/``expiration`` tag lies at or before ``now``."""
    now = as_utc(now)
    found: dict[str, CleanupReason] = {}
    for resource in graph.resources():
        expires_at = expiration_time(resource.tags, resource.created_at)
        if expires_at is not None and expires_at <= now:
            found[resource.id] = CleanupReason.EXPIRED
    return found


def find_untagged(
    graph: ResourceGraph, now: datetime, older_than_days: float = 7, kinds: Iterable[Kind | str] = ()
) -> dict[str, CleanupReason]:
    """Resources of ``kinds`` (default: instance, volume, snapshot) without an ``owner`` tag, older than the limit."""
    wanted = set(kinds) or set(DEFAULT_UNTAGGED_KINDS)
    cutoff = as_utc(now) - timedelta(days=older_than_days)
    return {
        resource.id: CleanupReason.UNTAGGED
        for resource in graph.resources()
        if resource.kind in wanted and not resource.tags.get("owner", "").strip() and resource.created_at < cutoff
    }


def find_unattached_volumes(
    graph: ResourceGraph, now: datetime, older_than_days: float = 3
) -> dict[str, CleanupReason]:
    """Volumes no instance depends on in the graph, older than the limit.

    Attachment is read from the graph edges rather than the ``attached_to`` attribute, so a volume whose
    instance was deleted counts as unattached even if a stale attribute still names it.
    """
    cutoff = as_utc(now) - timedelta(days=older_than_days)

    def attached(volume_id: str) -> bool:
        return any(graph.node(user).kind == Kind.INSTANCE for user in graph.dependents(volume_id))

    return {
        volume.id: CleanupReason.UNATTACHED_VOLUME
        for volume in graph.nodes(Kind.VOLUME)
        if volume.created_at < cutoff and not attached(volume.id)
    }


def plan_cleanup(graph: ResourceGraph, now: datetime, config: CleanupConfig | None = None) -> dict[str, CleanupReason]:
    """Run all planners, mark the result on ``graph`` (replacing earlier marks) and return it.

    A resource found by several planners gets one reason, the most specific: expired beats unattached
    beats untagged. One reason per resource keeps the per-reason metrics additive.
    """
    config = config or CleanupConfig()
    plan: dict[str, CleanupReason] = {}
    for found in (
        find_untagged(graph, now, config.untagged_older_than_days, config.untagged_kinds),
        find_unattached_volumes(graph, now, config.unattached_volume_days),
        find_expired(graph, now),
    ):
        plan.update(found)  # later planners overwrite earlier ones, hence the ascending priority above
    plan = dict(sorted(plan.items()))
    graph.set_cleanup(plan)
    return plan


# ---------------------------------------------------------------------- ordering

# Among resources that are ready at the same time, delete users before what they use; this only
# makes the order read naturally, correctness comes from the dependency counting below.
_KIND_RANK = {Kind.LOAD_BALANCER: 0, Kind.INSTANCE: 1, Kind.SNAPSHOT: 2, Kind.VOLUME: 3, Kind.SECURITY_GROUP: 4}


@dataclass(frozen=True)
class DeletionPlan:
    order: list[str]  # deletable marked resources, every dependent before what it depends on
    skipped: dict[str, str]  # marked resources that will not be deleted, and why


def plan_deletion(graph: ResourceGraph, marked_ids: Iterable[str]) -> DeletionPlan:
    marked = set(marked_ids)
    skipped: dict[str, str] = {}
    candidates: set[str] = set()
    for node_id in sorted(marked):
        node = graph.get(node_id)
        if node is None:
            skipped[node_id] = "not in the graph"
        elif node.is_hierarchy:
            skipped[node_id] = f"{node.kind} nodes are not deleted by cleanup"
        else:
            candidates.add(node_id)

    # A candidate is blocked when one of its dependents stays: unmarked, or itself blocked. Blocking
    # travels down the dependencies, so re-examine those whenever a node becomes blocked.
    queue = deque(sorted(candidates))
    while queue:
        node_id = queue.popleft()
        if node_id in skipped:
            continue
        for dependent in graph.dependents(node_id):
            if dependent not in candidates or dependent in skipped:
                why = "is not marked for cleanup" if dependent not in marked else "cannot be deleted"
                skipped[node_id] = f"still used by {graph.node(dependent).kind} {dependent}, which {why}"
                queue.extend(d for d in graph.dependencies(node_id) if d in candidates and d not in skipped)
                break

    # Kahn's algorithm over the deletable rest: ready once all of its dependents are deleted.
    deletable = candidates - skipped.keys()
    waiting_for = {node_id: len(graph.dependents(node_id)) for node_id in deletable}
    ready = [(_rank(graph, node_id), node_id) for node_id, count in waiting_for.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node_id = heapq.heappop(ready)
        order.append(node_id)
        for dependency in graph.dependencies(node_id):
            if dependency in waiting_for:
                waiting_for[dependency] -= 1
                if waiting_for[dependency] == 0:
                    heapq.heappush(ready, (_rank(graph, dependency), dependency))
    for node_id in sorted(deletable - set(order)):
        skipped[node_id] = "part of a dependency cycle"
    return DeletionPlan(order, dict(sorted(skipped.items())))


def cleanup_order(graph: ResourceGraph, marked_ids: Iterable[str]) -> list[str]:
    """The deletable marked resources, dependents first; see ``plan_deletion`` for what is skipped."""
    return plan_deletion(graph, marked_ids).order


def _rank(graph: ResourceGraph, node_id: str) -> int:
    return _KIND_RANK.get(graph.node(node_id).kind, len(_KIND_RANK))


# ---------------------------------------------------------------------- execution


class ResourceDeleter(Protocol):
    def delete(self, resource_id: str) -> None: ...


class Outcome(StrEnum):
    DELETED = "deleted"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ResourceOutcome:
    resource_id: str
    kind: str  # "" when the id is not in the graph
    outcome: Outcome
    message: str = ""


@dataclass(frozen=True)
class CleanupProgress:
    done: int
    total: int
    latest: ResourceOutcome


@dataclass
class CleanupReport:
    outcomes: list[ResourceOutcome] = field(default_factory=list)

    @property
    def deleted(self) -> list[str]:
        return [o.resource_id for o in self.outcomes if o.outcome == Outcome.DELETED]

    @property
    def failed(self) -> dict[str, str]:
        return {o.resource_id: o.message for o in self.outcomes if o.outcome == Outcome.FAILED}

    @property
    def skipped(self) -> dict[str, str]:
        return {o.resource_id: o.message for o in self.outcomes if o.outcome == Outcome.SKIPPED}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "resource_id": [o.resource_id for o in self.outcomes],
                "kind": [o.kind for o in self.outcomes],
                "outcome": [str(o.outcome) for o in self.outcomes],
                "message": [o.message for o in self.outcomes],
            }
        )


def execute_cleanup(
    cloud: ResourceDeleter,
    graph: ResourceGraph,
    marked: Iterable[str],  # ids, or a plan mapping id -> reason
    progress: Callable[[CleanupProgress], None] | None = None,
) -> CleanupReport:
    """Delete the marked resources in dependency order through ``cloud.delete``.

    Every marked id ends up in the report exactly once: skipped (by the plan, or because a dependent
    of it was not deleted), failed (the provider refused; the message says why) or deleted.
    The graph is left as collected: the next collect shows what is really gone.
    """
    plan = plan_deletion(graph, marked)
    total = len(plan.order) + len(plan.skipped)
    report = CleanupReport()

    def record(resource_id: str, outcome: Outcome, message: str = "") -> None:
        node = graph.get(resource_id)
        report.outcomes.append(ResourceOutcome(resource_id, str(node.kind) if node else "", outcome, message))
        if progress is not None:
            progress(CleanupProgress(len(report.outcomes), total, report.outcomes[-1]))

    for resource_id, reason in plan.skipped.items():
        record(resource_id, Outcome.SKIPPED, reason)
    remaining = set(plan.skipped)  # marked resources that are still there after this run
    for resource_id in plan.order:
        kept = [dependent for dependent in graph.dependents(resource_id) if dependent in remaining]
        if kept:
            remaining.add(resource_id)
            record(resource_id, Outcome.SKIPPED, f"dependent {kept[0]} was not deleted")
            continue
        try:
            cloud.delete(resource_id)
        except Exception as error:  # noqa: BLE001 - one failing resource must not abort the run; it is reported
            remaining.add(resource_id)
            record(resource_id, Outcome.FAILED, f"{type(error).__name__}: {error}")
        else:
            record(resource_id, Outcome.DELETED)
    return report
