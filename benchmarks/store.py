"""Store: sustained SQLiteStore appends and what a ``kill -9`` loses.

- ``appends``: ``SQLiteStore.append`` of realistic rows with batched commits (batch 1000) vs raw
  ``sqlite3`` ``executemany`` in transactions of 1000 rows, same pragmas (WAL, synchronous=NORMAL), same
  schema and rows, fresh files each repeat. ``EventBus.emit`` with a store is reported for context.
- ``kill -9``: a child process emits realistic messages through an ``EventBus`` with a store. Every
  5000 messages it calls ``store.flush()`` and then records the last committed id in a small mmap'd
  file; after every emit it records the last emitted id there too. The parent SIGKILLs it mid-stream at
  a random moment, reopens the store and reports committed-but-lost rows (must be 0: ids up to the
  recorded committed id that are missing) and the open-batch rows lost (emitted but not in the file).
"""

from __future__ import annotations

import asyncio
import mmap
import os
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result, best_of, stamped, timed
from resoto_rx import EventBus, SQLiteStore
from resoto_rx.store import Row

SECTION = "store"
BATCH = 1000
FLUSH_EVERY = 5000
_SCHEMA = """CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, message_type TEXT NOT NULL,
    task TEXT, step TEXT, subscriber_id TEXT, data TEXT NOT NULL)"""
_INSERT = "INSERT INTO messages (id, at, kind, message_type, task, step, subscriber_id, data) VALUES (?,?,?,?,?,?,?,?)"
_MARKS = struct.Struct("<qq")  # last emitted id, last committed id


def make_rows(count: int) -> list[Row]:
    rows: list[Row] = []
    for message, data_json, at in stamped(1, count):
        assert message.id is not None
        task = getattr(message, "task", None)
        step = getattr(message, "step", None)
        subscriber = getattr(message, "subscriber_id", None)
        rows.append((message.id, at, message.kind, message.message_type, task, step, subscriber, data_json.decode()))
    return rows


def store_appends(rows: list[Row], directory: Path) -> float:
    path = directory / f"store-{time.monotonic_ns()}.sqlite"
    store = SQLiteStore(path, batch_size=BATCH)
    append = store.append

    def go() -> None:
        for row in rows:
            append(row)
        store.flush()

    elapsed = timed(go)
    store.close()
    if SQLiteStore(path).count() != len(rows):
        raise RuntimeError("SQLiteStore lost rows")
    return elapsed


def raw_appends(rows: list[Row], directory: Path) -> float:
    path = directory / f"raw-{time.monotonic_ns()}.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(_SCHEMA)

    def go() -> None:
        for start in range(0, len(rows), BATCH):
            db.execute("BEGIN")
            db.executemany(_INSERT, rows[start : start + BATCH])
            db.execute("COMMIT")

    elapsed = timed(go)
    db.close()
    return elapsed


def bus_with_store(count: int, directory: Path) -> float:
    loop = asyncio.new_event_loop()
    try:
        bus = EventBus(store=directory / f"bus-{time.monotonic_ns()}.sqlite", loop=loop)
        emit = bus.emit

        def go() -> None:
            for i in range(count):
                emit("collect_progress", {"n": i, "cloud": "aws", "count": i % 97})
            assert bus.store is not None
            bus.store.flush()

        elapsed = timed(go)
        bus.close()
        return elapsed
    finally:
        loop.close()


def child(db_path: str, marks_path: str) -> None:
    """The process that gets killed: emit forever, recording progress in the mmap'd marks file."""
    from benchmarks.common import realistic_message

    with open(marks_path, "r+b") as f:
        marks = mmap.mmap(f.fileno(), _MARKS.size)
    loop = asyncio.new_event_loop()
    bus = EventBus(store=SQLiteStore(db_path, batch_size=BATCH), loop=loop)
    store = bus.store
    assert store is not None
    committed = 0
    i = 0
    while True:
        i += 1
        bus.emit(realistic_message(i))
        if i % FLUSH_EVERY == 0:
            store.flush()
            committed = bus.last_id
        _MARKS.pack_into(marks, 0, bus.last_id, committed)


def kill_trial(directory: Path, min_committed: int, rng: random.Random) -> dict[str, int]:
    db_path = directory / f"kill-{time.monotonic_ns()}.sqlite"
    marks_path = directory / f"marks-{time.monotonic_ns()}"
    marks_path.write_bytes(bytes(_MARKS.size))
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.store", "--child", str(db_path), str(marks_path)])
    try:
        deadline = time.monotonic() + 60
        while _MARKS.unpack(marks_path.read_bytes())[1] < min_committed:
            if proc.poll() is not None:
                raise RuntimeError(f"the emitting child exited early with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the emitting child made no progress")
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.2))  # a random point mid-stream
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    emitted, committed = _MARKS.unpack(marks_path.read_bytes())
    store = SQLiteStore(db_path)  # reopening recovers from the WAL
    try:
        rows = store.count()
        last = store.last_id()
        kept_committed = sum(1 for row in store.since(0, committed) if row[0] <= committed)
    finally:
        store.close()
    return {
        "emitted": emitted,
        "committed_mark": committed,
        "rows": rows,
        "committed_lost": committed - kept_committed,
        "gaps": last - rows,
        "open_batch_lost": emitted - last,
        "signal": -proc.returncode,
    }


def run(quick: bool = False) -> list[Result]:
    count = 20_000 if quick else 200_000
    repeats = 2 if quick else 5
    trials = 1 if quick else 5
    results: list[Result] = []
    print(f"\n== {SECTION}: {count:,} rows in batches of {BATCH}, best of {repeats}; {trials} kill -9 trial(s) ==")
    rows = make_rows(count)
    with tempfile.TemporaryDirectory(prefix="resoto-rx-bench-") as tmp:
        directory = Path(tmp)
        best_store = best_raw = float("inf")
        for _ in range(repeats):  # interleaved, fresh files every time
            best_store = min(best_store, store_appends(rows, directory))
            best_raw = min(best_raw, raw_appends(rows, directory))
            for leftover in directory.glob("*.sqlite*"):
                leftover.unlink()
        bus_s = best_of(repeats, lambda: bus_with_store(count, directory))
        store_rate, raw_rate, bus_rate = count / best_store, count / best_raw, count / bus_s
        ratio = store_rate / raw_rate
        print(f"SQLiteStore.append     {store_rate:>12,.0f} rows/s")
        print(f"raw executemany        {raw_rate:>12,.0f} rows/s")
        print(f"SQLiteStore/raw        {ratio:>12.2f}x")
        print(f"EventBus.emit + store  {bus_rate:>12,.0f} messages/s (context)")
        results.append(Result(SECTION, "SQLiteStore appends/s (batch 1000)", store_rate, "/s"))
        results.append(Result(SECTION, "raw sqlite3 executemany rows/s", raw_rate, "/s"))
        results.append(Result(SECTION, "SQLiteStore/raw", ratio, "x"))
        results.append(Result(SECTION, "EventBus.emit with store, msgs/s", bus_rate, "/s"))

        rng = random.Random(7)
        committed_lost = open_lost = gaps = 0
        for trial in range(trials):
            outcome = kill_trial(directory, min_committed=FLUSH_EVERY * (2 if quick else 10), rng=rng)
            print(
                f"kill -9 #{trial + 1}: emitted {outcome['emitted']:,}, committed mark {outcome['committed_mark']:,}, "
                f"rows after reopen {outcome['rows']:,}, committed lost {outcome['committed_lost']}, "
                f"open batch lost {outcome['open_batch_lost']}, gaps {outcome['gaps']}"
            )
            committed_lost += outcome["committed_lost"]
            gaps += outcome["gaps"]
            open_lost = max(open_lost, outcome["open_batch_lost"])
    lost = Result(
        SECTION, f"kill -9: committed rows lost, {trials} kill(s)", committed_lost, "rows", "0", committed_lost == 0
    )
    results.append(lost)
    results.append(Result(SECTION, "kill -9: gaps in ids after reopen", gaps, "rows", "0", gaps == 0))
    results.append(Result(SECTION, "kill -9: open-batch rows lost (max)", open_lost, "rows"))
    return results


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        run(quick=True)
