"""The collected inventory of all accounts as one graph, plus the cleanup marks a plan put on it.

Merging an ``AccountInventory`` replaces everything that account contributed, the way each Resoto
collect run replaces an account's subgraph: a resource missing from the new inventory is gone.
Cloud nodes are shared by all accounts of that cloud and disappear with the last of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType

import pandas as pd

from resoto_rx.demo.model import AccountInventory, Edge, EdgeKind, Kind, Resource, as_utc

FRAME_COLUMNS = (
    "id", "kind", "name", "cloud", "account", "region", "created_at", "age_days", "tags", "attributes",
    "cleanup", "cleanup_reason",
)  # fmt: skip


class ResourceGraph:
    def __init__(self, inventories: Iterable[AccountInventory] = ()) -> None:
        self._nodes: dict[str, Resource] = {}
        self._out: dict[str, set[Edge]] = {}
        self._in: dict[str, set[Edge]] = {}
        self._collected_at: dict[str, datetime] = {}
        self._cleanup: dict[str, str] = {}
        for inventory in inventories:
            self.merge(inventory)

    # ------------------------------------------------------------------ building

    def merge(self, inventory: AccountInventory) -> None:
        """Replace the subgraph of ``inventory.account_id`` with the inventory's nodes and edges.

        Cleanup marks of that account are dropped: a plan made on the old data does not hold for the new.
        """
        known = {node.id for node in inventory.nodes}
        for node in inventory.nodes:
            if node.kind != Kind.CLOUD and node.account != inventory.account_id:
                raise ValueError(f"node {node.id!r} belongs to account {node.account!r}, not {inventory.account_id!r}")
        for edge in inventory.edges:
            if edge.source not in known or edge.target not in known:
                raise ValueError(f"edge {edge.source!r} -> {edge.target!r} names a node outside the inventory")
        self.remove_account(inventory.account_id)
        for node in inventory.nodes:
            self._nodes[node.id] = node
            self._out.setdefault(node.id, set())
            self._in.setdefault(node.id, set())
        for edge in inventory.edges:
            self._out[edge.source].add(edge)
            self._in[edge.target].add(edge)
        self._collected_at[inventory.account_id] = as_utc(inventory.collected_at)

    def remove_account(self, account_id: str) -> None:
        """Drop every node of the account, its edges and marks, and cloud nodes no account uses anymore."""
        doomed = [node_id for node_id, node in self._nodes.items() if node.account == account_id]
        for node_id in doomed:
            self._remove_node(node_id)
        orphaned_clouds = [
            node_id for node_id, node in self._nodes.items() if node.kind == Kind.CLOUD and not self._out[node_id]
        ]
        for node_id in orphaned_clouds:
            self._remove_node(node_id)
        self._collected_at.pop(account_id, None)

    def _remove_node(self, node_id: str) -> None:
        for edge in self._out.pop(node_id):
            self._in[edge.target].discard(edge)
        for edge in self._in.pop(node_id):
            self._out[edge.source].discard(edge)
        del self._nodes[node_id]
        self._cleanup.pop(node_id, None)

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __iter__(self) -> Iterator[Resource]:
        return iter(self._nodes.values())

    def node(self, node_id: str) -> Resource:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise KeyError(f"no node {node_id!r} in the graph") from None

    def get(self, node_id: str) -> Resource | None:
        return self._nodes.get(node_id)

    def nodes(self, kind: Kind | str | None = None) -> list[Resource]:
        return [node for node in self._nodes.values() if kind is None or node.kind == kind]

    def resources(self) -> list[Resource]:
        """All nodes except clouds, accounts and regions."""
        return [node for node in self._nodes.values() if not node.is_hierarchy]

    def edges(self, kind: EdgeKind | None = None) -> list[Edge]:
        return [edge for edges in self._out.values() for edge in edges if kind is None or edge.kind == kind]

    def successors(self, node_id: str, kind: EdgeKind | None = None) -> list[str]:
        """Targets of edges leaving ``node_id`` (sorted, for stable output)."""
        return sorted(edge.target for edge in self._out.get(node_id, ()) if kind is None or edge.kind == kind)

    def predecessors(self, node_id: str, kind: EdgeKind | None = None) -> list[str]:
        return sorted(edge.source for edge in self._in.get(node_id, ()) if kind is None or edge.kind == kind)

    def dependents(self, node_id: str) -> list[str]:
        """Resources that use ``node_id``: it can only be deleted after them."""
        return self.predecessors(node_id, EdgeKind.DEPENDS_ON)

    def dependencies(self, node_id: str) -> list[str]:
        """Resources ``node_id`` uses."""
        return self.successors(node_id, EdgeKind.DEPENDS_ON)

    @property
    def accounts(self) -> list[str]:
        return list(self._collected_at)

    @property
    def collected_at(self) -> datetime | None:
        """When the newest merged inventory was collected; the default ``now`` of ``to_frame``."""
        return max(self._collected_at.values(), default=None)

    def counts(self, include_hierarchy: bool = False) -> dict[str, int]:
        """Number of nodes by kind, e.g. ``{"instance": 12, "volume": 30, ...}``."""
        counter = Counter(str(node.kind) for node in self._nodes.values() if include_hierarchy or not node.is_hierarchy)
        return dict(sorted(counter.items()))

    # ------------------------------------------------------------------ cleanup marks

    @property
    def cleanup(self) -> Mapping[str, str]:
        """Resources marked for cleanup and why (read-only view; change it with ``set_cleanup``)."""
        return MappingProxyType(self._cleanup)

    def mark_cleanup(self, node_id: str, reason: str) -> None:
        node = self.node(node_id)
        if node.is_hierarchy:
            raise ValueError(f"{node.kind} {node_id!r} cannot be marked for cleanup")
        self._cleanup[node_id] = reason

    def set_cleanup(self, marks: Mapping[str, str]) -> None:
        """Replace all marks at once (a new plan supersedes the previous one)."""
        self._cleanup.clear()
        for node_id, reason in marks.items():
            self.mark_cleanup(node_id, reason)

    def clear_cleanup(self) -> None:
        self._cleanup.clear()

    # ------------------------------------------------------------------ pandas

    def to_frame(self, now: datetime | None = None, include_hierarchy: bool = False) -> pd.DataFrame:
        """One row per resource; ``age_days`` is measured at ``now`` (default: the latest collect time)."""
        at = as_utc(now) if now is not None else self.collected_at
        nodes = [node for node in self._nodes.values() if include_hierarchy or not node.is_hierarchy]
        created = pd.to_datetime(pd.Series([node.created_at for node in nodes], dtype=object), utc=True)
        age_days = (
            (pd.Timestamp(at) - created).dt.total_seconds() / 86400.0
            if at is not None
            else pd.Series([float("nan")] * len(nodes), dtype="float64")
        )
        frame = pd.DataFrame(
            {
                "id": [node.id for node in nodes],
                "kind": [str(node.kind) for node in nodes],
                "name": [node.name for node in nodes],
                "cloud": [node.cloud for node in nodes],
                "account": [node.account for node in nodes],
                "region": [node.region for node in nodes],
                "created_at": created,
                "age_days": age_days,
                "tags": pd.Series([dict(node.tags) for node in nodes], dtype=object),
                "attributes": pd.Series([dict(node.attributes) for node in nodes], dtype=object),
                "cleanup": pd.Series([node.id in self._cleanup for node in nodes], dtype=bool),
                "cleanup_reason": pd.Series([self._reason(node.id) for node in nodes], dtype=object),
            },
            columns=list(FRAME_COLUMNS),
        )
        return frame.sort_values(["account", "region", "kind", "id"], ignore_index=True)

    def _reason(self, node_id: str) -> str | None:
        reason = self._cleanup.get(node_id)
        return None if reason is None else str(reason)  # plain str, not a StrEnum, for clean frames
