"""Shared helpers for the foundation tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from resoto_rx import EventBus, History, SQLiteStore


@pytest.fixture
def make_bus() -> Iterator[Callable[..., EventBus]]:
    """Buses for synchronous tests: each gets its own (never run) loop, closed afterwards with the bus.

    Emitting on the creating thread delivers synchronously, so these tests need no running loop.
    """
    made: list[tuple[EventBus, asyncio.AbstractEventLoop]] = []

    def make(history: History | int = 10_000, store: SQLiteStore | str | Path | None = None) -> EventBus:
        loop = asyncio.new_event_loop()
        bus = EventBus(history, store, loop=loop)
        made.append((bus, loop))
        return bus

    yield make
    for bus, loop in made:
        bus.close()
        loop.close()


@pytest.fixture
def collect() -> Callable[..., list[Any]]:
    """``collect(bus, *types)`` subscribes to ``bus.listen(*types)`` and returns the list messages land in."""

    def subscribe(bus: EventBus, *message_types: str, **kwargs: Any) -> list[Any]:
        seen: list[Any] = []
        bus.listen(*message_types, **kwargs).subscribe(seen.append)
        return seen

    return subscribe
