from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from resoto_rx.demo import EdgeKind, Kind, ResourceGraph, SimulatedCloud

from .builders import ACCOUNT, NOW, REGION_ID, collect_all, inventory, resource, tiny_graph


def web_stack() -> ResourceGraph:
    return tiny_graph(
        [
            resource("lb", Kind.LOAD_BALANCER),
            resource("i1", Kind.INSTANCE, cores=2, memory_gb=4.0),
            resource("v1", Kind.VOLUME, age_days=10, size_gb=100),
            resource("sg", Kind.SECURITY_GROUP),
        ],
        depends=[("lb", "i1"), ("i1", "v1"), ("i1", "sg")],
    )


def test_successors_and_predecessors() -> None:
    graph = web_stack()
    assert graph.successors("i1") == ["sg", "v1"]
    assert graph.dependencies("i1") == ["sg", "v1"]
    assert graph.dependents("i1") == ["lb"]
    assert graph.predecessors("i1") == [REGION_ID, "lb"]
    assert graph.predecessors("i1", EdgeKind.CONTAINS) == [REGION_ID]
    assert graph.successors(ACCOUNT, EdgeKind.DEPENDS_ON) == []
    assert graph.successors("aws") == [ACCOUNT]
    assert graph.successors("missing") == []


def test_nodes_by_id_and_kind() -> None:
    graph = web_stack()
    assert graph.node("v1").attributes["size_gb"] == 100
    assert graph.get("nope") is None and "nope" not in graph and "v1" in graph
    with pytest.raises(KeyError, match="no node"):
        graph.node("nope")
    assert [n.id for n in graph.nodes(Kind.INSTANCE)] == ["i1"]
    assert {n.id for n in graph.resources()} == {"lb", "i1", "v1", "sg"}
    assert len(graph) == 7 and len(list(graph)) == 7
    assert graph.counts() == {"instance": 1, "load_balancer": 1, "security_group": 1, "volume": 1}
    assert graph.counts(include_hierarchy=True)["region"] == 1
    assert len(graph.edges(EdgeKind.DEPENDS_ON)) == 3 and len(graph.edges()) == 9


def test_merging_all_accounts_shares_cloud_nodes() -> None:
    cloud = SimulatedCloud(seed=4, accounts=4, now=NOW)
    inventories = [cloud.collect_account(a) for a in cloud.account_ids()]
    graph = ResourceGraph(inventories)
    assert len(graph) == sum(len(inv.nodes) for inv in inventories) - 2  # aws and gcp appear twice each
    assert sorted(n.id for n in graph.nodes(Kind.CLOUD)) == ["aws", "gcp"]
    assert len(graph.successors("aws")) == 2
    assert graph.accounts == cloud.account_ids()
    assert graph.collected_at == NOW


def test_merge_replaces_the_account_subgraph() -> None:
    cloud = SimulatedCloud(now=NOW)
    graph = collect_all(cloud)
    account = cloud.account_ids()[0]
    other_accounts = len([n for n in graph if n.account != account])
    instance = next(n for n in graph.nodes(Kind.INSTANCE) if n.account == account and not graph.dependents(n.id))
    volumes = graph.dependencies(instance.id)
    graph.mark_cleanup(instance.id, "test")
    cloud.delete(instance.id)
    graph.merge(cloud.collect_account(account))
    assert instance.id not in graph
    assert instance.id not in graph.cleanup
    assert all(instance.id not in (e.source, e.target) for e in graph.edges())
    assert all(v in graph for v in volumes)
    assert len([n for n in graph if n.account != account]) == other_accounts


def test_merge_drops_the_marks_of_the_merged_account() -> None:
    graph = web_stack()
    graph.set_cleanup({"v1": "untagged"})
    graph.merge(inventory([resource("v1", Kind.VOLUME)]))
    assert dict(graph.cleanup) == {}


def test_remove_account_drops_orphaned_cloud_nodes() -> None:
    cloud = SimulatedCloud(seed=4, accounts=3, now=NOW)
    graph = collect_all(cloud)
    first_aws, gcp, second_aws = cloud.account_ids()
    graph.remove_account(gcp)
    assert "gcp" not in graph and "aws" in graph
    graph.remove_account(first_aws)
    assert "aws" in graph
    graph.remove_account(second_aws)
    assert len(graph) == 0 and graph.accounts == [] and graph.collected_at is None


def test_merge_rejects_inconsistent_inventories() -> None:
    good = inventory([resource("v1", Kind.VOLUME)])
    dangling = replace(good, edges=(*good.edges, replace(good.edges[0], target="elsewhere")))
    with pytest.raises(ValueError, match="outside the inventory"):
        ResourceGraph([dangling])
    foreign = replace(good, account_id="someone-else")
    with pytest.raises(ValueError, match="belongs to account"):
        ResourceGraph([foreign])


def test_marks() -> None:
    graph = web_stack()
    graph.mark_cleanup("v1", "untagged")
    assert dict(graph.cleanup) == {"v1": "untagged"}
    graph.set_cleanup({"lb": "expired"})
    assert dict(graph.cleanup) == {"lb": "expired"}
    with pytest.raises(ValueError, match="cannot be marked"):
        graph.mark_cleanup(REGION_ID, "expired")
    with pytest.raises(KeyError):
        graph.mark_cleanup("nope", "expired")
    graph.clear_cleanup()
    assert not graph.cleanup


def test_to_frame_columns_types_and_values() -> None:
    graph = web_stack()
    graph.set_cleanup({"v1": "unattached_volume"})
    frame = graph.to_frame(now=NOW + timedelta(days=1))
    assert list(frame.columns) == [
        "id", "kind", "name", "cloud", "account", "region", "created_at", "age_days", "tags", "attributes",
        "cleanup", "cleanup_reason",
    ]  # fmt: skip
    assert isinstance(frame["created_at"].dtype, pd.DatetimeTZDtype)
    assert str(frame["created_at"].dt.tz) == "UTC"
    rows = frame.set_index("id")
    assert rows.loc["v1", "age_days"] == pytest.approx(11.0)
    assert rows.loc["i1", "age_days"] == pytest.approx(31.0)
    assert rows.loc["v1", "cleanup"] and rows.loc["v1", "cleanup_reason"] == "unattached_volume"
    assert not rows.loc["i1", "cleanup"] and rows["cleanup_reason"].isna()["i1"]
    assert rows.loc["i1", "attributes"] == {"cores": 2, "memory_gb": 4.0}
    assert set(frame["kind"]) == {"instance", "load_balancer", "security_group", "volume"}


def test_to_frame_defaults_to_collect_time_and_can_include_hierarchy() -> None:
    graph = web_stack()
    assert graph.to_frame()["age_days"].min() == pytest.approx(10.0)
    assert len(graph.to_frame(include_hierarchy=True)) == len(graph)


def test_empty_graph_frame_keeps_its_columns() -> None:
    frame = ResourceGraph().to_frame()
    assert frame.empty and "created_at" in frame.columns and "cleanup" in frame.columns


def test_frame_agrees_with_counts_on_a_simulated_cloud() -> None:
    graph = collect_all(SimulatedCloud(seed=11, now=NOW))
    frame = graph.to_frame()
    assert frame["kind"].value_counts().sort_index().to_dict() == graph.counts()
    assert frame["id"].is_unique
    assert (frame["age_days"] >= 0).all() and (frame["age_days"] <= 120).all()
