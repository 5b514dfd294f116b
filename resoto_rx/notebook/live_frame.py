"""LiveFrame: a rolling DataFrame of the latest events, by count (last N) or by time (last T seconds)."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd
from reactivex import abc

from resoto_rx.bus import EventBus
from resoto_rx.messages import KINDS, Message
from resoto_rx.notebook.throttle import MAX_RATE
from resoto_rx.notebook.view import LiveView, html_table

if TYPE_CHECKING:
    import ipywidgets


class LiveFrame(LiveView):
    """The last ``last`` messages, and/or those received in the last ``seconds``, as a flat DataFrame.

    >>> bus = EventBus()
    >>> live = LiveFrame(bus, "collect_done", last=2)
    >>> for n in range(3):
    ...     bus.emit("collect_done", {"count": n})
    >>> live.frame()["data.count"].tolist()
    [1, 2]
    >>> bus.close()

    Args:
        bus: the bus to listen to.
        *message_types: the types to keep (default: all).
        last: keep at most this many messages (default 1000 when ``seconds`` is not given).
        seconds: keep only messages received within this many seconds (on the scheduler's clock).
        shown: rows of the tail the widget displays.
    """

    def __init__(
        self,
        bus: EventBus,
        *message_types: str,
        last: int | None = None,
        seconds: float | None = None,
        shown: int = 10,
        scheduler: abc.SchedulerBase | None = None,
        max_rate: float = MAX_RATE,
    ) -> None:
        super().__init__(bus, scheduler, max_rate)
        if last is None and seconds is None:
            last = 1000
        if last is not None and last < 1:
            raise ValueError(f"last must be at least 1 message, got {last}")
        if seconds is not None and seconds <= 0:
            raise ValueError(f"seconds must be positive, got {seconds}")
        self.last = last
        self.window = timedelta(seconds=seconds) if seconds is not None else None
        self.shown = shown
        self.message_types = message_types
        self._kept: deque[Message] = deque(maxlen=last)
        self._times: deque[datetime] = deque(maxlen=last)  # only with a time window: reading a clock costs
        on_message = self._on_timed_message if self.window is not None else self._on_message
        self.subscribe(bus.listen(*message_types).subscribe(on_message))

    def _on_message(self, message: Message) -> None:
        self._kept.append(message)
        if not self._dirty:
            self.changed()

    def _on_timed_message(self, message: Message) -> None:
        self._kept.append(message)
        self._times.append(self.scheduler.now)
        if not self._dirty:
            self.changed()

    def messages(self) -> list[Message]:
        """The messages in the window, oldest first (drops those that fell out of the time window)."""
        if self.window is not None:
            oldest = self.scheduler.now - self.window
            while self._times and self._times[0] <= oldest:
                self._times.popleft()
                self._kept.popleft()
        return list(self._kept)

    def frame(self) -> pd.DataFrame:
        """The window as a DataFrame: id, at (UTC), kind, message_type (categories), ``data.<key>`` columns."""
        messages = self.messages()
        head = pd.DataFrame(
            {
                "id": pd.Series([m.id for m in messages], dtype="int64"),
                "at": pd.to_datetime(pd.Series([m.at for m in messages], dtype=object), utc=True),
                "kind": pd.Categorical([m.kind for m in messages], categories=KINDS),
                "message_type": pd.Series([m.message_type for m in messages], dtype="str").astype("category"),
            }
        )
        # built once from the buffered rows: a per-event concat costs ~45 ms at 1e6 rows (PITFALLS.md)
        data = pd.DataFrame([dict(m.data) for m in messages], index=head.index)
        data.columns = [f"data.{key}" for key in data.columns]
        return pd.concat([head, data], axis=1)

    # ----------------------------------------------------------- widgets
    def _build(self) -> ipywidgets.Widget:
        import ipywidgets as w

        self._status = w.HTML()
        self._table = w.HTML()
        return w.VBox([self._status, self._table])

    def _draw(self) -> None:
        messages = self.messages()
        window = []
        if self.last is not None:
            window.append(f"last {self.last}")
        if self.window is not None:
            window.append(f"last {self.window.total_seconds():g} s")
        self._status.value = f"<small>{len(messages)} rows ({', '.join(window)}); the latest {self.shown}:</small>"
        tail = messages[-self.shown :]
        keys = list(dict.fromkeys(key for m in tail for key in m.data))
        columns = ["id", "at", "kind", "message_type", *(f"data.{key}" for key in keys)]
        rows = ([m.id, m.at, m.kind, m.message_type, *(m.data.get(key) for key in keys)] for m in tail)
        self._table.value = html_table(columns, rows)
