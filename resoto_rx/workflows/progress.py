"""The progress of one task: one part per step plus what subscribers report (PROTOCOL.md §1 payloads).

Kept flat, as leaves keyed by their path, and rendered as resotocore's ``{"kind": "tree", ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from resoto_rx.messages import Json


class TaskProgress:
    """Progress leaves of a task. Every step starts as ``0/1`` and ends as ``1/1``.

    >>> p = TaskProgress("collect", ["pre_collect", "collect"])
    >>> p.report("collect", {"kind": "progress", "name": "account-1", "current": 1, "total": 2})
    >>> p.step_percentage("collect")
    50
    """

    def __init__(self, name: str, steps: Sequence[str]) -> None:
        self.name = name
        self.steps = list(steps)
        # (path..., name) -> (current, total); a step's own leaf has the key (step,)
        self._leaves: dict[tuple[str, ...], tuple[int, int]] = {(step,): (0, 1) for step in steps}

    def report(self, step: str, progress: Mapping[str, Any]) -> None:
        """Merge a subscriber's progress payload (a leaf or a tree) into ``step``."""
        for path, current, total in _leaves(progress, []):
            self._leaves[(step, *path)] = (current, total)

    def finish_step(self, step: str) -> None:
        """Mark a step and everything reported under it as done."""
        for key, (_, total) in list(self._leaves.items()):
            if key[0] == step:
                self._leaves[key] = (total, total)

    def step_percentage(self, step: str) -> int:
        """0..100: the step's own leaf when nothing was reported under it, else the mean of the reported leaves."""
        reported = [v for k, v in self._leaves.items() if k[0] == step and len(k) > 1]
        parts = reported or [self._leaves.get((step,), (0, 1))]
        return int(sum(current * 100 / total for current, total in parts) / len(parts))

    def percentage(self) -> int:
        """Overall progress of the task, 0..100, each step weighing the same."""
        if not self.steps:
            return 100
        return int(sum(self.step_percentage(s) for s in self.steps) / len(self.steps))

    def to_json(self) -> Json:
        """The progress tree as resotocore sends it in ``progress`` events, in step order."""
        order = {step: index for index, step in enumerate(self.steps)}
        parts: list[Json] = []
        for key in sorted(self._leaves, key=lambda k: (order.get(k[0], len(order)), len(k) > 1, k)):
            current, total = self._leaves[key]
            part: Json = {"kind": "progress", "name": key[-1], "current": current, "total": total}
            if len(key) > 1:
                part["path"] = list(key[:-1])
            parts.append(part)
        return {"kind": "tree", "name": self.name, "parts": parts}  # type: ignore[dict-item]


def _leaves(progress: Mapping[str, Any], prefix: list[str]) -> list[tuple[tuple[str, ...], int, int]]:
    path = [*prefix, *progress.get("path", [])]
    if progress.get("kind") == "tree":
        found = []
        for part in progress.get("parts", []):
            found.extend(_leaves(part, path))
        return found
    return [((*path, str(progress["name"])), int(progress["current"]), int(progress["total"]))]
