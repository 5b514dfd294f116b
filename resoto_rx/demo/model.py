"""Value types shared by the simulated cloud, the resource graph, the planners and the metrics.

Everything here is an immutable value: the cloud hands out fresh ``Resource`` objects on every
collect, so nothing a consumer does to its copy can change the provider-side state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeAlias

# Attribute values stay JSON-like so a resource can go onto the bus or into a DataFrame unchanged.
# Sequences are tuples so a frozen Resource is not mutable through its attributes.
AttributeValue: TypeAlias = str | int | float | bool | tuple[str, ...] | None


class Kind(StrEnum):
    """The kinds of graph nodes. The first three form the hierarchy; the rest are resources."""

    CLOUD = "cloud"
    ACCOUNT = "account"
    REGION = "region"
    INSTANCE = "instance"
    VOLUME = "volume"
    LOAD_BALANCER = "load_balancer"
    SECURITY_GROUP = "security_group"
    SNAPSHOT = "snapshot"
    BUCKET = "bucket"


HIERARCHY_KINDS: frozenset[Kind] = frozenset({Kind.CLOUD, Kind.ACCOUNT, Kind.REGION})
RESOURCE_KINDS: tuple[Kind, ...] = tuple(kind for kind in Kind if kind not in HIERARCHY_KINDS)


class EdgeKind(StrEnum):
    """``contains``: cloud -> account -> region -> resource. ``depends_on``: the source uses the target,
    so the target can only be deleted once the source is gone (instance -> volume, lb -> instance, ...)."""

    CONTAINS = "contains"
    DEPENDS_ON = "depends_on"


@dataclass(frozen=True, slots=True)
class Resource:
    """One node of the inventory. Hierarchy nodes use ``""`` for the levels they sit above
    (a cloud node has no account or region, an account node has no region)."""

    id: str
    kind: Kind
    name: str
    cloud: str
    account: str
    region: str
    created_at: datetime
    tags: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)

    @property
    def is_hierarchy(self) -> bool:
        return self.kind in HIERARCHY_KINDS

    def attribute_number(self, name: str) -> float:
        """A numeric attribute, or 0 when it is missing or not a number (bool is not a number here)."""
        value = self.attributes.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return 0.0
        return float(value)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: EdgeKind


@dataclass(frozen=True, slots=True)
class AccountInventory:
    """The nodes and edges of one account as collected at ``collected_at``.

    It includes the account's cloud node (shared with other accounts of that cloud), the account
    node, its region nodes and all resources, so it can replace the account's subgraph on its own.
    """

    account_id: str
    cloud: str
    collected_at: datetime
    nodes: tuple[Resource, ...]
    edges: tuple[Edge, ...]

    def count(self, kind: Kind) -> int:
        return sum(1 for node in self.nodes if node.kind == kind)


def as_utc(moment: datetime) -> datetime:
    """Normalise to an aware UTC datetime; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
