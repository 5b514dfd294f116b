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
from typing import TYPE_CHECKING

from reactivex import abc

from resoto_rx.bus import EventBus
from resoto_rx.config import ConfigService, CoreConfigBinding
from resoto_rx.demo.cloud import SimulatedCloud
from resoto_rx.demo.plugin import DemoCloud
from resoto_rx.jobs import JobRegistry
from resoto_rx.workflows.builtin import DEFAULT_SCHEDULE, builtin_workflows
from resoto_rx.workflows.runner import TaskRun, TaskRunner

if TYPE_CHECKING:
    from resoto_rx.backends import RedisBackend, RegistryMirror

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
        redis: ``redis://host:port/db``: join the bus shared through that Redis (the ``redis`` extra);
            every server on it sees every message, and a triggered workflow runs on one of them;
            the subscriber registries of all servers are kept equal (``backends/registry.py``).
            A ``RedisBackend`` may be given instead (to choose its key prefix and options).
        name: this server's name on the shared bus (it resumes from where it stopped after a restart).

    Raises:
        BackendUnavailableError: ``redis`` was given and nothing answers there.
    """

    def __init__(
        self,
        store: str | Path | None = DEFAULT_STORE,
        history: int = 100_000,
        demo: bool = True,
        schedule: str | None = DEFAULT_SCHEDULE,
        seed: int = 42,
        scheduler: abc.SchedulerBase | None = None,
        redis: str | RedisBackend | None = None,
        name: str | None = None,
    ) -> None:
        self.mirror: RegistryMirror | None = None
        """Shares this server's subscriber registrations with the other servers (only with ``redis``)."""
        if redis is None:
            self.bus = EventBus(history, store=store)
        else:
            # optional extra: imported only when asked for
            from resoto_rx.backends import RedisBackend, RegistryMirror

            backend = redis if isinstance(redis, RedisBackend) else RedisBackend(redis, name=name)
            self.bus = EventBus(backend.history(history, store), transport=backend.transport)
        self.runner = TaskRunner(self.bus, scheduler=scheduler, workflows=builtin_workflows(schedule))
        if redis is not None:
            self.runner.may_start = backend.claim
            # Before the demo's workers register: their registrations are shared too.
            self.mirror = RegistryMirror(self.bus, self.runner.registry, backend)
        self.demo = DemoCloud(self.runner, SimulatedCloud(seed=seed)) if demo else None
        # Config first: the binding takes the built-in workflows' schedules as defaults, before any job exists.
        self.config = ConfigService(self.bus, self.bus.store)
        """Config documents; ``resoto.core`` reschedules workflows and switches cleanup live."""
        set_cleanup = self.demo.enable_cleanup if self.demo is not None else None
        self.core_config = CoreConfigBinding(self.config, self.runner, set_cleanup)
        self.jobs = JobRegistry(self.runner, self.bus.store)
        """Jobs: command jobs are kept in the store and come back on restart."""

    async def run(self, workflow_id: str, reason: str = "manual") -> TaskRun:
        """Start ``workflow_id`` and wait until that run has ended."""
        task = self.runner.run(workflow_id, reason)
        if task is None:  # pragma: no cover  (only Skip returns None, and only with nothing running)
            raise RuntimeError(f"workflow {workflow_id} was skipped")
        return await self.runner.wait(task)

    def close(self) -> None:
        """Stop running tasks, commit the store, complete every stream."""
        if self.mirror is not None:
            # First: the unsubscribes of a shutdown are not a worker leaving (other servers may serve it).
            self.mirror.close()
        if self.demo is not None:
            self.demo.close()
        self.jobs.close()
        self.core_config.close()
        self.runner.close()
        self.bus.close()

    async def aclose(self) -> None:
        """``close``, then wait until a shared transport has sent what it holds and disconnected."""
        self.close()
        wait_closed = getattr(self.bus.transport, "wait_closed", None)
        if wait_closed is not None:
            await wait_closed()

    def __enter__(self) -> ResotoRx:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    async def __aenter__(self) -> ResotoRx:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
