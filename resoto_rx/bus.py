"""The EventBus: one ordered stream of messages, delivered on one asyncio loop.

Rules (ARCHITECTURE.md): any thread may ``emit``; delivery always happens on the owning loop, in id
order; a subscriber that raises is logged and reported as an ``error`` event while everyone else keeps
receiving; nothing ever waits for a consumer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.observer.autodetachobserver import AutoDetachObserver

from resoto_rx.codec import encode_data, wire_data
from resoto_rx.history import History
from resoto_rx.messages import ActionMessage, CoreEvent, Event, Message, new_event, set_at, set_encoded_data, set_id
from resoto_rx.store import SQLiteStore

log = logging.getLogger(__name__)

OnNext = Callable[[Message], None]
_ALL = "*"


class Transport(Protocol):
    """Carries published messages. In-process (the default) hands them straight back to the bus;
    a distributed transport (Redis Streams) sends them out and calls :meth:`EventBus.accept` for
    every message it reads back, in the one total order of the shared stream."""

    def publish(self, message: Message, encoded: bytes) -> None:
        """Called on the bus loop for every emitted message, with its encoded wire data."""

    def close(self) -> None:
        """Stop carrying messages; called by :meth:`EventBus.close`."""


class InProcessTransport:
    """The default: messages are numbered and delivered by this bus alone."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus

    def publish(self, message: Message, encoded: bytes) -> None:
        self.bus.accept(message, encoded)

    def close(self) -> None:
        pass


class BusClosedError(RuntimeError):
    """The bus was closed: it takes no more messages or subscribers."""


@dataclasses.dataclass(eq=False, slots=True)
class _Subscriber:
    on_next: OnNext
    on_completed: Callable[[], None]
    subscriber_id: str | None
    name: str
    active: bool = True  # cleared on dispose: a subscriber disposed mid-delivery gets nothing more


class EventBus:
    """Resoto's event bus as reactive streams.

    >>> bus = EventBus()
    >>> seen = []
    >>> _ = bus.listen("collect_done").subscribe(seen.append)
    >>> bus.emit("collect_done", {"count": 3})
    >>> seen[0].data["count"], seen[0].id
    (3, 1)
    >>> bus.close()

    Args:
        history: the history to record into, or its capacity (messages retained in memory).
        store: a SQLite file (path or :class:`SQLiteStore`) that keeps every message durably; ids
            continue after a restart.
        loop: the owning loop; by default the running loop, else a new one (run it to receive
            messages emitted from other threads).
        transport: makes the transport that carries published messages (default: in-process).
    """

    def __init__(
        self,
        history: History | int = 10_000,
        store: SQLiteStore | str | Path | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        transport: Callable[[EventBus], Transport] = InProcessTransport,
    ) -> None:
        if not isinstance(history, int) and store is not None and history.store is not store:
            raise ValueError("pass the store either to the History or to the EventBus, not different ones")
        if isinstance(store, str | Path):
            store = SQLiteStore(store)  # opened only once the arguments are known to be good: it locks the file
        if isinstance(history, int):
            history = History(history, store)
        self.history = history
        self.store = history.store
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None  # made on first use: a bus used only synchronously never needs one
        self._loop = loop
        self._owns_loop = False
        self._thread = threading.get_ident()
        self._lock = threading.Lock()
        self._last_id = history.last_id
        self._by_type: dict[str, list[_Subscriber]] = {}
        self._routes: dict[str, tuple[_Subscriber, ...]] = {}
        self._queue: deque[Message] = deque()
        self._delivering = False
        self._closed = False
        self._flush_timer: asyncio.TimerHandle | None = None
        self.listeners: dict[str, list[str]] = {}
        """Registered listeners: subscriber id -> channels."""
        self.failures = 0
        """How many times a subscriber raised."""
        self.transport = transport(self)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The owning loop: delivery happens there. Made (and owned, and closed by ``close``) if none ran."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._owns_loop = True
        return self._loop

    # ---------------------------------------------------------------- emit
    def emit(self, message: Message | str, data: Mapping[str, Any] | None = None) -> None:
        """Publish a message: ``emit(Event("x", {...}))`` or the short form ``emit("x", {...})``.

        Safe from any thread. On the owning loop's thread the message is delivered before ``emit``
        returns (unless a delivery is already running there: then right after it, keeping id order);
        from other threads it is handed to the loop. Publishing stamps the message with its ``id`` and
        ``at``; a message that already has an id is copied first.

        Raises:
            MessageFormatError: the data cannot be encoded as JSON (nothing is published).
            BusClosedError: the bus is closed.
        """
        if self._closed:
            raise BusClosedError(f"cannot emit {message!r}: the bus is closed")
        if isinstance(message, str):
            message = new_event(message, data)
        elif data is not None:
            raise TypeError("pass data inside the message, or emit(message_type, data)")
        if not isinstance(message, Message):
            raise TypeError(f"emit takes a Message or a message_type string, got {type(message).__name__}")
        if not message.message_type:
            raise ValueError("message_type must be a non-empty string")
        encoded = encode_data(wire_data(message))  # refuse non-JSON data here, not later on a socket
        if threading.get_ident() == self._thread:
            self.transport.publish(message, encoded)
        else:
            self.loop.call_soon_threadsafe(self._publish_later, message, encoded)

    def _publish_later(self, message: Message, encoded: bytes) -> None:
        if self._closed:
            log.warning("dropped %s emitted from another thread after the bus closed", message.message_type)
            return
        self.transport.publish(message, encoded)

    def accept(self, message: Message, encoded: bytes, msg_id: int | None = None, at: float | None = None) -> None:
        """Number, record and deliver a published message (called by the transport, on the bus loop).

        Without ``msg_id`` the bus numbers it; a transport that orders messages itself passes the id
        (and epoch time) it assigned. A message whose id is not above the last one is a duplicate
        and is ignored.
        """
        if self._closed:
            return
        if msg_id is None:
            msg_id = self._last_id + 1
        elif msg_id <= self._last_id:
            return
        self._last_id = msg_id
        now = time.time() if at is None else at
        if message.id is not None:
            message = dataclasses.replace(message, id=None)
        # A fresh message is stamped in place: it was never published, so nobody saw it without an id.
        set_id(message, msg_id)
        set_at(message, datetime.fromtimestamp(now, UTC))
        set_encoded_data(message, encoded)
        self.history.append(message, encoded, now)
        if self.store is not None and self._flush_timer is None and self.store.pending:
            self._flush_timer = self.loop.call_later(self.store.flush_interval, self._flush_store)
        if self._delivering:
            self._queue.append(message)  # the delivery loop further up this stack picks it up, in order
            return
        self._delivering = True
        try:
            self._deliver(message)
            while self._queue:
                self._deliver(self._queue.popleft())
        finally:
            self._delivering = False

    def _deliver(self, message: Message) -> None:
        route = self._routes.get(message.message_type)
        if route is None:
            route = self._route(message.message_type)
        for subscriber in route:
            if subscriber.active:
                try:
                    subscriber.on_next(message)
                except Exception as err:  # noqa: BLE001  (isolation: one subscriber never breaks the others)
                    self._isolate(subscriber, message, err)

    def _route(self, message_type: str) -> tuple[_Subscriber, ...]:
        with self._lock:
            if len(self._routes) > 10_000:  # many one-off types: start over rather than grow
                self._routes.clear()
            route = tuple(self._by_type.get(message_type, ())) + tuple(self._by_type.get(_ALL, ()))
            self._routes[message_type] = route
            return route

    def _isolate(self, subscriber: _Subscriber, message: Message, err: Exception) -> None:
        self.failures += 1
        who = subscriber.name
        log.error("subscriber %s failed on %s #%s", who, message.message_type, message.id, exc_info=err)
        if message.message_type == CoreEvent.ERROR or self._closed:
            return  # reporting a failure on an error event could loop forever; a closed bus takes nothing
        data: dict[str, Any] = {
            "message": f"{type(err).__name__}: {err}",
            "subscriber": who,
            "failed_message_type": message.message_type,
            "failed_id": message.id,
        }
        if isinstance(message, ActionMessage):
            data["task"] = message.task
        self.emit(Event(CoreEvent.ERROR, data))

    def _flush_store(self) -> None:
        self._flush_timer = None
        if self.store is not None:
            self.store.flush()

    # -------------------------------------------------------------- listen
    def listen(self, *message_types: str, subscriber_id: str | None = None) -> Observable[Message]:
        """An Observable of the messages of the given types (all messages when none is given).

        With a ``subscriber_id``, subscribing registers a listener: the bus emits
        ``message-listener-connected`` ``{subscriber_id, channels}`` before the first message and
        ``message-listener-disconnected`` when the subscription is disposed. The Observable
        completes when the bus closes.
        """
        for name in message_types:
            if not isinstance(name, str) or not name:
                raise ValueError(f"message types must be non-empty strings, got {name!r}")
        channels = list(message_types) or [_ALL]

        def subscribe(observer: abc.ObserverBase[Message], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            if self._closed:
                observer.on_completed()
                return Disposable()
            # reactivex wraps every callback (operators' too) in an AutoDetachObserver, whose on_next
            # only checks is_stopped before calling it. The bus checks `active` and catches errors
            # itself, so it calls the callback directly: half the cost of a delivery.
            callback: OnNext = observer.on_next
            if type(observer) is AutoDetachObserver:
                callback = observer._on_next
            name = subscriber_id or getattr(callback, "__qualname__", None) or repr(callback)
            entry = _Subscriber(callback, observer.on_completed, subscriber_id, name)
            if subscriber_id is not None:
                self.emit(CoreEvent.CONNECTED, {"subscriber_id": subscriber_id, "channels": channels})
                self.listeners[subscriber_id] = channels
            with self._lock:
                for channel in channels:
                    self._by_type.setdefault(channel, []).append(entry)
                self._routes.clear()
            return Disposable(lambda: self._unsubscribe(entry, channels))

        return reactivex.create(subscribe)

    def _unsubscribe(self, entry: _Subscriber, channels: list[str]) -> None:
        entry.active = False
        with self._lock:
            for channel in channels:
                subscribers = self._by_type.get(channel, [])
                if entry in subscribers:
                    subscribers.remove(entry)
                    if not subscribers:
                        del self._by_type[channel]
            self._routes.clear()
        known = entry.subscriber_id is not None and self.listeners.pop(entry.subscriber_id, None) is not None
        if known and not self._closed:
            self.emit(CoreEvent.DISCONNECTED, {"subscriber_id": entry.subscriber_id, "channels": channels})

    # ------------------------------------------------------------ lifecycle
    @property
    def last_id(self) -> int:
        """The id of the last published message (0 before the first)."""
        return self._last_id

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Complete every subscription, commit the store and refuse further messages."""
        if self._closed:
            return
        self._closed = True
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        with self._lock:
            everyone = {id(s): s for subscribers in self._by_type.values() for s in subscribers}
            self._by_type.clear()
            self._routes.clear()
        for subscriber in everyone.values():
            try:
                subscriber.on_completed()
            except Exception:
                log.exception("subscriber %s failed on completion", subscriber.name)
        self.listeners.clear()
        self.transport.close()
        if self.store is not None:
            self.store.close()
        if self._owns_loop and self._loop is not None and not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> EventBus:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
