"""The embedded default: one process, in-memory bus, SQLite file, workflow engine, simulated cloud.

>>> import asyncio
>>> async def main() -> str:
...     with ResotoRx(store=None) as core:
...         run = await core.run("collect_and_cleanup")
...         return run.status.value
>>> asyncio.run(main())
'done'
"""

from __future__ import annotations

from pathlib import Path

from reactivex import abc

from resoto_rx.bus import EventBus
from resoto_rx.demo.cloud import SimulatedCloud
from resoto_rx.demo.plugin import DemoCloud
from resoto_rx.workflows.builtin import DEFAULT_SCHEDULE, builtin_workflows
from resoto_rx.workflows.runner import TaskRun, TaskRunner

DEFAULT_STORE = "resoto_rx.sqlite"


class ResotoRx:
    """Bus, store, workflow engine and (unless ``demo=False``) the simulated cloud, wired together.

    Make it inside a running asyncio loop (a notebook cell, ``asyncio.run``): that loop owns the bus.

    Args:
        store: SQLite file that keeps every message (None: memory only).
        history: messages retained in memory for ``since`` and DataFrames.
        demo: plug in the simulated cloud.
        schedule: cron schedule of ``collect_and_cleanup`` (None: no schedule).
        seed: seed of the simulated cloud.
        scheduler: where time comes from (a ``TestScheduler`` in tests); default: the bus loop.
    """

    def __init__(
        self,
        store: str | Path | None = DEFAULT_STORE,
        history: int = 100_000,
        demo: bool = True,
        schedule: str | None = DEFAULT_SCHEDULE,
        seed: int = 42,
        scheduler: abc.SchedulerBase | None = None,
    ) -> None:
        self.bus = EventBus(history, store=store)
        self.runner = TaskRunner(self.bus, scheduler=scheduler, workflows=builtin_workflows(schedule))
        self.demo = DemoCloud(self.runner, SimulatedCloud(seed=seed)) if demo else None

    async def run(self, workflow_id: str, reason: str = "manual") -> TaskRun:
        """Start ``workflow_id`` and wait until that run has ended."""
        task = self.runner.run(workflow_id, reason)
        if task is None:  # pragma: no cover  (only Skip returns None, and only with nothing running)
            raise RuntimeError(f"workflow {workflow_id} was skipped")
        return await self.runner.wait(task)

    def close(self) -> None:
        """Stop running tasks, commit the store, complete every stream."""
        if self.demo is not None:
            self.demo.close()
        self.runner.close()
        self.bus.close()

    def __enter__(self) -> ResotoRx:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
