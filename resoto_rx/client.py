"""A remote bus: the Observable API of :class:`~resoto_rx.EventBus`, over a resoto_rx (or resotocore) server.

>>> bus = connect("http://127.0.0.1:8900", show=["task_end"])      # doctest: +SKIP
>>> bus.listen("task_end").subscribe(print)                         # doctest: +SKIP
>>> bus.emit("start_collect_workflow")                              # doctest: +SKIP

It keeps one ``/events`` websocket open, reconnecting with exponential back-off; every reconnect asks for
``since=<last id received>``, so the server replays what was published meanwhile and a notebook loses no
event across a server restart (the server's store must keep them). ``subscribe_action`` makes this process
a worker: it registers the subscription over REST, holds ``/subscriber/{id}/handle`` open, runs the
handler for each action and answers ``action_done`` / ``action_error`` (and progress and infos meanwhile).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import orjson
import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from resoto_rx.codec import MessageFormatError, decode, encode
from resoto_rx.messages import Event, Message
from resoto_rx.workflows.worker import ActionHandler, ActionPerformer

log = logging.getLogger(__name__)

MAX_MESSAGE_SIZE = 4 * 1024 * 1024
OUTBOX_LIMIT = 10_000  # frames kept for sending while disconnected; older ones are dropped (and logged)
_CONNECT_ERRORS = (OSError, HTTPClientError, WebSocketClosedError, StreamClosedError, asyncio.TimeoutError)


def base_urls(url: str) -> tuple[str, str]:
    """``(http base, ws base)`` of a server URL given as http(s):// or ws(s)://, without a trailing slash."""
    parts = urlsplit(url.rstrip("/"))
    secure = parts.scheme in ("https", "wss")
    if parts.scheme not in ("http", "https", "ws", "wss"):
        raise ValueError(f"server URL must start with http://, https://, ws:// or wss://, got {url!r}")
    http = urlunsplit(("https" if secure else "http", parts.netloc, parts.path, "", ""))
    ws = urlunsplit(("wss" if secure else "ws", parts.netloc, parts.path, "", ""))
    return http, ws


class Backoff:
    """Delays between reconnects: ``first``, doubling up to ``maximum``; ``reset`` after a success."""

    def __init__(self, first: float = 0.25, maximum: float = 10.0) -> None:
        self.first, self.maximum, self.delay = first, maximum, first

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class RemoteBus:
    """The client side of ``/events``; use :func:`connect`. Lives on the loop that made it."""

    def __init__(
        self,
        url: str,
        show: Sequence[str] | None = None,
        psk: str | None = None,
        since: int | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.http_url, self.ws_url = base_urls(url)
        self.show = list(show or [])
        self.psk = psk
        self.last_id = since
        """Id of the last message received: the ``since`` of the next reconnect."""
        self.backoff = backoff or Backoff()
        self.connects = 0
        self._observers: list[tuple[frozenset[str], abc.ObserverBase[Message]]] = []
        self._outbox: deque[str] = deque()
        self.dropped = 0
        """Unsent frames dropped because the outbox was full while disconnected."""
        self._ws: WebSocketClientConnection | None = None
        self._closed = False
        self._connected = asyncio.Event()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._workers: list[_RemoteWorker] = []
        self._spawn(self._events_loop())

    # ------------------------------------------------------------- public
    def listen(self, *message_types: str) -> Observable[Message]:
        """Messages of these types (all when none is given) as they arrive; completes on ``close``."""
        types = frozenset(message_types)

        def subscribe(observer: abc.ObserverBase[Message], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            entry = (types, observer)
            self._observers.append(entry)
            return Disposable(lambda: self._observers.remove(entry) if entry in self._observers else None)

        return reactivex.create(subscribe)

    def emit(self, message: Message | str, data: Mapping[str, Any] | None = None) -> None:
        """Send an event (or a reply) to the server; kept while disconnected and sent on reconnect."""
        if isinstance(message, str):
            message = Event(message, data or {})
        self._send(encode(message).decode())

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the ``/events`` websocket is open."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def headers(self) -> dict[str, str]:
        """Request headers: the JWT when a pre-shared key is set."""
        if self.psk is None:
            return {}
        from resoto_rx.server.auth import bearer  # the server package only when a key is used

        return {"Authorization": bearer(self.psk)}

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """A JSON REST call to the server; raises ``HTTPClientError`` on an error status."""
        payload = orjson.dumps(body) if body is not None else (b"" if method in ("POST", "PUT", "PATCH") else None)
        response = await AsyncHTTPClient().fetch(
            HTTPRequest(self.http_url + path, method=method, body=payload, headers=self.headers(), request_timeout=30)
        )
        return orjson.loads(response.body) if response.body else None

    def subscribe_action(
        self,
        message_type: str,
        handler: ActionHandler,
        subscriber_id: str,
        wait_for_completion: bool = True,
        timeout: float = 60,
    ) -> abc.DisposableBase:
        """Perform every ``message_type`` action with ``handler`` as subscriber ``subscriber_id``; dispose to stop."""
        worker = _RemoteWorker(self, message_type, handler, subscriber_id, wait_for_completion, timeout)
        self._workers.append(worker)
        task = self._spawn(worker.run())

        def stop() -> None:
            worker.stop()
            task.cancel()
            if worker in self._workers:
                self._workers.remove(worker)

        return Disposable(stop)

    async def close(self) -> None:
        """Close the websockets, cancel the workers, complete every ``listen``."""
        self._closed = True
        if self._ws is not None:
            self._ws.close()
        for worker in self._workers:
            worker.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for _, observer in list(self._observers):
            observer.on_completed()
        self._observers.clear()

    async def __aenter__(self) -> RemoteBus:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ----------------------------------------------------------- internal
    def _spawn(self, work: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _send(self, frame: str) -> None:
        if self._ws is not None:
            try:
                written = self._ws.write_message(frame)
            except WebSocketClosedError:
                self._ws = None
            else:
                written.add_done_callback(lambda done: self._unless_written(done, frame))
                return
        self._keep(frame)

    def _unless_written(self, written: asyncio.Future[None], frame: str) -> None:
        # tornado fails the write later when the socket died under it: keep the frame for the reconnect
        # (reading the exception also spares asyncio's "Task exception was never retrieved").
        if not written.cancelled() and written.exception() is not None:
            self._keep(frame)

    def _keep(self, frame: str) -> None:
        """Hold ``frame`` until the next connection; past OUTBOX_LIMIT the oldest goes (logged once)."""
        if len(self._outbox) >= OUTBOX_LIMIT:
            if not self.dropped:
                log.warning("not connected to %s: dropping the oldest unsent frames", self.ws_url)
            self.dropped += 1
            self._outbox.popleft()
        self._outbox.append(frame)

    def _events_url(self) -> str:
        query: dict[str, str] = {}
        if self.show:
            query["show"] = ",".join(self.show)
        if self.last_id is not None:
            query["since"] = str(self.last_id)
        return self.ws_url + "/events" + ("?" + urlencode(query) if query else "")

    async def _events_loop(self) -> None:
        while not self._closed:
            try:
                ws = await websocket_connect(
                    HTTPRequest(self._events_url(), headers=self.headers()), max_message_size=MAX_MESSAGE_SIZE
                )
            except _CONNECT_ERRORS as err:
                log.info("cannot reach %s (%s); retrying", self.ws_url, err)
                await asyncio.sleep(self.backoff.next())
                continue
            self._ws, self.connects = ws, self.connects + 1
            self._connected.set()
            self.backoff.reset()
            while self._outbox and self._ws is not None:
                self._send(self._outbox.popleft())
            while (frame := await ws.read_message()) is not None:
                self._deliver(frame)
            ws.close()  # the server closed: release our side too
            self._ws = None
            self._connected.clear()
            if not self._closed:
                log.info("%s closed (%s %s); reconnecting", self.ws_url, ws.close_code, ws.close_reason)
                await asyncio.sleep(self.backoff.next())

    def _deliver(self, frame: str | bytes) -> None:
        try:
            message = decode(frame)
        except MessageFormatError as err:
            log.warning("ignored a frame from %s: %s", self.ws_url, err)
            return
        if message.id is not None:
            self.last_id = message.id
        for types, observer in list(self._observers):
            if not types or message.message_type in types:
                try:
                    observer.on_next(message)
                except Exception:  # isolation, as on the embedded bus
                    log.exception("a listener of %s failed", message.message_type)


class _RemoteWorker:
    """One remote subscription: register, hold the handle websocket, run the handler, answer."""

    def __init__(
        self, bus: RemoteBus, message_type: str, handler: ActionHandler, subscriber_id: str, wait: bool, timeout: float
    ) -> None:
        self.bus, self.message_type, self.handler, self.subscriber_id = bus, message_type, handler, subscriber_id
        self.wait, self.timeout = wait, timeout
        self.performer = ActionPerformer(handler, subscriber_id, self.send)
        self.ws: WebSocketClientConnection | None = None
        self.stopped = False

    @property
    def handled(self) -> int:
        """How many actions the handler was called for."""
        return self.performer.performed

    async def run(self) -> None:
        backoff = Backoff(self.bus.backoff.first, self.bus.backoff.maximum)
        path = f"/subscriber/{quote(self.subscriber_id, safe='')}"
        flag = "true" if self.wait else "false"
        while not self.stopped:
            try:
                query = urlencode({"timeout": self.timeout, "wait_for_completion": flag})
                await self.bus.request("POST", f"{path}/{quote(self.message_type, safe='')}?{query}")
                ws = await websocket_connect(
                    HTTPRequest(self.bus.ws_url + path + "/handle", headers=self.bus.headers()),
                    max_message_size=MAX_MESSAGE_SIZE,
                )
            except _CONNECT_ERRORS as err:
                log.info("worker %s cannot connect (%s); retrying", self.subscriber_id, err)
                await asyncio.sleep(backoff.next())
                continue
            backoff.reset()
            self.ws = ws
            while (frame := await ws.read_message()) is not None:
                self._on_frame(frame)
            ws.close()
            self.ws = None
            if not self.stopped:
                await asyncio.sleep(backoff.next())

    def stop(self) -> None:
        self.stopped = True
        self.performer.cancel_all()
        if self.ws is not None:
            self.ws.close()

    def send(self, message: Message) -> None:
        """A reply (done, error, progress, info) to the server; the server sets its subscriber_id."""
        if self.ws is None:
            log.warning("worker %s is disconnected: reply %s lost", self.subscriber_id, message.kind)
            return
        try:
            self.ws.write_message(encode(message).decode())
        except WebSocketClosedError:
            log.warning("worker %s is disconnected: reply %s lost", self.subscriber_id, message.kind)

    def _on_frame(self, frame: str | bytes) -> None:
        try:
            message = decode(frame)
        except MessageFormatError as err:
            log.warning("worker %s ignored a frame: %s", self.subscriber_id, err)
            return
        self.performer.on_message(message)


def connect(url: str, show: Sequence[str] | None = None, psk: str | None = None, since: int | None = None) -> RemoteBus:
    """A :class:`RemoteBus` for the server at ``url`` (call it inside a running loop, e.g. a notebook cell).

    Args:
        url: ``http://host:port`` or ``ws://host:port``.
        show: message types to receive (default: all).
        psk: the server's pre-shared key.
        since: also replay what the server retained after this message id.
    """
    return RemoteBus(url, show, psk, since)
