from __future__ import annotations

import math

import pandas as pd
import pytest

from resoto_rx.demo import Kind, Metrics, ResourceGraph, SimulatedCloud, compute_metrics, plan_cleanup
from resoto_rx.demo.metrics import GIB

from .builders import ACCOUNT, NOW, collect_all, resource, tiny_graph

WHERE = ("aws", ACCOUNT, "region-1")


def small_graph() -> ResourceGraph:
    return tiny_graph(
        [
            resource("i1", Kind.INSTANCE, cores=2, memory_gb=4.0),
            resource("i2", Kind.INSTANCE, cores=8, memory_gb=32.0),
            resource("v1", Kind.VOLUME, size_gb=100),
            resource("v2", Kind.VOLUME, size_gb=20),
            resource("b1", Kind.BUCKET),
        ],
        depends=[("i1", "v1")],
    )


def test_metrics_of_a_tiny_graph() -> None:
    metrics = compute_metrics(small_graph(), {"v2": "unattached_volume", "i2": "untagged"})
    assert metrics.by_kind == {"bucket": 1, "instance": 2, "volume": 2}
    assert metrics.by_account == {ACCOUNT: 5} and metrics.by_region == {"region-1": 5}
    assert metrics.total_resources == 5
    assert metrics.instance_cores == {WHERE: 10} and metrics.total_cores == 10
    assert metrics.total_memory_gb == 36.0 and metrics.total_volume_gb == 120
    assert metrics.candidates_by_reason == {"unattached_volume": 1, "untagged": 1}
    assert metrics.cleanup_candidates == {
        (*WHERE, "volume", "unattached_volume"): 1,
        (*WHERE, "instance", "untagged"): 1,
    }


def test_candidates_default_to_the_graph_marks() -> None:
    graph = small_graph()
    graph.set_cleanup({"b1": "expired"})
    assert compute_metrics(graph).candidates_by_reason == {"expired": 1}
    assert compute_metrics(graph, {}).candidates_by_reason == {}


def test_prometheus_rows() -> None:
    rows = compute_metrics(small_graph(), {"v2": "unattached_volume"}).as_rows()
    by_name: dict[str, list[tuple[dict[str, str], float]]] = {}
    for name, labels, value in rows:
        by_name.setdefault(name, []).append((labels, value))
    assert sorted(by_name) == [
        "resoto_cleanup_candidates",
        "resoto_instance_cores",
        "resoto_instance_memory_bytes",
        "resoto_resources",
        "resoto_volume_size_bytes",
    ]
    location = {"cloud": "aws", "account": ACCOUNT, "region": "region-1"}
    assert by_name["resoto_instance_memory_bytes"] == [(location, 36.0 * GIB)]
    assert by_name["resoto_volume_size_bytes"] == [(location, 120.0 * GIB)]
    candidate = {**location, "kind": "volume", "reason": "unattached_volume"}
    assert by_name["resoto_cleanup_candidates"] == [(candidate, 1.0)]
    assert {labels["kind"]: value for labels, value in by_name["resoto_resources"]} == {
        "bucket": 1.0, "instance": 2.0, "volume": 2.0,
    }  # fmt: skip
    assert all(isinstance(value, float) and isinstance(labels, dict) for _, labels, value in rows)


def test_metrics_frame_view() -> None:
    frame = compute_metrics(small_graph(), {}).to_frame()
    assert list(frame.columns) == ["name", "cloud", "account", "region", "kind", "reason", "value"]
    resources = frame[frame["name"] == "resoto_resources"]
    assert resources["value"].sum() == 5
    assert frame["reason"].isna().all()


def test_empty_graph_has_empty_metrics() -> None:
    metrics = compute_metrics(ResourceGraph())
    assert metrics == Metrics({}, {}, {}, {}, {})
    assert metrics.as_rows() == [] and metrics.to_frame().empty


@pytest.mark.parametrize("seed", [42, 7])
def test_metric_sums_agree_with_the_resource_frame(seed: int) -> None:
    graph = collect_all(SimulatedCloud(seed=seed, now=NOW))
    plan = plan_cleanup(graph, NOW)
    metrics = compute_metrics(graph, plan)
    frame = graph.to_frame()
    assert metrics.by_kind == frame["kind"].value_counts().sort_index().to_dict()
    assert metrics.by_account == frame["account"].value_counts().sort_index().to_dict()
    assert metrics.by_region == frame["region"].value_counts().sort_index().to_dict()
    instances = frame[frame["kind"] == "instance"]["attributes"]
    assert metrics.total_cores == sum(a["cores"] for a in instances)
    assert math.isclose(metrics.total_memory_gb, sum(a["memory_gb"] for a in instances))
    volumes = frame[frame["kind"] == "volume"]["attributes"]
    assert metrics.total_volume_gb == sum(a["size_gb"] for a in volumes)
    assert metrics.candidates_by_reason == frame["cleanup_reason"].dropna().value_counts().sort_index().to_dict()
    rows = metrics.to_frame()
    per_name = rows.groupby("name")["value"].sum()
    assert per_name["resoto_resources"] == len(frame)
    assert per_name["resoto_cleanup_candidates"] == frame["cleanup"].sum() == len(plan)
    assert per_name["resoto_volume_size_bytes"] == metrics.total_volume_gb * GIB
    per_account = rows[rows["name"] == "resoto_instance_cores"].groupby("account")["value"].sum()
    expected = frame[frame["kind"] == "instance"].assign(cores=instances.map(lambda a: a["cores"]))
    pd.testing.assert_series_equal(
        per_account, expected.groupby("account")["cores"].sum().astype(float), check_names=False
    )
