"""SQLite store: batched commits, restart with continuing ids, replay beyond the ring, kill -9 durability."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from resoto_rx import Action, ActionProgress, Event, EventBus, History, Message, SQLiteStore
from resoto_rx.store import Row, StoreInUseError

MakeBus = Callable[..., EventBus]
Collect = Callable[..., list[Any]]
ROOT = Path(__file__).resolve().parents[1]


def row(i: int, message_type: str = "x") -> Row:
    return (i, 1_700_000_000.0 + i, "event", message_type, None, None, None, f'{{"i":{i}}}')


def ids(messages: list[Message] | list[Row]) -> list[Any]:
    return [m[0] if isinstance(m, tuple) else m.id for m in messages]


# ------------------------------------------------------------------ the store itself
def test_batched_commits(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = SQLiteStore(path, batch_size=3)
    reader = SQLiteStore(path, exclusive=False)  # another connection sees only what is committed
    try:
        store.append(row(1))
        store.append(row(2))
        assert (store.pending, store.committed, store.count(), store.last_id()) == (2, 0, 0, 0)
        assert reader.count() == 0
        store.append(row(3))  # the batch is full: committed
        assert (store.pending, store.committed, store.count(), store.last_id()) == (0, 3, 3, 3)
        assert reader.since(0) == [row(1), row(2), row(3)]
        store.append(row(4))
        assert (store.pending, reader.count()) == (1, 3)
        store.flush()
        assert (store.pending, store.committed, reader.count(), reader.last_id()) == (0, 4, 4, 4)
        store.flush()  # nothing pending: no-op
        assert store.committed == 4
    finally:
        store.close()
        reader.close()


def test_queries(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite")
    assert (store.last_id(), store.count(), store.since(0), store.tail(5)) == (0, 0, [], [])
    for i in range(1, 11):
        store.append(row(i))
    store.flush()
    assert ids(store.since(0)) == list(range(1, 11))
    assert ids(store.since(7)) == [8, 9, 10]
    assert ids(store.since(2, limit=3)) == [3, 4, 5]
    assert store.since(2, limit=0) == []  # as History.since: limit 0 is nothing, not everything
    assert store.since(10) == []
    assert ids(store.tail(3)) == [8, 9, 10]
    assert ids(store.tail(100)) == list(range(1, 11))
    assert store.since(4, limit=1) == [row(5)]  # rows come back exactly as written
    store.close()


def test_close_commits_pending(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = SQLiteStore(path)
    store.append(row(1))
    store.close()
    reopened = SQLiteStore(path)
    assert reopened.since(0) == [row(1)]
    reopened.close()


def test_memory_store() -> None:
    store = SQLiteStore(":memory:", batch_size=1)
    store.append(row(1))
    assert store.count() == 1
    store.close()


@pytest.mark.parametrize(("kwargs", "match"), [({"batch_size": 0}, "batch_size"), ({"flush_interval": 0}, "flush")])
def test_store_arguments(tmp_path: Path, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SQLiteStore(tmp_path / "s.sqlite", **kwargs)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite", batch_size=1)
    store.append(row(1))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        store.append(row(1))
    assert store.count() == 1
    store.close()


# ------------------------------------------------------------------ a bus with a store
def test_bus_reopened_continues_ids_and_reloads_the_ring(make_bus: MakeBus, collect: Collect, tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite"
    first = make_bus(5, store=path)
    seen = collect(first)
    first.emit(Event("e", {"a": [1, 2]}))
    first.emit(Action("collect", {"timing": {}}, task="t", step="collect"))
    first.emit(ActionProgress("collect", task="t", step="collect", subscriber_id="w", progress=_progress()))
    for i in range(7):
        first.emit("x", {"i": i})
    assert first.last_id == 10
    first.close()

    second = make_bus(5, store=path)
    assert second.last_id == 10
    assert len(second.history) == 5
    assert (second.history.first_id, second.history.last_id) == (6, 10)
    assert second.history.since(5) == seen[5:]  # the ring holds what was published, as it was
    assert list(second.history.to_frame()["id"]) == [6, 7, 8, 9, 10]
    later = collect(second)
    second.emit("after_restart")
    assert ids(later) == [11]
    assert second.history.since(0) == [*seen, *later]  # older than the ring: from the store
    second.close()

    third = make_bus(100, store=path)  # a larger ring loads everything
    assert third.last_id == 11 and len(third.history) == 11
    assert third.history.since(0) == [*seen, *later]


def test_since_older_than_the_ring_reads_the_store(make_bus: MakeBus, collect: Collect, tmp_path: Path) -> None:
    bus = make_bus(3, store=tmp_path / "bus.sqlite")
    seen = collect(bus)
    for i in range(10):
        bus.emit("x", {"i": i})
    assert bus.store is not None and bus.store.pending == 10  # nothing committed yet: since flushes first
    history = bus.history
    assert history.first_id == 8
    assert history.since(0) == seen
    assert bus.store.pending == 0
    assert ids(history.since(2)) == list(range(3, 11))
    assert ids(history.since(2, limit=3)) == [3, 4, 5]
    assert history.since(2, limit=0) == []
    assert ids(history.since(6)) == [7, 8, 9, 10]  # starts one before the ring: the store
    assert ids(history.since(7)) == [8, 9, 10]  # the ring covers it
    assert ids(history.since(7, limit=1)) == [8]
    assert history.since(10) == []
    assert [m.data["i"] for m in history.since(4)] == list(range(4, 10))


def test_history_with_store_without_bus(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite")
    for i in range(1, 8):
        store.append(row(i))
    store.flush()
    history = History(4, store)
    assert (len(history), history.first_id, history.last_id) == (4, 4, 7)
    assert ids(history.since(1)) == [2, 3, 4, 5, 6, 7]
    assert [m.data for m in history.since(5)] == [{"i": 6}, {"i": 7}]
    store.close()


def _progress() -> dict[str, Any]:
    return {
        "kind": "tree",
        "name": "all",
        "path": [],
        "parts": [{"kind": "progress", "name": "a", "current": 1, "total": 2}],
    }


# ------------------------------------------------------------------ kill -9
CHILD = textwrap.dedent(
    """
    import sys
    from resoto_rx import EventBus

    path, committed, uncommitted = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    bus = EventBus(store=path)  # no running loop: the timed flush never fires, only full batches commit
    for i in range(committed):
        bus.emit("committed", {"i": i, "pad": "x" * 100})
    bus.store.flush()
    print(bus.store.last_id(), flush=True)
    for i in range(uncommitted):
        bus.emit("uncommitted", {"i": i})
    print(bus.store.pending, flush=True)
    sys.stdin.read()  # block until killed
    """
)


def test_kill_9_loses_no_committed_message(tmp_path: Path) -> None:
    path = tmp_path / "bus.sqlite"
    committed, uncommitted = 2500, 300  # the default batch of 1000 commits twice on its own
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(committed), str(uncommitted)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        last_committed = child.stdout.readline()
        pending = child.stdout.readline()
    finally:
        child.send_signal(signal.SIGKILL)
        _, stderr = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, stderr
    assert int(last_committed) == committed
    assert int(pending) == uncommitted

    store = SQLiteStore(path)
    rows = store.since(0)
    assert [r[0] for r in rows] == list(range(1, committed + 1))  # all committed, contiguous, nothing more
    assert {r[3] for r in rows} == {"committed"}
    assert [r[7] for r in rows[:2]] == ['{"i":0,"pad":"' + "x" * 100 + '"}', '{"i":1,"pad":"' + "x" * 100 + '"}']
    store.close()

    loop_free = History(10, SQLiteStore(path))
    assert loop_free.last_id == committed
    assert ids(loop_free.since(committed - 2)) == [committed - 1, committed]
    assert loop_free.store is not None
    loop_free.store.close()


def test_a_second_writer_of_the_same_file_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    # What a notebook cell that makes ResotoRx() twice would do: two buses numbering into one file.
    path = tmp_path / "s.sqlite"
    first = SQLiteStore(path)
    with pytest.raises(StoreInUseError, match=r"already open for writing .* close that one first"):
        SQLiteStore(path)
    reader = SQLiteStore(path, exclusive=False)  # reading a store in use is fine
    reader.close()
    first.close()
    second = SQLiteStore(path)
    second.close()
