"""EventLog: a live table of the latest events, filterable by message type, kind and task."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
import pandas as pd
from reactivex import abc

from resoto_rx.bus import EventBus
from resoto_rx.messages import KINDS, ActionMessage, Message
from resoto_rx.notebook.throttle import MAX_RATE
from resoto_rx.notebook.view import LiveView, html_table

if TYPE_CHECKING:
    import ipywidgets

LOG_COLUMNS = ("id", "at", "kind", "message_type", "task", "step", "subscriber_id", "data")


@dataclass(frozen=True)
class LogFilter:
    """Which messages the table shows; empty means any. ``message_types`` match exactly."""

    message_types: frozenset[str] = frozenset()
    kind: str = ""
    task: str = ""

    def matches(self, message: Message) -> bool:
        if self.message_types and message.message_type not in self.message_types:
            return False
        if self.kind and message.kind != self.kind:
            return False
        return not self.task or task_of(message) == self.task


def task_of(message: Message) -> str | None:
    """The task a message belongs to: an action's ``task``, else ``data.task_id`` / ``data.task``."""
    if isinstance(message, ActionMessage):
        return message.task
    value = message.data.get("task_id", message.data.get("task"))
    return value if isinstance(value, str) else None


class EventLog(LiveView):
    """The latest ``rows`` messages that pass the filter, newest first; keeps the last ``capacity`` received.

    >>> bus = EventBus()
    >>> log = EventLog(bus, rows=5)
    >>> bus.emit("collect_done", {"count": 3})
    >>> log.frame()[["message_type", "data"]]
       message_type         data
    0  collect_done  {"count":3}
    >>> bus.close()

    Args:
        bus: the bus to listen to (every message type; the filter applies when drawing).
        message_type: show only these types (one name or several).
        kind: show only this kind (``event``, ``action``, ``action_done``, ...).
        task: show only messages of this task id.
    """

    def __init__(
        self,
        bus: EventBus,
        message_type: str | Iterable[str] = (),
        kind: str = "",
        task: str = "",
        rows: int = 20,
        capacity: int = 1000,
        scheduler: abc.SchedulerBase | None = None,
        max_rate: float = MAX_RATE,
    ) -> None:
        super().__init__(bus, scheduler, max_rate)
        self.rows = rows
        self.received = 0
        self.filter = LogFilter()
        self._messages: deque[Message] = deque(maxlen=capacity)
        self.set_filter(message_type, kind, task)
        self.subscribe(bus.listen().subscribe(self._on_message))

    def _on_message(self, message: Message) -> None:
        self._messages.append(message)
        self.received += 1
        if not self._dirty:  # the common case under a burst: a redraw is already pending
            self.changed()

    def set_filter(self, message_type: str | Iterable[str] = (), kind: str = "", task: str = "") -> None:
        """Show only matching messages (empty: any); the table redraws with what is already kept."""
        if kind and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
        types = frozenset([message_type] if isinstance(message_type, str) else message_type) - {""}
        self.filter = LogFilter(types, kind, task)
        self.changed()

    def messages(self) -> list[Message]:
        """The latest ``rows`` kept messages that pass the filter, newest first."""
        shown: list[Message] = []
        for message in reversed(self._messages):
            if self.filter.matches(message):
                shown.append(message)
                if len(shown) == self.rows:
                    break
        return shown

    def frame(self) -> pd.DataFrame:
        """What the table shows, as a DataFrame (``data`` as compact JSON text)."""
        shown = self.messages()
        return pd.DataFrame(
            {
                "id": pd.array([m.id for m in shown], dtype="Int64"),
                "at": pd.to_datetime(pd.Series([m.at for m in shown], dtype=object), utc=True),
                "kind": pd.Categorical([m.kind for m in shown], categories=KINDS),
                "message_type": pd.Series([m.message_type for m in shown], dtype="str"),
                "task": pd.Series([task_of(m) for m in shown], dtype="str"),
                "step": pd.Series([m.step if isinstance(m, ActionMessage) else None for m in shown], dtype="str"),
                "subscriber_id": pd.Series([getattr(m, "subscriber_id", None) for m in shown], dtype="str"),
                "data": pd.Series([_data_text(m) for m in shown], dtype="str"),
            },
            columns=list(LOG_COLUMNS),
        )

    # ----------------------------------------------------------- widgets
    def _build(self) -> ipywidgets.Widget:
        import ipywidgets as w

        self._type_box = w.Text(
            value=",".join(sorted(self.filter.message_types)), description="type", placeholder="any"
        )
        self._kind_box = w.Dropdown(options=["", *KINDS], value=self.filter.kind, description="kind")
        self._task_box = w.Text(value=self.filter.task, description="task", placeholder="any")
        for box in (self._type_box, self._kind_box, self._task_box):
            box.observe(self._on_control, names="value")
        self._status = w.HTML()
        self._table = w.HTML()
        controls = w.HBox([self._type_box, self._kind_box, self._task_box])
        return w.VBox([controls, self._status, self._table])

    def _on_control(self, _: object) -> None:
        types = [t.strip() for t in str(self._type_box.value).split(",")]
        self.set_filter(types, str(self._kind_box.value or ""), str(self._task_box.value).strip())

    def _draw(self) -> None:
        shown = self.messages()
        self._status.value = f"<small>{self.received} received, showing the latest {len(shown)}</small>"
        rows = (
            (
                m.id,
                m.at,
                m.kind,
                m.message_type,
                task_of(m),
                m.step if isinstance(m, ActionMessage) else None,
                getattr(m, "subscriber_id", None),
                _data_text(m),
            )
            for m in shown
        )
        self._table.value = html_table(LOG_COLUMNS, rows)


def _data_text(message: Message) -> str:
    encoded = message.encoded_data
    text = encoded.decode() if encoded is not None else orjson.dumps(dict(message.data)).decode()
    return text if len(text) <= 200 else text[:199] + "…"
