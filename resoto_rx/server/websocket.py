"""Tornado websocket handlers for ``/events`` and ``/subscriber/{id}/handle`` (PROTOCOL.md §4).

The handlers only translate between tornado and the plain classes: :class:`ListenerSession` decides what
a client receives, :class:`ClientChannel` bounds what it may leave unread, :func:`parse_frame` decides
what it may send.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import reactivex
from tornado.web import HTTPError
from tornado.websocket import WebSocketHandler

from resoto_rx.bus import BusClosedError
from resoto_rx.codec import MessageFormatError
from resoto_rx.messages import Message
from resoto_rx.server.auth import token_from_auth_frame, token_from_request
from resoto_rx.server.context import ServerContext, same_origin
from resoto_rx.server.frames import error_line, websocket_frame
from resoto_rx.server.inbound import Authorization, Rejected, parse_frame
from resoto_rx.server.outbound import ClientChannel
from resoto_rx.server.session import ListenerSession

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
GOING_AWAY = 1001
YIELD_EVERY = 16  # incoming frames handled before letting other connections run


def close_reason(text: str) -> str:
    """``text`` cut to the 123 bytes a websocket close frame can carry."""
    data = text.encode()
    return text if len(data) <= 123 else data[:120].decode("utf-8", "ignore") + "..."


class BusSocket(WebSocketHandler):
    """What both websocket endpoints share: auth, bounded output, incoming frames."""

    ctx: ServerContext
    listener_id: str
    authorized: bool
    session: ListenerSession | None
    channel: ClientChannel | None

    def initialize(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.authorized = False
        self.session = None
        self.channel = None
        self._received = 0
        self._auth_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ handshake
    def check_origin(self, origin: str) -> bool:
        return same_origin(origin, self.request.headers.get("Host"))

    async def prepare(self) -> None:
        token = token_from_request(self.request.headers, _cookies(self), self.get_query_argument("code", None))
        if token is None and self.ctx.verifier is not None and self.allows_auth_frame():
            return  # /events may authenticate with its first frame
        problem = await self.ctx.authorize(token)
        if problem is not None:
            raise HTTPError(401, reason="Unauthorized", log_message=problem)
        self.authorized = True

    def allows_auth_frame(self) -> bool:
        return False

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None))[1]
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(getattr(error, "log_message", None) or self._reason)

    # --------------------------------------------------------- connection
    async def open(self, *args: str, **kwargs: str) -> None:
        # tornado calls on_message only after open returns: the session is live (and replayed) before
        # the client's first frame is handled, so a reply to that frame cannot be missed.
        self.set_nodelay(True)
        self.ctx.sockets.add(self)
        self.ctx.stats.connections += 1
        assert self.ws_connection is not None
        stream = self.ws_connection.stream  # frames go straight to the stream: no Task per message
        assert stream is not None
        settings = self.ctx.settings
        self.channel = ClientChannel(
            stream, settings.max_buffered_frames, settings.max_buffered_bytes, self._overflowed, self.ctx.channel_stats
        )
        if self.authorized:
            await self._start()
        else:
            loop = asyncio.get_running_loop()
            self._auth_timer = loop.call_later(settings.auth_timeout, self._auth_timed_out)

    async def _start(self) -> None:
        try:
            await self.start_session()
        except Exception as err:
            log.exception("listener %s failed to start", self.listener_id)
            self.close(1011, close_reason(f"server error: {err}"))

    async def start_session(self) -> None:
        raise NotImplementedError

    def new_session(self, message_types: list[str], **kwargs: Any) -> ListenerSession:
        assert self.channel is not None
        self.session = ListenerSession(
            self.ctx.bus,
            self.channel,
            self.ctx.frames,
            self.listener_id,
            message_types,
            on_completed=lambda: self.close(GOING_AWAY, "server shutting down"),
            **kwargs,
        )
        return self.session

    def _overflowed(self, reason: str) -> None:
        # Logged once per client: the channel calls this once and then refuses everything.
        log.warning("disconnecting listener %s (%s): %s", self.listener_id, self.request.remote_ip, reason)
        if self.session is not None:
            self.session.stop()
        self.close(POLICY_VIOLATION, close_reason(reason))

    def _auth_timed_out(self) -> None:
        if not self.authorized:
            self.close(POLICY_VIOLATION, "unauthorized: no authorization frame in time")

    def on_close(self) -> None:
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        if self.session is not None:
            self.session.stop()
        if self.channel is not None:
            self.channel.close()
        self.ctx.sockets.discard(self)
        self.released()

    def released(self) -> None:
        """The connection is gone (hook for subclasses)."""

    # ----------------------------------------------------------- incoming
    async def on_message(self, message: str | bytes) -> None:
        self.ctx.stats.frames_received += 1
        if not self.authorized:
            await self._authorize(message)
            return
        self._handle(message)
        self._received += 1
        if self._received % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # a fast sender must not starve the other connections

    async def _authorize(self, frame: str | bytes) -> None:
        token = token_from_auth_frame(frame)
        problem = await self.ctx.authorize(token) if token else "unauthorized: expected an authorization frame"
        if problem is None and token:
            self.authorized = True
            if self._auth_timer is not None:
                self._auth_timer.cancel()
            await self._start()
        else:
            expected = ' {"kind": "authorization", "jwt": "Bearer <jwt>"} first'
            self.close(POLICY_VIOLATION, close_reason((problem or "unauthorized") + expected))

    def _handle(self, frame: str | bytes) -> None:
        parsed = parse_frame(frame, self.listener_id)
        if isinstance(parsed, Authorization):
            return  # already authorized: a repeated authorization frame changes nothing
        if isinstance(parsed, Rejected):
            self._reject(parsed.problem, parsed.received)
            return
        try:
            self.ctx.bus.emit(parsed)
        except MessageFormatError as err:
            self._reject(str(err), None)
        except BusClosedError:
            self.close(GOING_AWAY, "server shutting down")

    def _reject(self, problem: str, received: Any) -> None:
        self.ctx.stats.bad_frames += 1
        log.info("listener %s sent a bad frame: %s", self.listener_id, problem)
        if self.channel is not None:
            self.channel.send(websocket_frame(error_line(problem, received)))


class EventsSocket(BusSocket):
    """``GET /events?show=a,b&since=N``: every message of the shown types; superset ``since`` replay."""

    since: int | None

    async def prepare(self) -> None:
        await super().prepare()
        self.listener_id = str(uuid.uuid1())
        show = self.get_query_argument("show", None)
        self.show = [t.strip() for t in show.split(",") if t.strip()] if show else []
        since = self.get_query_argument("since", None)
        self.since = None
        if since is not None:
            if not since.isdigit():
                raise HTTPError(400, log_message=f"since: expected a message id (integer >= 0), got {since[:40]!r}")
            self.since = int(since)

    def allows_auth_frame(self) -> bool:
        return True

    async def start_session(self) -> None:
        since = self.since
        if since is not None and since > self.ctx.bus.last_id:
            # An id this bus never issued: the client saw another bus (a server restarted without a
            # store counts from 1 again). Replay all that is retained rather than nothing.
            since = 0
        await self.new_session(self.show).start(since=since, chunk=self.ctx.settings.replay_chunk)


_HANDLE_KINDS = frozenset(("event", "action", "action_abort"))


def _for_subscriber(message: Message) -> bool:
    return message.kind in _HANDLE_KINDS  # not other subscribers' replies, which share the message_type


def _events_only(message: Message) -> bool:
    return message.kind == "event"  # actions and aborts come through the consumer group


class SubscriberSocket(BusSocket):
    """``GET /subscriber/{id}/handle``: pending actions for ``id`` first, then its subscribed types live.

    On a shared bus the actions come through ``id``'s consumer groups instead (one connection each,
    redelivered when unanswered); a second connection of ``id`` is refused on the same server only.
    """

    _claimed = False

    async def prepare(self) -> None:
        await super().prepare()
        self.listener_id = subscriber_id = self.path_kwargs["subscriber_id"]
        if subscriber_id in self.ctx.claimed or subscriber_id in self.ctx.bus.listeners:
            problem = f"subscriber {subscriber_id!r} is connected already: one connection per id"
            raise HTTPError(429, log_message=problem)
        subscriber = self.ctx.runner.registry.get(subscriber_id)
        if subscriber is None or not subscriber.subscriptions:
            raise HTTPError(
                404,
                log_message=f"no subscriber with id {subscriber_id!r} or it has no subscriptions: "
                "register first with POST /subscriber/{id}/{message_type}",
            )
        self.ctx.claimed.add(subscriber_id)
        self._claimed = True

    async def start_session(self) -> None:
        subscriber = self.ctx.runner.registry.get(self.listener_id)
        if subscriber is None or not subscriber.subscriptions:
            # Unsubscribed between the upgrade and now. An empty type list would mean "everything" to
            # the bus, so this worker would be sent every message: close instead.
            self.close(POLICY_VIOLATION, close_reason(f"subscriber {self.listener_id!r} has no subscriptions now"))
            return
        types = list(subscriber.subscriptions)
        actions_for = getattr(self.ctx.bus.transport, "actions_for", None)
        if actions_for is None:
            pending = self.ctx.runner.pending_actions_for(self.listener_id)
            await self.new_session(types, accept=_for_subscriber).start(initial=pending)
            return
        # A shared bus (Redis): the actions come through the subscriber's consumer groups, so each goes
        # to one connection of this id on any server and an unanswered one goes to another after the
        # subscription's timeout; aborts come with them. The groups hold the actions sent since the
        # registration, so no pending list is sent first (this server's alone would be incomplete, and
        # doubled by the group). Events of the subscribed types still come from the bus.
        actions = [
            actions_for(self.listener_id, message_type, subscription.timeout.total_seconds())
            for message_type, subscription in subscriber.subscriptions.items()
        ]
        await self.new_session(types, accept=_events_only, extra=reactivex.merge(*actions)).start()

    def on_finish(self) -> None:
        if self.get_status() != 101:  # the upgrade failed: no on_close will follow
            self.released()

    def released(self) -> None:
        if self._claimed:
            self._claimed = False
            self.ctx.claimed.discard(self.listener_id)


def _cookies(handler: WebSocketHandler) -> dict[str, str]:
    return {name: morsel.value for name, morsel in handler.request.cookies.items()}
