"""Tracks graph parts being merged per task, for the ``wait_for_graph_merged`` step.

In resotocore collectors upload graph parts that the core merges in the background; the workflow
waits until every merge of its task is done. Here a collector calls ``begin(task)`` when it hands a
part over and ``end(task)`` when it is merged; the last ``end`` publishes ``graph-merge-completed``.
"""

from __future__ import annotations

from resoto_rx.bus import EventBus

GRAPH_MERGE_COMPLETED = "graph-merge-completed"


class GraphMergeTracker:
    """Counts running merges per task id."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._running: dict[str, int] = {}

    def running(self, task_id: str) -> int:
        """How many merges of ``task_id`` are still running."""
        return self._running.get(task_id, 0)

    def begin(self, task_id: str) -> None:
        self._running[task_id] = self._running.get(task_id, 0) + 1

    def end(self, task_id: str, merged: int = 0) -> None:
        """One merge of ``task_id`` is done (``merged``: how many nodes it merged, for the event)."""
        left = self._running.get(task_id, 0) - 1
        if left > 0:
            self._running[task_id] = left
            return
        self._running.pop(task_id, None)
        self.bus.emit(GRAPH_MERGE_COMPLETED, {"task_id": task_id, "merged": merged})
