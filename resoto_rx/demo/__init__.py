"""A simulated cloud that gives the workflow engine real work: collect, plan cleanup, delete, metrics.

Pure model code (no bus, no asyncio, no I/O); every time-dependent call takes ``now`` explicitly.

>>> from datetime import UTC, datetime
>>> from resoto_rx.demo import ResourceGraph, SimulatedCloud, plan_cleanup
>>> cloud = SimulatedCloud(seed=1, now=datetime(2024, 6, 1, tzinfo=UTC))
>>> graph = ResourceGraph(cloud.collect_account(a) for a in cloud.account_ids())
>>> plan = plan_cleanup(graph, cloud.now)
"""

from resoto_rx.demo.cleanup import (
    CleanupConfig,
    CleanupProgress,
    CleanupReason,
    CleanupReport,
    DeletionPlan,
    Outcome,
    ResourceDeleter,
    ResourceOutcome,
    cleanup_order,
    execute_cleanup,
    find_expired,
    find_unattached_volumes,
    find_untagged,
    plan_cleanup,
    plan_deletion,
)
from resoto_rx.demo.cloud import CloudError, ResourceInUseError, ResourceNotFoundError, SimulatedCloud
from resoto_rx.demo.expiration import expiration_time, is_expired, parse_duration, parse_timestamp
from resoto_rx.demo.graph import ResourceGraph
from resoto_rx.demo.metrics import MetricRow, Metrics, compute_metrics
from resoto_rx.demo.model import (
    HIERARCHY_KINDS,
    RESOURCE_KINDS,
    AccountInventory,
    Edge,
    EdgeKind,
    Kind,
    Resource,
)

__all__ = [
    "HIERARCHY_KINDS",
    "RESOURCE_KINDS",
    "AccountInventory",
    "CleanupConfig",
    "CleanupProgress",
    "CleanupReason",
    "CleanupReport",
    "CloudError",
    "DeletionPlan",
    "Edge",
    "EdgeKind",
    "Kind",
    "MetricRow",
    "Metrics",
    "Outcome",
    "Resource",
    "ResourceDeleter",
    "ResourceGraph",
    "ResourceInUseError",
    "ResourceNotFoundError",
    "ResourceOutcome",
    "SimulatedCloud",
    "cleanup_order",
    "compute_metrics",
    "execute_cleanup",
    "expiration_time",
    "find_expired",
    "find_unattached_volumes",
    "find_untagged",
    "is_expired",
    "parse_duration",
    "parse_timestamp",
    "plan_cleanup",
    "plan_deletion",
]
