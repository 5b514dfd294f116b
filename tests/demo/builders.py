"""Hand-built tiny graphs for the planner, ordering and metrics tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from resoto_rx.demo import AccountInventory, Edge, EdgeKind, Kind, Resource, ResourceGraph, SimulatedCloud
from resoto_rx.demo.model import AttributeValue

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
ACCOUNT = "acct-1"
REGION = "region-1"
REGION_ID = f"{ACCOUNT}:{REGION}"


def resource(
    resource_id: str,
    kind: Kind,
    age_days: float = 30,
    tags: dict[str, str] | None = None,
    **attributes: AttributeValue,
) -> Resource:
    created_at = NOW - timedelta(days=age_days)
    return Resource(resource_id, kind, resource_id, "aws", ACCOUNT, REGION, created_at, tags or {}, attributes)


def inventory(resources: Iterable[Resource], depends: Iterable[tuple[str, str]] = ()) -> AccountInventory:
    """One account in one region holding ``resources``; ``depends`` are (user, used) pairs."""
    created = NOW - timedelta(days=1000)
    nodes = [
        Resource("aws", Kind.CLOUD, "aws", "aws", "", "", created),
        Resource(ACCOUNT, Kind.ACCOUNT, ACCOUNT, "aws", ACCOUNT, "", created),
        Resource(REGION_ID, Kind.REGION, REGION, "aws", ACCOUNT, REGION, created),
        *resources,
    ]
    edges = [Edge("aws", ACCOUNT, EdgeKind.CONTAINS), Edge(ACCOUNT, REGION_ID, EdgeKind.CONTAINS)]
    edges += [Edge(REGION_ID, node.id, EdgeKind.CONTAINS) for node in nodes[3:]]
    edges += [Edge(user, used, EdgeKind.DEPENDS_ON) for user, used in depends]
    return AccountInventory(ACCOUNT, "aws", NOW, tuple(nodes), tuple(edges))


def tiny_graph(resources: Iterable[Resource], depends: Iterable[tuple[str, str]] = ()) -> ResourceGraph:
    return ResourceGraph([inventory(resources, depends)])


def collect_all(cloud: SimulatedCloud) -> ResourceGraph:
    return ResourceGraph(cloud.collect_account(account_id) for account_id in cloud.account_ids())
