"""StreamHistory: the ring buffer in front, the shared Redis stream behind it.

With Redis the stream is the history every server shares: ``since`` answers from the ring when it
holds everything after the id asked for, and reads the older part with XRANGE otherwise (a server
that joined late, or a client asking about before this server started). The stream keeps
``maxlen`` entries (approximately): that is how far back replay reaches.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from resoto_rx.backends.ids import is_local, stream_id
from resoto_rx.backends.redis_streams import REDIS_DOWN, parse_entry
from resoto_rx.history import History
from resoto_rx.messages import Message
from resoto_rx.store import SQLiteStore

if TYPE_CHECKING:
    from resoto_rx.backends.redis_streams import RedisBackend

log = logging.getLogger(__name__)


class StreamHistory(History):
    """A :class:`History` whose ``since`` falls back to the stream (XRANGE) instead of the store."""

    def __init__(self, backend: RedisBackend, capacity: int = 100_000, store: SQLiteStore | None = None) -> None:
        super().__init__(capacity, store)
        self.backend = backend

    def since(self, after_id: int, limit: int | None = None) -> list[Message]:
        first = self.first_id
        if first is not None and after_id >= first:
            return super().since(after_id, limit)
        lower = f"({stream_id(after_id)}" if after_id > 0 else "-"
        # Up to the entry before the ring's first (a local first id follows an entry the ring lacks).
        upper = "+" if first is None else stream_id(first) if is_local(first) else f"({stream_id(first)}"
        try:
            entries: Any = self.backend.sync.xrange(self.backend.stream, lower, upper, count=limit)
        except REDIS_DOWN as err:
            log.warning("since(%d): stream unreachable (%s); answering from local history", after_id, err)
            return super().since(after_id, limit)
        older: list[Message] = []
        for entry_id, fields in entries:
            try:
                older.append(parse_entry(entry_id, fields)[0])
            except ValueError as err:
                log.warning("skipped stream entry %s: %s", entry_id, err)
        if first is None or (limit is not None and len(older) >= limit):
            return older
        rest = None if limit is None else limit - len(older)
        return older + super().since(first - 1, rest)
