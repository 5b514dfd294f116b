"""The embedded durable store: published messages in one SQLite file.

WAL with ``synchronous=NORMAL`` and batched commits: a process killed with ``kill -9`` loses only the
rows of the batch that was still open, never a committed one (PITFALLS.md: 264k rows/s in batches of
1000, ~29k/s when committing every row). The bus commits a batch when it is full and, at the latest,
``flush_interval`` seconds after its first row.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypeAlias

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


class SQLiteStore:
    """Append-only message log in a SQLite file.

    >>> store = SQLiteStore(":memory:")
    >>> store.last_id()
    0
    """

    def __init__(self, path: str | Path, batch_size: int = 1000, flush_interval: float = 0.2) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval}")
        self.path = str(path)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._pending: list[Row] = []
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
        self.flush()
        self._db.close()
