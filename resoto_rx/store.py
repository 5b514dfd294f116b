"""The embedded durable store: published messages in one SQLite file.

WAL with ``synchronous=NORMAL`` and batched commits: a process killed with ``kill -9`` loses only the
rows of the batch that was still open, never a committed one (PITFALLS.md: 264k rows/s in batches of
1000, ~29k/s when committing every row). The bus commits a batch when it is full and, at the latest,
``flush_interval`` seconds after its first row.
"""

from __future__ import annotations

import fcntl
import sqlite3
from pathlib import Path
from typing import IO, TypeAlias

# id, at (epoch seconds), kind, message_type, task, step, subscriber_id, data (JSON text of the wire data)
Row: TypeAlias = tuple[int, float, str, str, str | None, str | None, str | None, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    message_type TEXT NOT NULL,
    task TEXT,
    step TEXT,
    subscriber_id TEXT,
    data TEXT NOT NULL
)
"""
_COLUMNS = "id, at, kind, message_type, task, step, subscriber_id, data"


class StoreInUseError(RuntimeError):
    """Another store already writes this file."""


def _lock(path: str) -> IO[bytes]:
    """An exclusive advisory lock on the database file, held for as long as the returned file is open.

    flock, not SQLite's own fcntl locks (the two do not interact on Linux); a second open of the
    same file in this process conflicts too, which is what catches a notebook cell run twice.
    """
    handle = open(path, "ab")  # noqa: SIM115  (kept open: the lock lives as long as the store)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreInUseError(
            f"store {path} is already open for writing (another bus, a ResotoRx made by a cell run before,"
            " or another process): close that one first (core.close() / bus.close()), or pass another file"
        ) from None
    return handle


class SQLiteStore:
    """Append-only message log in a SQLite file.

    >>> store = SQLiteStore(":memory:")
    >>> store.last_id()
    0
    """

    def __init__(
        self, path: str | Path, batch_size: int = 1000, flush_interval: float = 0.2, exclusive: bool = True
    ) -> None:
        """``exclusive``: this store numbers and writes the messages, so no other store (in this process
        or another) may open the file for writing meanwhile -- two writers would hand out the same ids
        and one of them would lose its batches. ``exclusive=False`` is for reading a store in use."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval}")
        self.path = str(path)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._pending: list[Row] = []
        self._lock_file = _lock(self.path) if exclusive and self.path != ":memory:" else None
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self.committed = 0

    @property
    def pending(self) -> int:
        """Rows appended but not committed yet."""
        return len(self._pending)

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (autocommit), for other tables in the same file (jobs, config)."""
        return self._db

    def append(self, row: Row) -> None:
        """Queue one row; commits the batch once it holds ``batch_size`` rows."""
        self._pending.append(row)
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Commit every pending row in one transaction."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        with self._db:  # BEGIN ... COMMIT, or ROLLBACK on error
            self._db.execute("BEGIN")
            self._db.executemany(f"INSERT INTO messages ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", rows)
        self.committed += len(rows)

    def last_id(self) -> int:
        """The highest committed id, 0 for an empty store."""
        (value,) = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()
        return int(value)

    def since(self, after_id: int, limit: int | None = None) -> list[Row]:
        """Committed rows with an id greater than ``after_id``, oldest first."""
        limit = -1 if limit is None else limit  # LIMIT -1: no limit; LIMIT 0: nothing, as in History.since
        return self._db.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        ).fetchall()

    def tail(self, count: int) -> list[Row]:
        """The last ``count`` committed rows, oldest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM messages ORDER BY id DESC LIMIT ?", (count,)).fetchall()
        rows.reverse()
        return rows

    def count(self) -> int:
        """How many rows are committed."""
        (value,) = self._db.execute("SELECT COUNT(*) FROM messages").fetchone()
        return int(value)

    def close(self) -> None:
        """Commit what is pending and close the file."""
        try:
            self.flush()
            self._db.close()
        finally:
            if self._lock_file is not None:
                self._lock_file.close()  # closing the descriptor releases the lock
                self._lock_file = None
