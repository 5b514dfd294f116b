"""Bounded, columnar history of published messages, readable as a pandas DataFrame.

Each message is appended as one entry in each column (ids and times in typed arrays, the rest as
references), so building a DataFrame needs no Python dict per row. ``data`` is kept as the JSON the
bus already encoded at emit time: compact, and decoded only when someone reads it.
"""

from __future__ import annotations

import bisect
import gc
from array import array
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from resoto_rx.codec import build
from resoto_rx.messages import KINDS, ActionMessage, ActionReply, Event, Message, set_encoded_data
from resoto_rx.store import Row, SQLiteStore

if TYPE_CHECKING:
    import pandas as pd

FRAME_COLUMNS = ("id", "at", "kind", "message_type", "task", "step", "subscriber_id", "data")


_Head = tuple[int, float, str, str, str | None, str | None, str | None]  # a Row without its data


class _Codebook:
    """Strings as small int codes: a column of codes is 4 bytes a row and becomes a pandas
    Categorical without looking at a single string again. None is -1 (missing in pandas)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, value: str | None) -> int:
        if value is None:
            return -1
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.names)
            self.names.append(value)
        return code

    def name(self, code: int) -> str | None:
        return None if code < 0 else self.names[code]


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
        # kind, message_type, task, step, subscriber_id: one codebook and one code column each
        self._books = tuple(_Codebook() for _ in range(5))
        self._codes = tuple(array("i") for _ in range(5))
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
        # Events, the common case, carry none of these: test for them first.
        if type(message) is not Event and isinstance(message, ActionMessage):
            task, step = message.task, message.step
            if isinstance(message, ActionReply):
                subscriber = message.subscriber_id
        assert message.id is not None
        head = (message.id, at, message.kind, message.message_type, task, step, subscriber)
        if len(self._ids) < self.capacity:  # filling up: appends, unrolled (this runs for every message)
            self._ids.append(head[0])
            self._ats.append(at)
            books, codes = self._books, self._codes
            codes[0].append(books[0].code(head[2]))
            codes[1].append(books[1].code(head[3]))
            codes[2].append(books[2].code(task))
            codes[3].append(books[3].code(step))
            codes[4].append(books[4].code(subscriber))
            self._datas.append(data_json)
        else:
            self._append_row(head, data_json)
        if self.store is not None:
            self.store.append((*head, data_json.decode()))

    def _append_row(self, head: _Head, data: bytes) -> None:
        books, codes = self._books, self._codes
        if len(self._ids) < self.capacity:
            self._ids.append(head[0])
            self._ats.append(head[1])
            for column in range(5):
                codes[column].append(books[column].code(head[2 + column]))  # type: ignore[arg-type]
            self._datas.append(data)
            return
        i = self._head
        self._ids[i], self._ats[i], self._datas[i] = head[0], head[1], data
        for column in range(5):
            codes[column][i] = books[column].code(head[2 + column])  # type: ignore[arg-type]
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
        kind, message_type = self._books[0].names[self._codes[0][slot]], self._books[1].names[self._codes[1][slot]]
        data = self._datas[slot]
        at = datetime.fromtimestamp(self._ats[slot], UTC)
        return _with_encoded_data(build(kind, message_type, orjson.loads(data), self._ids[slot], at), data)

    def to_frame(self, flatten: bool = False, decode: bool = True) -> pd.DataFrame:
        """The retained messages as a DataFrame, oldest first.

        Columns: id, at (UTC datetime), kind, message_type, task, step and subscriber_id (categories),
        and data: the wire ``data`` as dicts, or as JSON text with ``decode=False`` (several times
        faster for big histories). With ``flatten=True``, the top-level keys of ``data`` become
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

        def numbers(column: array[Any], dtype: type[np.generic]) -> Any:
            return np.frombuffer(rotate(column), dtype=dtype) if column else np.empty(0, dtype=dtype)

        names = ("kind", "message_type", "task", "step", "subscriber_id")
        kind_codes = numbers(self._codes[0], np.int32)
        if kind_codes.size:  # codes of the kind book follow first appearance; map them to KINDS order
            kind_codes = np.array([KINDS.index(k) for k in self._books[0].names], dtype=np.int32)[kind_codes]
        columns: dict[str, Any] = {
            "id": numbers(self._ids, np.int64),
            # Rounded to whole microseconds: the float seconds carry no more, and ns digits would be noise.
            "at": pd.to_datetime(np.round(numbers(self._ats, np.float64) * 1e6).astype(np.int64), unit="us", utc=True),
            "kind": pd.Categorical.from_codes(kind_codes, categories=pd.Index(list(KINDS))),
        }
        for index in range(1, 5):
            codes = numbers(self._codes[index], np.int32)
            # Books keep names that dropped out of the ring: leave those out of the categories.
            book = pd.Index(self._books[index].names, dtype=object)
            columns[names[index]] = pd.Categorical.from_codes(codes, categories=book).remove_unused_categories()
        frame = pd.DataFrame(columns)
        datas = rotate(self._datas)
        if not decode and not flatten:
            frame["data"] = pd.array([data.decode() for data in datas], dtype="str")
            return frame
        decoded = _decode_all(datas)
        if not flatten:
            frame["data"] = pd.Series(decoded, dtype=object)
            return frame
        flat = pd.DataFrame(decoded, index=frame.index)
        flat.columns = [f"data.{key}" for key in flat.columns]
        return pd.concat([frame, flat], axis=1)


def _decode_all(datas: list[bytes]) -> list[Any]:
    """Decode many JSON documents in one call, with the cyclic GC paused: a million fresh dicts
    trigger it over and over (measured 3x slower), and decoded JSON cannot form cycles anyway."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        result: list[Any] = orjson.loads(b"[" + b",".join(datas) + b"]")
        return result
    finally:
        if enabled:
            gc.enable()


def _from_row(row: Row) -> Message:
    data = row[7].encode()
    return _with_encoded_data(
        build(row[2], row[3], orjson.loads(data), row[0], datetime.fromtimestamp(row[1], UTC)), data
    )


def _with_encoded_data(message: Message, data: bytes) -> Message:
    """A replayed message carries the wire data it was recorded with, as a published one does: every
    client replaying it reuses these bytes for its frame instead of encoding the message again."""
    set_encoded_data(message, data)
    return message
