"""JSON documents by id in a table of the embedded SQLite file (job definitions, config).

Each write commits at once: definitions change rarely and must survive a crash, unlike the message
log, which is batched. A deleted document leaves a tombstone row (content NULL) so that revisions,
numbered across the whole table, are never handed out twice: a client that cached revision 7 of a
deleted document never mistakes a new document for it.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from resoto_rx.store import SQLiteStore

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class StoredDocument:
    id: str
    content: dict[str, Any]
    revision: int


class DocumentTable:
    """A table ``name`` of ``(id, revision, content)`` in ``store``'s file (or in memory without a store).

    >>> table = DocumentTable(None, "notes")
    >>> table.put("a", {"x": 1}).revision, table.get("a").content
    (1, {'x': 1})
    """

    def __init__(self, store: SQLiteStore | None, name: str) -> None:
        if not _TABLE_NAME.match(name) or name == "messages":
            raise ValueError(f"table name must match {_TABLE_NAME.pattern} and not be 'messages', got {name!r}")
        self.name = name
        if store is not None:
            self._db = store.connection
        else:
            self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {name} (id TEXT PRIMARY KEY, revision INTEGER NOT NULL, content TEXT)"
        )

    def get(self, doc_id: str) -> StoredDocument | None:
        row = self._db.execute(
            f"SELECT revision, content FROM {self.name} WHERE id = ? AND content IS NOT NULL", (doc_id,)
        ).fetchone()
        return None if row is None else StoredDocument(doc_id, orjson.loads(row[1]), int(row[0]))

    def all(self) -> list[StoredDocument]:
        """Every live document, by id."""
        rows = self._db.execute(
            f"SELECT id, revision, content FROM {self.name} WHERE content IS NOT NULL ORDER BY id"
        ).fetchall()
        return [StoredDocument(doc_id, orjson.loads(content), int(rev)) for doc_id, rev, content in rows]

    def put(self, doc_id: str, content: dict[str, Any]) -> StoredDocument:
        """Store ``content`` under ``doc_id`` with the next revision of this table."""
        text = orjson.dumps(content).decode()
        with self._db:  # BEGIN ... COMMIT: the revision read and the write are one step
            self._db.execute("BEGIN")
            (last,) = self._db.execute(f"SELECT COALESCE(MAX(revision), 0) FROM {self.name}").fetchone()
            revision = int(last) + 1
            self._db.execute(
                f"INSERT INTO {self.name} (id, revision, content) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET revision = excluded.revision, content = excluded.content",
                (doc_id, revision, text),
            )
        return StoredDocument(doc_id, orjson.loads(text), revision)

    def delete(self, doc_id: str) -> bool:
        """Remove ``doc_id`` (keeping its revision as a tombstone); False if there was none."""
        with self._db:
            cursor = self._db.execute(
                f"UPDATE {self.name} SET content = NULL WHERE id = ? AND content IS NOT NULL", (doc_id,)
            )
        return cursor.rowcount > 0
