from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resoto_rx.demo import (
    CleanupConfig,
    CleanupProgress,
    CleanupReason,
    Kind,
    Outcome,
    ResourceGraph,
    ResourceNotFoundError,
    SimulatedCloud,
    cleanup_order,
    execute_cleanup,
    expiration_time,
    find_expired,
    find_unattached_volumes,
    find_untagged,
    parse_duration,
    parse_timestamp,
    plan_cleanup,
    plan_deletion,
)

from .builders import ACCOUNT, NOW, REGION_ID, collect_all, resource, tiny_graph

# ---------------------------------------------------------------------- expiration tags


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", timedelta(hours=12)),
        ("2d", timedelta(days=2)),
        ("3w", timedelta(weeks=3)),
        ("90m", timedelta(minutes=90)),
        ("1d12h", timedelta(hours=36)),
        ("1w 2d, 3h", timedelta(days=9, hours=3)),
        ("7 days", timedelta(days=7)),
        ("1.5 Hours", timedelta(minutes=90)),
        ("30s", timedelta(seconds=30)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "never", "12", "h12", "2 fortnights", "2024-05-01", "1d-2h"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:40:11Z", datetime(2024, 5, 1, 10, 40, 11, tzinfo=UTC)),
        ("2024-05-01T12:40:11+02:00", datetime(2024, 5, 1, 10, 40, 11, tzinfo=UTC)),
        ("2024-05-01T10:40:11", datetime(2024, 5, 1, 10, 40, 11, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected
    assert parse_timestamp(text).tzinfo == UTC


def test_expiration_time_formats_and_precedence() -> None:
    created = datetime(2024, 5, 1, tzinfo=UTC)
    assert expiration_time({"expiration": "2d"}, created) == created + timedelta(days=2)
    assert expiration_time({"resoto:expiration": "12h"}, created) == created + timedelta(hours=12)
    assert expiration_time({"expiration": "2024-05-10"}, created) == datetime(2024, 5, 10, tzinfo=UTC)
    absolute = {"resoto:expires": "2024-05-03T00:00:00Z", "expiration": "1h"}
    assert expiration_time(absolute, created) == datetime(2024, 5, 3, tzinfo=UTC)
    assert expiration_time({"resoto:expires": "soon", "expiration": "1h"}, created) == created + timedelta(hours=1)
    assert expiration_time({"expiration": "never"}, created) is None
    assert expiration_time({"owner": "alice"}, created) is None


# ---------------------------------------------------------------------- planners


def test_find_expired_is_inclusive_at_now() -> None:
    graph = tiny_graph(
        [
            resource("due", Kind.INSTANCE, age_days=2, tags={"expiration": "2d"}),
            resource("later", Kind.INSTANCE, age_days=2, tags={"expiration": "2d1s"}),
            resource("iso", Kind.BUCKET, tags={"resoto:expires": "2024-06-01T11:59:59Z"}),
            resource("bad", Kind.VOLUME, tags={"expiration": "never"}),
            resource("none", Kind.VOLUME),
        ]
    )
    assert find_expired(graph, NOW) == {"due": CleanupReason.EXPIRED, "iso": CleanupReason.EXPIRED}


def test_find_untagged_respects_age_owner_and_kinds() -> None:
    graph = tiny_graph(
        [
            resource("old-untagged", Kind.INSTANCE, age_days=8),
            resource("old-no-owner", Kind.SNAPSHOT, age_days=8, tags={"env": "dev"}),
            resource("old-blank-owner", Kind.VOLUME, age_days=8, tags={"owner": " "}),
            resource("old-owned", Kind.INSTANCE, age_days=8, tags={"owner": "alice"}),
            resource("young", Kind.INSTANCE, age_days=6),
            resource("exactly-7", Kind.INSTANCE, age_days=7),
            resource("bucket", Kind.BUCKET, age_days=80),
            resource("sg", Kind.SECURITY_GROUP, age_days=80),
        ]
    )
    assert set(find_untagged(graph, NOW)) == {"old-untagged", "old-no-owner", "old-blank-owner"}
    assert set(find_untagged(graph, NOW, older_than_days=5)) == {
        "old-untagged", "old-no-owner", "old-blank-owner", "young", "exactly-7",
    }  # fmt: skip
    assert set(find_untagged(graph, NOW, kinds=[Kind.BUCKET])) == {"bucket"}


def test_find_unattached_volumes_uses_graph_edges() -> None:
    graph = tiny_graph(
        [
            resource("i1", Kind.INSTANCE),
            resource("attached", Kind.VOLUME, age_days=30),
            # the attribute is stale (instance gone); the graph is what counts
            resource("stale", Kind.VOLUME, age_days=30, attached_to="i-gone"),
            resource("snapshotted", Kind.VOLUME, age_days=30),
            resource("s1", Kind.SNAPSHOT),
            resource("fresh", Kind.VOLUME, age_days=1),
        ],
        depends=[("i1", "attached"), ("s1", "snapshotted")],
    )
    assert set(find_unattached_volumes(graph, NOW)) == {"stale", "snapshotted"}
    assert set(find_unattached_volumes(graph, NOW, older_than_days=0.5)) == {"stale", "snapshotted", "fresh"}


def test_plan_cleanup_picks_one_reason_and_marks_the_graph() -> None:
    graph = tiny_graph(
        [
            resource("expired-and-untagged", Kind.VOLUME, age_days=30, tags={"expiration": "1d"}),
            resource("unattached-and-untagged", Kind.VOLUME, age_days=30),
            resource("untagged", Kind.INSTANCE, age_days=30),
            resource("owned", Kind.INSTANCE, age_days=30, tags={"owner": "bob"}),
        ]
    )
    graph.mark_cleanup("owned", "stale mark from an earlier plan")
    plan = plan_cleanup(graph, NOW, CleanupConfig())
    assert plan == {
        "expired-and-untagged": CleanupReason.EXPIRED,
        "unattached-and-untagged": CleanupReason.UNATTACHED_VOLUME,
        "untagged": CleanupReason.UNTAGGED,
    }
    assert dict(graph.cleanup) == plan


def test_cleanup_config_defaults_and_validation() -> None:
    config = CleanupConfig()
    assert (config.untagged_older_than_days, config.unattached_volume_days, config.enabled) == (7, 3, False)
    with pytest.raises(ValueError, match="negative"):
        CleanupConfig(untagged_older_than_days=-1)


def test_plan_on_the_simulated_cloud_finds_every_reason() -> None:
    graph = collect_all(SimulatedCloud(now=NOW))
    plan = plan_cleanup(graph, NOW)
    assert set(plan.values()) == set(CleanupReason)
    assert all(not graph.node(resource_id).is_hierarchy for resource_id in plan)


# ---------------------------------------------------------------------- ordering


def stack() -> ResourceGraph:
    """lb -> i1 -> (v1, sg), snap -> v1"""
    resources = [
        resource("lb", Kind.LOAD_BALANCER),
        resource("i1", Kind.INSTANCE),
        resource("v1", Kind.VOLUME),
        resource("sg", Kind.SECURITY_GROUP),
        resource("snap", Kind.SNAPSHOT),
    ]
    return tiny_graph(resources, depends=[("lb", "i1"), ("i1", "v1"), ("i1", "sg"), ("snap", "v1")])


def test_dependents_are_deleted_first() -> None:
    order = cleanup_order(stack(), ["v1", "sg", "i1", "lb", "snap"])
    assert order == ["lb", "i1", "snap", "v1", "sg"]


def test_unmarked_dependents_block_transitively() -> None:
    plan = plan_deletion(stack(), ["i1", "v1", "sg"])
    assert plan.order == []
    assert plan.skipped["i1"] == "still used by load_balancer lb, which is not marked for cleanup"
    assert plan.skipped["sg"] == "still used by instance i1, which cannot be deleted"
    assert plan.skipped["v1"] == "still used by instance i1, which cannot be deleted"


def test_unknown_and_hierarchy_ids_are_skipped() -> None:
    plan = plan_deletion(stack(), ["nope", REGION_ID, ACCOUNT, "snap"])
    assert plan.order == ["snap"]
    assert plan.skipped == {
        "nope": "not in the graph",
        REGION_ID: "region nodes are not deleted by cleanup",
        ACCOUNT: "account nodes are not deleted by cleanup",
    }


def test_cycles_are_skipped_not_looped() -> None:
    graph = tiny_graph(
        [resource("a", Kind.INSTANCE), resource("b", Kind.VOLUME), resource("c", Kind.BUCKET)],
        depends=[("a", "b"), ("b", "a")],
    )
    plan = plan_deletion(graph, ["a", "b", "c"])
    assert plan.order == ["c"]
    assert plan.skipped == {"a": "part of a dependency cycle", "b": "part of a dependency cycle"}


@st.composite
def marked_dags(draw: st.DrawFn) -> tuple[ResourceGraph, set[str]]:
    """A random DAG (edges only from lower to higher index) and a random marked subset."""
    size = draw(st.integers(min_value=1, max_value=12))
    ids = [f"n{index:02d}" for index in range(size)]
    pairs = [(ids[i], ids[j]) for i in range(size) for j in range(i + 1, size)]
    depends = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    marked = draw(st.sets(st.sampled_from(ids)))
    return tiny_graph([resource(node_id, Kind.INSTANCE) for node_id in ids], depends), marked


@given(marked_dags())
def test_order_respects_dependencies_on_random_dags(case: tuple[ResourceGraph, set[str]]) -> None:
    graph, marked = case
    plan = plan_deletion(graph, marked)
    position = {node_id: index for index, node_id in enumerate(plan.order)}
    assert set(plan.order).isdisjoint(plan.skipped) and set(plan.order) | set(plan.skipped) == marked
    assert len(plan.order) == len(position)
    for node_id in plan.order:
        for dependent in graph.dependents(node_id):
            assert dependent in position and position[dependent] < position[node_id]
    for node_id in plan.skipped:  # skipped only for a reason: a dependent that stays
        assert any(d not in marked or d in plan.skipped for d in graph.dependents(node_id))


class StrictFakeCloud:
    """Refuses to delete anything a not-yet-deleted resource still depends on, like the provider."""

    def __init__(self, graph: ResourceGraph, failing: frozenset[str] = frozenset()) -> None:
        self.graph = graph
        self.failing = failing
        self.deleted: list[str] = []

    def delete(self, resource_id: str) -> None:
        if resource_id in self.failing:
            raise RuntimeError("provider hiccup")
        blocking = [d for d in self.graph.dependents(resource_id) if d not in self.deleted]
        if blocking:
            raise AssertionError(f"{resource_id} deleted before {blocking}")
        self.deleted.append(resource_id)


@given(marked_dags(), st.data())
def test_execute_never_violates_dependencies(case: tuple[ResourceGraph, set[str]], data: st.DataObject) -> None:
    graph, marked = case
    failing = frozenset(data.draw(st.sets(st.sampled_from(sorted(marked))))) if marked else frozenset()
    cloud = StrictFakeCloud(graph, failing)
    report = execute_cleanup(cloud, graph, marked)
    assert sorted(o.resource_id for o in report.outcomes) == sorted(marked)
    assert set(report.failed) == failing & (set(cleanup_order(graph, marked)) - set(report.skipped))
    assert report.deleted == cloud.deleted


# ---------------------------------------------------------------------- execution


def test_execute_cleanup_deletes_in_order_and_the_next_collect_agrees() -> None:
    cloud = SimulatedCloud(now=NOW)
    graph = collect_all(cloud)
    plan = plan_cleanup(graph, NOW)
    seen: list[CleanupProgress] = []
    report = execute_cleanup(cloud, graph, plan, progress=seen.append)
    order = cleanup_order(graph, plan)
    assert report.deleted == order and report.failed == {}
    assert set(report.skipped) == set(plan) - set(order)
    assert [p.done for p in seen] == list(range(1, len(plan) + 1))
    assert all(p.total == len(plan) for p in seen)
    after = collect_all(cloud)
    assert not set(report.deleted) & {n.id for n in after}
    assert set(report.skipped) <= {n.id for n in after}
    frame = report.to_frame()
    assert frame["outcome"].value_counts().to_dict() == {"deleted": len(order), "skipped": len(report.skipped)}


def test_execute_cleanup_reports_failures_and_keeps_going() -> None:
    cloud = SimulatedCloud(now=NOW)
    graph = collect_all(cloud)
    lb = graph.nodes(Kind.LOAD_BALANCER)[0]
    instance = graph.dependencies(lb.id)[0]
    bucket = graph.nodes(Kind.BUCKET)[0]
    cloud.delete(lb.id)  # someone deleted it behind the graph's back: the graph is stale now
    report = execute_cleanup(cloud, graph, [lb.id, instance, bucket.id])
    assert report.failed[lb.id].startswith(ResourceNotFoundError.__name__)
    assert report.skipped == {instance: f"dependent {lb.id} was not deleted"}
    assert report.deleted == [bucket.id]
    assert [o.outcome for o in report.outcomes] == [Outcome.FAILED, Outcome.SKIPPED, Outcome.DELETED]
