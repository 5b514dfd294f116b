"""A job registry on a bus and runner in virtual time (TestScheduler); the bus loop is never run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from reactivex.testing import TestScheduler

from resoto_rx import EventBus, JobRegistry, Message, SQLiteStore
from resoto_rx.workflows import TaskRunner, Workflow


class Jobs:
    """Bus + runner + registry; ``messages`` records everything published."""

    def __init__(
        self, store: SQLiteStore | None = None, workflows: list[Workflow] | None = None, running_loop: bool = False
    ) -> None:
        self.scheduler = TestScheduler()
        self.loop = asyncio.get_running_loop() if running_loop else asyncio.new_event_loop()
        self.bus = EventBus(store=store, loop=self.loop)
        self.messages: list[Message] = []
        self.bus.listen().subscribe(self.messages.append)
        self.runner = TaskRunner(self.bus, scheduler=self.scheduler, workflows=workflows or [])
        self.jobs = JobRegistry(self.runner, store)
        self._owns_loop = not running_loop

    def advance(self, seconds: float) -> None:
        self.scheduler.advance_by(timedelta(seconds=seconds))

    def events(self, message_type: str) -> list[Message]:
        return [m for m in self.messages if m.message_type == message_type and m.kind == "event"]

    def started(self) -> list[str]:
        return [str(m.data["task"]) for m in self.events("task_started")]

    def close(self) -> None:
        self.jobs.close()
        self.runner.close()
        self.bus.close()
        if self._owns_loop:
            self.loop.close()


@pytest.fixture
def make_jobs() -> Iterator[type[Jobs]]:
    made: list[Jobs] = []

    class Tracked(Jobs):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    yield Tracked
    for harness in made:
        if not harness.bus.closed:
            harness.close()


@pytest.fixture
def h(make_jobs: type[Jobs]) -> Jobs:
    return make_jobs()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "jobs.sqlite"
