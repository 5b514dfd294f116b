"""One listening websocket connection, without tornado: what it receives from the bus, and in which order.

Start order (no gap, no duplicate): subscribe to the live stream first and buffer it, send the initial
messages (a subscriber's pending actions), replay the history after ``since`` up to the last id published
at subscription time (chunk by chunk, waiting for the client to read), then send the buffered live
messages, skipping ids already replayed, and pass live messages straight through from then on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from reactivex import Observable
from reactivex.disposable import CompositeDisposable

from resoto_rx.bus import EventBus
from resoto_rx.messages import Message
from resoto_rx.server.frames import FrameCache
from resoto_rx.server.outbound import ClientChannel

log = logging.getLogger(__name__)


class ListenerSession:
    """Delivers bus messages to one client channel.

    Args:
        bus: the bus to listen to.
        channel: the client's bounded outbound buffer.
        frames: the server's frame cache (one encoding per message for all clients).
        listener_id: the id published in ``message-listener-connected`` / ``-disconnected``.
        message_types: the types to deliver; empty: everything.
        accept: further filter (e.g. only actions on a subscriber connection).
        on_completed: called when the bus closes.
        extra: further messages to deliver, not filtered by ``message_types`` or ``accept`` (a shared
            transport's actions for a subscriber, handed to this connection alone).
    """

    def __init__(
        self,
        bus: EventBus,
        channel: ClientChannel,
        frames: FrameCache,
        listener_id: str,
        message_types: Sequence[str] = (),
        accept: Callable[[Message], bool] | None = None,
        on_completed: Callable[[], None] | None = None,
        extra: Observable[Message] | None = None,
    ) -> None:
        self.bus = bus
        self.channel = channel
        self.frames = frames
        self.listener_id = listener_id
        self.message_types = [t for t in message_types if t != "*"] if "*" not in message_types else []
        self._types = frozenset(self.message_types)
        self._accept = accept
        self._on_completed = on_completed
        self._extra = extra
        self._buffer: list[Message] | None = None
        self._replayed_up_to = 0
        self._subscription: CompositeDisposable | None = None
        self.stopped = False

    def wants(self, message: Message) -> bool:
        if self._types and message.message_type not in self._types:
            return False
        return self._accept is None or self._accept(message)

    async def start(self, initial: Sequence[Message] = (), since: int | None = None, chunk: int = 500) -> None:
        """Subscribe, send ``initial``, replay history after ``since``, then go live."""
        self._buffer = []
        live = self.bus.listen(*self.message_types, subscriber_id=self.listener_id)
        self._subscription = CompositeDisposable(live.subscribe(on_next=self._live, on_completed=self._completed))
        if self._extra is not None:
            self._subscription.add(self._extra.subscribe(on_next=self._pass))
        target = self.bus.last_id
        for message in initial:
            self._send(message)
        if since is not None and since < target:
            await self._replay(since, target, chunk)
            self._replayed_up_to = target
        buffered, self._buffer = self._buffer, None
        for message in buffered or ():
            if message.id is None or message.id > self._replayed_up_to:
                self._send(message)

    async def _replay(self, after: int, target: int, chunk: int) -> None:
        while after < target and not self.stopped and not self.channel.closed:
            batch = self.bus.history.since(after, min(chunk, target - after))
            if not batch:
                return
            for message in batch:
                if message.id is not None and message.id > target:
                    return
                if self.wants(message):
                    self._send(message)
            after = batch[-1].id or target
            await self.channel.drain()

    def _live(self, message: Message) -> None:
        if self.wants(message):
            self._pass(message)

    def _pass(self, message: Message) -> None:
        if self.stopped:
            return
        if self._buffer is not None:
            self._buffer.append(message)
            if len(self._buffer) > self.channel.max_frames:
                self.channel.overflow()
            return
        self._send(message)

    def _send(self, message: Message) -> None:
        if not self.channel.send(self.frames.frame(message)):
            self.stop()

    def _completed(self) -> None:
        # The bus has let go already (disposing that part is a no-op); ``extra`` still needs disposing.
        self.stop()
        if self._on_completed is not None:
            self._on_completed()

    def stop(self) -> None:
        """Unsubscribe (the bus publishes ``message-listener-disconnected``) and close the channel."""
        if self.stopped:
            return
        self.stopped = True
        self._buffer = None
        self.channel.close()
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            subscription.dispose()
