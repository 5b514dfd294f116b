"""Inventory metrics, the numbers Resoto's metrics step exports to Prometheus.

Everything is counted at the finest grain (cloud, account, region[, kind[, reason]]) and rolled up
from there, so the per-kind, per-account and per-region views always add up to the same totals.
Prometheus rows use base units (bytes), as Prometheus naming conventions ask.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeAlias, TypeVar

import pandas as pd

from resoto_rx.demo.graph import ResourceGraph
from resoto_rx.demo.model import Kind

GIB = 1024**3
Location: TypeAlias = tuple[str, str, str]  # cloud, account, region
KindAt: TypeAlias = tuple[str, str, str, str]  # cloud, account, region, kind
CandidateAt: TypeAlias = tuple[str, str, str, str, str]  # cloud, account, region, kind, reason
Key = TypeVar("Key", bound=tuple[str, ...])
LABEL_COLUMNS = ("cloud", "account", "region", "kind", "reason")


class MetricRow(NamedTuple):
    name: str
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Metrics:
    resources: Mapping[KindAt, int]
    instance_cores: Mapping[Location, float]
    instance_memory_gb: Mapping[Location, float]
    volume_size_gb: Mapping[Location, float]
    cleanup_candidates: Mapping[CandidateAt, int]

    @property
    def total_resources(self) -> int:
        return sum(self.resources.values())

    @property
    def by_kind(self) -> dict[str, int]:
        return _roll_up(self.resources, lambda key: key[3])

    @property
    def by_account(self) -> dict[str, int]:
        return _roll_up(self.resources, lambda key: key[1])

    @property
    def by_region(self) -> dict[str, int]:
        """Keyed by region name, summed over accounts that share it."""
        return _roll_up(self.resources, lambda key: key[2])

    @property
    def candidates_by_reason(self) -> dict[str, int]:
        return _roll_up(self.cleanup_candidates, lambda key: key[4])

    @property
    def total_cores(self) -> float:
        return sum(self.instance_cores.values())

    @property
    def total_memory_gb(self) -> float:
        return sum(self.instance_memory_gb.values())

    @property
    def total_volume_gb(self) -> float:
        return sum(self.volume_size_gb.values())

    def as_rows(self) -> list[MetricRow]:
        """(name, labels, value) rows, one per gauge sample, in a stable order."""
        rows: list[MetricRow] = []
        for (cloud, account, region, kind), count in sorted(self.resources.items()):
            labels = {"cloud": cloud, "account": account, "region": region, "kind": kind}
            rows.append(MetricRow("resoto_resources", labels, float(count)))
        for name, values, factor in (
            ("resoto_instance_cores", self.instance_cores, 1),
            ("resoto_instance_memory_bytes", self.instance_memory_gb, GIB),
            ("resoto_volume_size_bytes", self.volume_size_gb, GIB),
        ):
            for (cloud, account, region), value in sorted(values.items()):
                rows.append(MetricRow(name, {"cloud": cloud, "account": account, "region": region}, value * factor))
        for (cloud, account, region, kind, reason), count in sorted(self.cleanup_candidates.items()):
            labels = {"cloud": cloud, "account": account, "region": region, "kind": kind, "reason": reason}
            rows.append(MetricRow("resoto_cleanup_candidates", labels, float(count)))
        return rows

    def to_frame(self) -> pd.DataFrame:
        """The rows as a long frame: ``name``, one column per label (missing where a metric lacks it), ``value``."""
        records = [{"name": row.name, **row.labels, "value": row.value} for row in self.as_rows()]
        return pd.DataFrame(records, columns=["name", *LABEL_COLUMNS, "value"])


def compute_metrics(graph: ResourceGraph, marked: Mapping[str, str] | None = None) -> Metrics:
    """Metrics of all resources in ``graph``; cleanup candidates come from ``marked`` (default: the graph's marks)."""
    marks = graph.cleanup if marked is None else marked
    resources: Counter[KindAt] = Counter()
    cores: defaultdict[Location, float] = defaultdict(float)
    memory: defaultdict[Location, float] = defaultdict(float)
    volume_gb: defaultdict[Location, float] = defaultdict(float)
    candidates: Counter[CandidateAt] = Counter()
    for resource in graph.resources():
        where = (resource.cloud, resource.account, resource.region)
        resources[(*where, str(resource.kind))] += 1
        if resource.kind == Kind.INSTANCE:
            cores[where] += resource.attribute_number("cores")
            memory[where] += resource.attribute_number("memory_gb")
        elif resource.kind == Kind.VOLUME:
            volume_gb[where] += resource.attribute_number("size_gb")
        reason = marks.get(resource.id)
        if reason is not None:
            candidates[(*where, str(resource.kind), str(reason))] += 1
    return Metrics(dict(resources), dict(cores), dict(memory), dict(volume_gb), dict(candidates))


def _roll_up(counts: Mapping[Key, int], label: Callable[[Key], str]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for key, count in counts.items():
        totals[label(key)] += count
    return dict(sorted(totals.items()))
