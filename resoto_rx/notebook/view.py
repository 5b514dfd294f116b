"""The base of every live widget: subscribe cheap, redraw on the throttle, state without a browser.

A view keeps its state as plain Python (a deque, a TaskRun) updated on each message at the cost of
an append; a change only sets a flag and, when none was pending, pokes the throttle, which calls
``redraw`` at most ``max_rate`` times per second on the bus loop's scheduler. The ipywidgets are built
only when the view is displayed (``view.widget``), so tests and scripts read the same state
(``state()`` / ``frame()``) without a front end.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reactivex import abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.subject import Subject

from resoto_rx.bus import EventBus
from resoto_rx.notebook.kernel import bus_scheduler
from resoto_rx.notebook.throttle import MAX_RATE, interval_for, throttle_latest

if TYPE_CHECKING:
    import ipywidgets

log = logging.getLogger(__name__)


class LiveView:
    """Base class: subclasses subscribe with ``self.subscribe(...)``, call ``changed()`` and implement
    ``_build`` (make the ipywidgets) and ``_draw`` (put the current state into them).

    Args:
        bus: the bus whose loop owns the redraws.
        scheduler: where redraw timers run (default: a thread-safe scheduler on the bus loop;
            a ``TestScheduler`` in tests).
        max_rate: redraws per second at most (<= 20).
    """

    def __init__(self, bus: EventBus, scheduler: abc.SchedulerBase | None = None, max_rate: float = MAX_RATE) -> None:
        self.bus = bus
        self.scheduler = scheduler or bus_scheduler(bus)
        self.max_rate = max_rate
        self.updates = 0
        """Redraws so far."""
        self.redraw_times: deque[datetime] = deque(maxlen=10_000)
        """Scheduler time of the latest redraws (for rate checks)."""
        self.draw_errors = 0
        self._dirty = False
        self._widget: ipywidgets.Widget | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False
        self._changes: Subject[None] = Subject()
        self._subscriptions = CompositeDisposable()
        # observe_on: even the first redraw of a burst runs on the scheduler, never inside the emit
        # that changed the state (a plot's redraw took ~400 ms there, blocking the bus).
        throttled = self._changes.pipe(
            throttle_latest(interval_for(max_rate), self.scheduler), ops.observe_on(self.scheduler)
        )
        self._subscriptions.add(throttled.subscribe(lambda _: self.redraw()))

    # ----------------------------------------------------------- changes
    def subscribe(self, subscription: abc.DisposableBase) -> None:
        """Keep ``subscription`` until ``close``."""
        self._subscriptions.add(subscription)

    def changed(self) -> None:
        """The state changed: redraw soon (at once if the last redraw is older than the interval)."""
        if self._dirty or self._closed:
            return  # a redraw is already held by the throttle (it reads the newest state), or closed
        self._dirty = True
        self._changes.on_next(None)

    @property
    def pending(self) -> bool:
        """Whether a change waits for its redraw."""
        return self._dirty

    def redraw(self) -> None:
        """Put the current state into the widgets now (the throttle calls it; ``flush`` too)."""
        self._dirty = False
        self.updates += 1
        self.redraw_times.append(self.scheduler.now)
        if self._widget is not None:
            try:
                self._draw()
            except Exception:  # a drawing bug must not stop later redraws
                self.draw_errors += 1
                log.exception("%s failed to redraw", type(self).__name__)
        self._release_waiters()

    def _release_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def max_redraws_per_second(self) -> int:
        """The most redraws within any one-second window (half-open) of the recorded redraw times."""
        times = [t.timestamp() for t in self.redraw_times]
        most, first = 0, 0
        for last, t in enumerate(times):
            while times[first] <= t - 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    def flush(self) -> None:
        """Redraw now if a change is pending (bypasses the throttle: call it by hand, not per event)."""
        if self._dirty:
            self.redraw()

    async def settled(self) -> None:
        """Wait until the pending change, if any, has been redrawn (at most one throttle interval)."""
        if not self._dirty:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    # ----------------------------------------------------------- widgets
    @property
    def widget(self) -> ipywidgets.Widget:
        """The ipywidgets tree (built on first use, then kept up to date)."""
        if self._widget is None:
            self._widget = self._build()
            self._draw()
        return self._widget

    def _build(self) -> ipywidgets.Widget:
        raise NotImplementedError

    def _draw(self) -> None:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop listening and close the widgets; whoever awaits ``settled()`` is released."""
        self._closed = True
        self._dirty = False
        self._subscriptions.dispose()
        self._release_waiters()
        if self._widget is not None:
            _close_tree(self._widget)
            self._widget = None

    def __enter__(self) -> LiveView:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def html_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A small escaped HTML table: ~50x cheaper than ``DataFrame.to_html`` for a redraw of a few rows."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table class='resoto-rx'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%H:%M:%S.%f")[:-3]
    return str(value)


def _close_tree(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()
