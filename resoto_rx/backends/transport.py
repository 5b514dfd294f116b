"""RedisStreamsTransport: the bus's messages travel through one Redis stream, shared by every server.

Emit -> the message waits in an outbox; a writer task sends everything that gathered meanwhile as one
pipelined XADD batch (what arrives in one loop iteration, or while the previous batch was in flight).
A reader task XREADs (BLOCK) from the last entry it saw and hands each entry to ``bus.accept`` with
the bus id derived from the stream id (ids.py), so every server delivers the same messages in the
same order with the same ids, its own included: nothing is delivered before Redis has ordered it.

Outages: both tasks back off (jittered, doubling up to ``backoff_max``) and ping until Redis answers.
The first failure is reported on this server alone as ``backend-disconnected`` (a local event: the
stream is out of reach); recovery is published on the shared stream as ``backend-reconnected``.
Emitted messages wait in the outbox meanwhile and go out in order afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable

from resoto_rx.backends.ids import is_local
from resoto_rx.backends.redis_streams import REDIS_DOWN, RedisBackend, parse_entry, safe_url
from resoto_rx.codec import encode_data
from resoto_rx.messages import Event, Message

if TYPE_CHECKING:
    from resoto_rx.bus import EventBus

log = logging.getLogger(__name__)

BACKEND_DISCONNECTED = "backend-disconnected"
BACKEND_RECONNECTED = "backend-reconnected"
CURSOR_SAVE_INTERVAL = 1.0  # seconds between saves of this server's read position

# XADD the message to the main stream and, with the main id as `ref`, to its action stream: one
# round trip keeps both in the same order and gives the action the id every server gives it.
_XADD_ACTION = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
    'kind', ARGV[3], 'message_type', ARGV[4], 'data', ARGV[5], 'at', ARGV[6])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
    'ref', id, 'kind', ARGV[3], 'message_type', ARGV[4], 'data', ARGV[5], 'at', ARGV[6])
return id
"""

Outgoing = tuple[str, str, bytes, str]  # kind, message_type, encoded data, at (epoch seconds as text)
ScriptArgs = Callable[[bytes], tuple[list[str], list[Any]]]
"""Encoded data -> (further keys, further args) of a script registered with ``write_with``."""


class RedisStreamsTransport:
    """Carries a bus over ``backend``'s stream; made by ``EventBus(transport=backend.transport)``."""

    def __init__(self, bus: EventBus, backend: RedisBackend) -> None:
        self.bus = bus
        self.backend = backend
        self.cursor = backend.resume_id(bus.last_id, bus.store is not None)
        """The last stream entry read (the reader continues after it)."""
        self.published = 0
        self.received = 0
        self.skipped = 0
        self.outages = 0
        self._outbox: deque[Outgoing] = deque()
        self._wake = asyncio.Event()
        self._down_since: float | None = None
        self._down_error = ""
        self._closed = False
        self._closing: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._saving = False
        self._next_cursor_save = 0.0
        self._loops: set[asyncio.Task[None]] = set()
        self._scripted: dict[str, tuple[str, ScriptArgs]] = {}
        loop = bus.loop
        self._writer = loop.create_task(self._write_loop(), name="resoto-rx redis writer")
        self._reader = loop.create_task(self._read_loop(), name="resoto-rx redis reader")

    @property
    def connected(self) -> bool:
        """False while Redis cannot be reached."""
        return self._down_since is None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Messages emitted here and not yet added to the stream."""
        return len(self._outbox)

    # ----------------------------------------------------------- writing
    def publish(self, message: Message, encoded: bytes) -> None:
        if self._closed:
            log.warning("dropped %s: the Redis transport is closed", message.message_type)
            return
        self._outbox.append((message.kind, message.message_type, encoded, repr(time.time())))
        self._wake.set()

    def write_with(self, message_type: str, script: str, args: ScriptArgs) -> None:
        """Add every ``message_type`` event with a Lua ``script`` rather than a plain XADD, so one more
        key changes atomically with (and in the order of) the stream entry; registry.py keeps the
        subscriber snapshot this way. The script gets ``KEYS = [stream, *keys]`` and
        ``ARGV = [maxlen, kind, message_type, data, at, *args]`` with ``keys, args = args(data)``,
        must XADD those fields to ``KEYS[1]`` and return the entry id."""
        self._scripted[message_type] = (script, args)

    async def _write_loop(self) -> None:
        while not self._closed or self._outbox:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch = list(islice(self._outbox, self.backend.batch))
                try:
                    await self._xadd(batch)
                except REDIS_DOWN as err:
                    if self._closed:
                        return  # closing while Redis is away: _shutdown reports what is left
                    # Kept in the outbox and sent again: a batch cut by the outage may have been
                    # partly added, so delivery is at least once across an outage.
                    self._down(err)
                    await self._until_up()
                    continue
                for _ in batch:
                    self._outbox.popleft()
                self.published += len(batch)

    async def _xadd(self, batch: list[Outgoing]) -> None:
        backend, stream = self.backend, self.backend.stream
        async with backend.client.pipeline(transaction=False) as pipe:
            for kind, message_type, data, at in batch:
                if kind == "action":
                    keys_and_args = (stream, backend.action_stream(message_type), backend.maxlen, backend.action_maxlen)
                    pipe.eval(_XADD_ACTION, 2, *keys_and_args, kind, message_type, data, at)
                elif (scripted := self._scripted.get(message_type)) is not None:
                    script, script_args = scripted
                    keys, args = script_args(data)
                    pipe.eval(script, 1 + len(keys), stream, *keys, backend.maxlen, kind, message_type, data, at, *args)
                else:
                    fields: dict[Any, Any] = {"kind": kind, "message_type": message_type, "data": data, "at": at}
                    pipe.xadd(stream, fields, maxlen=backend.maxlen, approximate=True)
            await pipe.execute()

    # ----------------------------------------------------------- reading
    async def _read_loop(self) -> None:
        backend = self.backend
        # Checks the flag rather than relying on cancel alone: redis-py's read timeout can swallow a
        # cancel that lands during a blocked XREAD (seen with Python 3.11), and the loop would go on.
        while not self._closed:
            try:
                response: Any = await backend.client.xread(
                    {backend.stream: self.cursor}, count=backend.batch, block=backend.block_ms
                )
            except REDIS_DOWN as err:
                self._down(err)
                await self._until_up()
                continue
            self._up()
            for _key, entries in response or ():
                for entry_id, fields in entries:
                    self._accept(entry_id, fields)
                self.cursor = entries[-1][0].decode()
            now = time.monotonic()
            if response and backend.cursor_key is not None and not self._saving and now >= self._next_cursor_save:
                # At most one save in flight and one a second: a trickle of messages would otherwise cost
                # a SET per message; a crash re-reads at most that second (accept() drops what it saw).
                self._saving = True
                self._next_cursor_save = now + CURSOR_SAVE_INTERVAL
                self._spawn(self._save_cursor())
            await asyncio.sleep(0)  # a long backlog must not starve the loop's other work

    def _accept(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            message, data, msg_id, at = parse_entry(entry_id, fields, stamp=False)
        except ValueError as err:  # someone else's entry on our stream: skip it, keep reading
            self.skipped += 1
            log.warning("skipped stream entry %s: %s", entry_id, err)
            return
        self.received += 1
        self.bus.accept(message, data, msg_id, at)

    async def _save_cursor(self) -> None:
        key = self.backend.cursor_key
        if key is None:
            return
        try:
            await self.backend.client.set(key, self.cursor)
        except REDIS_DOWN:
            pass  # the next batch saves it again; a restart re-reads a little more at worst
        finally:
            self._saving = False

    # ------------------------------------------------------------ outages
    def _down(self, err: BaseException) -> None:
        if self._down_since is not None or self._closed:
            return
        self._down_since = time.time()
        self._down_error = f"{type(err).__name__}: {err}"
        self.outages += 1
        url = safe_url(self.backend.url)
        log.warning("Redis at %s unreachable (%s): retrying with back-off", url, self._down_error)
        last = self.bus.last_id
        if is_local(last):
            return  # one local event between two stream entries at most (ids.py)
        data = {"server": self.backend.member, "url": url, "error": self._down_error}
        self.bus.accept(Event(BACKEND_DISCONNECTED, data), encode_data(data), last + 1, self._down_since)

    def _up(self) -> None:
        if self._down_since is None or self._closed:
            return
        outage = time.time() - self._down_since
        self._down_since = None
        log.warning("Redis at %s reachable again after %.1f s", safe_url(self.backend.url), outage)
        data = {"server": self.backend.member, "url": safe_url(self.backend.url), "outage_s": round(outage, 3)}
        self.bus.emit(Event(BACKEND_RECONNECTED, {**data, "error": self._down_error}))

    async def _until_up(self) -> None:
        """Back off until Redis answers PING (jittered, so servers do not all return in step)."""
        delay = 0.05
        while self._down_since is not None:
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            try:
                await self.backend.client.ping()
            except REDIS_DOWN:
                delay = min(delay * 2, self.backend.backoff_max)
                continue
            if self._down_since is not None:
                # The pool still holds connections to the old server process: each would fail once
                # more and look like a second outage. Drop them all; new ones are made on demand.
                await self.backend.client.connection_pool.disconnect()
            self._up()

    async def recover(self, err: BaseException) -> None:
        """For a task that lost the connection: report the outage, return once Redis answers again."""
        self._down(err)
        if self._down_since is None:
            await asyncio.sleep(0.05)  # closing, or already back: do not spin
        await self._until_up()

    # ------------------------------------------------------------ actions
    def actions_for(self, subscriber_id: str, message_type: str, timeout: float) -> Observable[Message]:
        """The actions for ``subscriber_id`` through its consumer group: each goes to one connection
        of that subscriber, and one not answered within ``timeout`` seconds goes to another."""
        from resoto_rx.backends.actions import ActionConsumer

        def subscribe(observer: abc.ObserverBase[Message], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            if self._closed:
                observer.on_completed()
                return Disposable()
            return ActionConsumer(self, subscriber_id, message_type, timeout, observer).start()

        return reactivex.create(subscribe)

    # ----------------------------------------------------------- lifecycle
    def _spawn(self, coroutine: Any) -> None:
        task = self.bus.loop.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def spawn(self, coroutine: Any) -> None:
        """Run ``coroutine`` on the bus loop, keeping a reference until it ends (fire and forget)."""
        self._spawn(coroutine)

    def start_loop(self, coroutine: Any, name: str) -> asyncio.Task[None]:
        """Run a reading loop that ``close`` cancels."""
        task: asyncio.Task[None] = self.bus.loop.create_task(coroutine, name=name)
        self._loops.add(task)
        task.add_done_callback(self._loops.discard)
        return task

    def close(self, timeout: float = 2.0) -> None:
        """Stop reading; send what the outbox still holds (for up to ``timeout`` s), then disconnect.

        The bus calls this on ``close``; ``await wait_closed()`` for the end of it.
        """
        if self._closed:
            return
        self._closed = True
        self._reader.cancel()
        for task in self._loops:
            task.cancel()
        loop = self.bus.loop
        if loop.is_closed():
            return
        self._closing = loop.create_task(self._shutdown(timeout))

    async def _shutdown(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._outbox and self._down_since is None and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if self._outbox:
            log.warning("closed with %d messages not sent to Redis", len(self._outbox))
        self._writer.cancel()
        tasks = {self._reader, self._writer, *self._loops, *self._background}
        # A blocked XREAD returns within block_ms at the latest; then every loop sees the flag.
        _, stuck = await asyncio.wait(tasks, timeout=self.backend.block_ms / 1000 + 2)
        for task in stuck:
            log.warning("%s did not stop in time", task.get_name())
        if self._down_since is None:
            await self._save_cursor()
        await self.backend.aclose()

    async def wait_closed(self) -> None:
        """Wait until ``close`` has flushed and disconnected."""
        if self._closing is not None:
            await self._closing
