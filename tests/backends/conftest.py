"""Redis for the backend tests: a real redis-server on 127.0.0.1, never anything else.

CI (.ci/run) starts one and exports its URL in RESOTO_RX_REDIS_URL. By hand, without that variable,
a private redis-server is started on a free port if the binary is installed; without either the
tests skip, saying so. Every test uses its own key prefix, so a shared server is fine.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from resoto_rx import EventBus
from resoto_rx.backends import RedisBackend
from resoto_rx.backends.local import LocalRedis
from resoto_rx.store import SQLiteStore

REDIS_ENV = "RESOTO_RX_REDIS_URL"


def _no_redis(reason: str) -> None:
    if os.environ.get("CI"):  # CI must run these tests: a missing Redis is a failure there
        pytest.fail(f"{reason} (CI=true: .ci/run should have started redis-server and set {REDIS_ENV})")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get(REDIS_ENV)
    if url:
        yield url
        return
    if shutil.which("redis-server") is None:
        _no_redis(f"no Redis: set {REDIS_ENV}=redis://127.0.0.1:PORT/0 or install redis-server")
    with LocalRedis() as server:
        yield server.url


@pytest.fixture
def private_redis() -> Iterator[LocalRedis]:
    """A redis-server of this test alone, which it may stop and start again (same port)."""
    if shutil.which("redis-server") is None:
        _no_redis(f"no redis-server binary for a private server (apt-get install redis-server; {REDIS_ENV})")
    with LocalRedis() as server:
        yield server


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{name}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
async def make_server(redis_url: str, prefix: str) -> AsyncIterator[Callable[..., EventBus]]:
    """``make_bus(name=None, store=None, url=None, **backend_options)``: a server on the shared bus."""
    made: list[EventBus] = []

    def make(
        name: str | None = None, store: str | Path | None = None, url: str | None = None, **options: Any
    ) -> EventBus:
        backend = RedisBackend(url or redis_url, prefix=prefix, name=name, **options)
        bus = EventBus(backend.history(10_000, SQLiteStore(store) if store else None), transport=backend.transport)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        bus.close()
    for bus in made:
        await bus.transport.wait_closed()  # type: ignore[attr-defined]
