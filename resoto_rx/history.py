"""Bounded, columnar history of published messages, readable as a pandas DataFrame.

Each message is appended as one entry in each column (ids and times in typed arrays, the rest as
references), so building a DataFrame needs no Python dict per row. ``data`` is kept as the JSON the
bus already encoded at emit time: compact, and decoded only when someone reads it.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from resoto_rx.codec import build
from resoto_rx.messages import KINDS, ActionMessage, ActionReply, Message
from resoto_rx.store import Row, SQLiteStore

if TYPE_CHECKING:
    import pandas as pd

FRAME_COLUMNS = ("id", "at", "kind", "message_type", "task", "step", "subscriber_id", "data")


class History:
    """The last ``capacity`` published messages; older ones are dropped first and counted in ``dropped``.

    With a ``store``, every message is also written to it, the newest rows are loaded back on start,
    and ``since`` reads from the store what the ring no longer holds.
    """

    def __init__(self, capacity: int = 100_000, store: SQLiteStore | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"history capacity must be at least 1 message, got {capacity}")
        self.capacity = capacity
        self.store = store
        self.dropped = 0
        self._head = 0  # next slot to overwrite once the ring is full
        self._ids = array("q")
        self._ats = array("d")
        self._kinds: list[str] = []
        self._types: list[str] = []
        self._tasks: list[str | None] = []
        self._steps: list[str | None] = []
        self._subscribers: list[str | None] = []
        self._datas: list[bytes] = []
        if store is not None:
            for row in store.tail(capacity):
                self._append_row(row[:-1], row[-1].encode())

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def last_id(self) -> int:
        """The id of the newest message, or 0 when empty."""
        if not self._ids:
            return self.store.last_id() if self.store is not None else 0
        return self._ids[self._head - 1]

    @property
    def first_id(self) -> int | None:
        """The id of the oldest retained message."""
        return self._ids[self._head] if self._ids else None

    def append(self, message: Message, data_json: bytes, at: float) -> None:
        """Record a published message; ``data_json`` is its encoded wire data, ``at`` its epoch time."""
        task = step = subscriber = None
        if isinstance(message, ActionMessage):
            task, step = message.task, message.step
            if isinstance(message, ActionReply):
                subscriber = message.subscriber_id
        assert message.id is not None
        head = (message.id, at, message.kind, message.message_type, task, step, subscriber)
        self._append_row(head, data_json)
        if self.store is not None:
            self.store.append((*head, data_json.decode()))

    def _append_row(self, head: tuple[int, float, str, str, str | None, str | None, str | None], data: bytes) -> None:
        if len(self._ids) < self.capacity:
            self._ids.append(head[0])
            self._ats.append(head[1])
            self._kinds.append(head[2])
            self._types.append(head[3])
            self._tasks.append(head[4])
            self._steps.append(head[5])
            self._subscribers.append(head[6])
            self._datas.append(data)
            return
        i = self._head
        self._ids[i], self._ats[i], self._kinds[i], self._types[i] = head[0], head[1], head[2], head[3]
        self._tasks[i], self._steps[i], self._subscribers[i], self._datas[i] = head[4], head[5], head[6], data
        self._head = (i + 1) % self.capacity
        self.dropped += 1

    def since(self, after_id: int, limit: int | None = None) -> list[Message]:
        """Messages with an id greater than ``after_id``, oldest first (from the store if the ring has dropped them)."""
        first = self.first_id
        if self.store is not None and (first is None or after_id < first - 1):
            self.store.flush()
            return [_from_row(row) for row in self.store.since(after_id, limit)]
        n, head, ids = len(self._ids), self._head, self._ids
        # Positions run oldest to newest; the slot of position p is (head + p) % n. Ids grow with p.
        start = bisect.bisect_right(range(n), after_id, key=lambda p: ids[(head + p) % n])
        stop = n if limit is None else min(n, start + limit)
        return [self._message_at((head + p) % n) for p in range(start, stop)]

    def _message_at(self, slot: int) -> Message:
        return build(
            self._kinds[slot],
            self._types[slot],
            orjson.loads(self._datas[slot]),
            self._ids[slot],
            datetime.fromtimestamp(self._ats[slot], UTC),
        )

    def to_frame(self, flatten: bool = False) -> pd.DataFrame:
        """The retained messages as a DataFrame, oldest first.

        Columns: id, at (UTC datetime), kind and message_type (categories), task, step, subscriber_id
        and data (the wire ``data`` dict). With ``flatten=True``, the top-level keys of ``data`` become
        columns ``data.<key>`` instead.
        """
        import numpy as np
        import pandas as pd

        rotate: Callable[[Any], Any]
        if self._head:
            h = self._head
            rotate = lambda column: column[h:] + column[:h]  # noqa: E731
        else:
            rotate = lambda column: column  # noqa: E731
        ids = np.frombuffer(rotate(self._ids), dtype=np.int64) if self._ids else np.empty(0, dtype=np.int64)
        ats = np.frombuffer(rotate(self._ats), dtype=np.float64) if self._ats else np.empty(0, dtype=np.float64)
        types = rotate(self._types)
        frame = pd.DataFrame(
            {
                "id": ids,
                # Rounded to whole microseconds: the float seconds carry no more, and ns digits would be noise.
                "at": pd.to_datetime(np.round(ats * 1e6).astype(np.int64), unit="us", utc=True),
                "kind": pd.Categorical(rotate(self._kinds), categories=KINDS),
                "message_type": pd.Categorical(types),
                "task": pd.array(rotate(self._tasks), dtype="str"),
                "step": pd.array(rotate(self._steps), dtype="str"),
                "subscriber_id": pd.array(rotate(self._subscribers), dtype="str"),
            }
        )
        datas = [orjson.loads(data) for data in rotate(self._datas)]
        if not flatten:
            frame["data"] = pd.Series(datas, dtype=object)
            return frame
        flat = pd.DataFrame(datas, index=frame.index)
        flat.columns = [f"data.{key}" for key in flat.columns]
        return pd.concat([frame, flat], axis=1)


def _from_row(row: Row) -> Message:
    return build(row[2], row[3], orjson.loads(row[7]), row[0], datetime.fromtimestamp(row[1], UTC))
