"""Action delivery through a Redis consumer group: one connection per action, redelivery on silence.

Every action is also added to ``{prefix}:actions:{message_type}`` (transport.py). Each subscriber id
has one consumer group on that stream; each connection of that subscriber (a websocket on any server,
an in-process worker) is one consumer in it. So:

- an action goes to exactly one connection of the subscriber (XREADGROUP ``>``);
- the consumer acknowledges (XACK) when that subscriber's ``action_done``/``action_error`` for the
  task and step appears on the bus -- from whichever server it was sent -- or the action is aborted;
- an action left unacknowledged for the subscriber's ``timeout`` (its connection died or hung) is taken
  over by another live consumer of the group (XPENDING + XCLAIM) and delivered again;
- a fresh action older than ``timeout`` (delivered late, after an outage of every consumer) is
  acknowledged and dropped: the step that sent it stopped waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

import redis
from reactivex import abc
from reactivex.disposable import CompositeDisposable, Disposable

from resoto_rx.backends.ids import epoch_ms
from resoto_rx.backends.redis_streams import REDIS_DOWN, parse_entry
from resoto_rx.messages import Action, ActionAbort, ActionDone, ActionError, Message

if TYPE_CHECKING:
    from resoto_rx.backends.transport import RedisStreamsTransport

log = logging.getLogger(__name__)


class ActionConsumer:
    """One connection of ``subscriber_id`` in its group: pushes its actions (and aborts) to ``observer``."""

    def __init__(
        self,
        transport: RedisStreamsTransport,
        subscriber_id: str,
        message_type: str,
        timeout: float,
        observer: abc.ObserverBase[Message],
    ) -> None:
        self.transport = transport
        self.backend = transport.backend
        self.group = subscriber_id
        self.key = self.backend.action_stream(message_type)
        self.message_type = message_type
        self.consumer = f"{self.backend.member}:{uuid.uuid4().hex[:8]}"
        self.timeout_ms = max(1, int(timeout * 1000))
        # Look for abandoned actions a few times per timeout, at most once a second.
        self.claim_every = min(max(timeout / 4, 0.02), 1.0)
        self.observer = observer
        self.delivered: dict[tuple[str, str], bytes] = {}  # (task, step) -> entry id, until acknowledged
        self.redelivered = 0
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def start(self) -> abc.DisposableBase:
        # Synchronously, so the group exists before this subscriber can miss an action emitted next.
        # With Redis down, subscribing still succeeds: the read loop makes the group once it answers.
        with contextlib.suppress(*REDIS_DOWN):
            self.backend.ensure_group(self.key, self.group)
        self._task = self.transport.start_loop(self._run(), f"resoto-rx actions {self.consumer}")
        replies = self.transport.bus.listen(self.message_type).subscribe(self._on_bus)
        return CompositeDisposable(replies, Disposable(self._stop))

    def _stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            self.transport.spawn(self._forget())

    async def _forget(self) -> None:
        """Remove this consumer from the group unless it still holds actions (those get claimed)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self.delivered or self.backend.closed:
            return
        # An idle consumer left behind (Redis unreachable) costs a few bytes, nothing more.
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, OSError, redis.ResponseError):
            await self.backend.client.xgroup_delconsumer(self.key, self.group, self.consumer)

    async def _run(self) -> None:
        client = self.backend.client
        next_claim = 0.0
        while not self._stopped and not self.transport.closed:  # a flag, not only cancel: see transport.py
            try:
                if time.monotonic() >= next_claim:
                    next_claim = time.monotonic() + self.claim_every
                    for entry_id, fields in await self._claim_abandoned():
                        self.redelivered += 1
                        self._deliver(entry_id, fields, redelivery=True)
                response: Any = await client.xreadgroup(
                    self.group, self.consumer, {self.key: ">"}, count=100, block=int(self.claim_every * 1000)
                )
                for _key, entries in response or ():
                    for entry_id, fields in entries:
                        self._deliver(entry_id, fields, redelivery=False)
            except redis.ResponseError as err:
                if "NOGROUP" not in str(err):
                    raise
                # Redis restarted without its data (or was down when this consumer started): make the group.
                try:
                    await self.backend.aensure_group(self.key, self.group)
                except REDIS_DOWN as down:  # gone again: the handler below this one does not cover us
                    await self.transport.recover(down)
            except REDIS_DOWN as err:
                await self.transport.recover(err)

    async def _claim_abandoned(self) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
        """Take over actions other connections left unanswered for the timeout.

        Not XAUTOCLAIM: it also re-claims this consumer's own pending entries, which resets their idle
        time, and consumers polling at the same period then lock in phase: a hung connection could
        keep re-claiming its own action forever while a healthy one never gets it.
        """
        client = self.backend.client
        pending: Any = await client.xpending_range(
            self.key, self.group, min="-", max="+", count=100, idle=self.timeout_ms
        )
        me = self.consumer.encode()
        abandoned = [p["message_id"] for p in pending if p["consumer"] != me]
        if not abandoned:
            return []
        claimed: Any = await client.xclaim(self.key, self.group, self.consumer, self.timeout_ms, abandoned)
        return list(claimed)

    def _deliver(self, entry_id: bytes, fields: dict[bytes, bytes] | None, redelivery: bool) -> None:
        if fields is None:  # XAUTOCLAIM: the entry was trimmed away meanwhile
            return
        try:
            message, _, msg_id, _ = parse_entry(entry_id, fields)
        except ValueError as err:
            log.warning("skipped action entry %s: %s", entry_id, err)
            self._ack(entry_id)
            return
        if not isinstance(message, Action):
            self._ack(entry_id)
            return
        if not redelivery and time.time() * 1000 - epoch_ms(msg_id) > self.timeout_ms:
            log.info("%s: dropped stale %s of task %s", self.group, message.message_type, message.task)
            self._ack(entry_id)
            return
        if redelivery:
            log.warning("%s: redelivering unanswered %s of task %s", self.group, message.message_type, message.task)
        self.delivered[(message.task, message.step)] = entry_id
        self.observer.on_next(message)

    def _on_bus(self, message: Message) -> None:
        if isinstance(message, ActionAbort):
            entry = self.delivered.pop((message.task, message.step), None)
            if entry is not None:
                self._ack(entry)
                self.observer.on_next(message)
        elif isinstance(message, ActionDone | ActionError) and message.subscriber_id == self.group:
            entry = self.delivered.pop((message.task, message.step), None)
            if entry is not None:
                self._ack(entry)

    def _ack(self, entry_id: bytes) -> None:
        self.transport.spawn(self._xack(entry_id))

    async def _xack(self, entry_id: bytes) -> None:
        try:
            await self.backend.client.xack(self.key, self.group, entry_id)
        except REDIS_DOWN as err:  # left pending: it is claimed and delivered again later
            log.warning("%s: could not acknowledge %r: %s", self.group, entry_id, err)
