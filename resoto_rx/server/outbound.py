"""The bounded outbound buffer of one websocket client (ARCHITECTURE.md rule 3: never block on a consumer).

Frames handed to ``send`` are collected until the loop's next turn and written to the socket's stream in
one write: a burst of messages costs one write per client, not one per message (and no asyncio Task per
frame, which is what tornado's ``write_message`` costs). Bytes the stream has not handed to the kernel
yet are counted until their write future resolves; a client whose unread frames or bytes exceed the
limits is cut off through ``on_overflow``, exactly once, and nothing more is buffered for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

FLUSH_FRAMES = 64  # frames collected in one loop turn before they are written without waiting for the turn's end
FLUSH_BYTES = 64 * 1024


class Stream(Protocol):
    """Where frames go: tornado's ``IOStream`` has this shape."""

    def write(self, data: bytes) -> asyncio.Future[None]: ...

    def closed(self) -> bool: ...


@dataclass
class ChannelStats:
    """Counters shared by all channels of one server (read by /metrics)."""

    frames: int = 0
    bytes: int = 0
    overflows: int = 0


class ClientChannel:
    """Bounded writes to one client.

    Args:
        stream: the connection's stream.
        max_frames: frames that may be queued or unflushed at once.
        max_bytes: bytes that may be queued or unflushed at once.
        on_overflow: called once, with the reason, when a limit is exceeded.
        stats: counters to add to.
    """

    def __init__(
        self,
        stream: Stream,
        max_frames: int,
        max_bytes: int,
        on_overflow: Callable[[str], None],
        stats: ChannelStats | None = None,
    ) -> None:
        self._stream = stream
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._on_overflow = on_overflow
        self.stats = stats or ChannelStats()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._unflushed_frames = 0
        self._unflushed_bytes = 0
        self._flush_scheduled = False
        self._drained: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()  # made in the handler, on the loop that owns the bus
        self.closed = False
        self.overflowed = False

    @property
    def buffered_frames(self) -> int:
        """Frames not yet handed to the kernel."""
        return len(self._pending) + self._unflushed_frames

    @property
    def buffered_bytes(self) -> int:
        """Bytes not yet handed to the kernel."""
        return self._pending_bytes + self._unflushed_bytes

    def send(self, frame: bytes) -> bool:
        """Queue ``frame``; False when the channel is closed or this frame overflowed it."""
        if self.closed:
            return False
        if self.buffered_frames >= self.max_frames or self.buffered_bytes + len(frame) > self.max_bytes:
            self.overflow()
            return False
        self._pending.append(frame)
        self._pending_bytes += len(frame)
        if len(self._pending) >= FLUSH_FRAMES or self._pending_bytes >= FLUSH_BYTES:
            self._flush()  # a long burst in one loop turn: hand it to the kernel now, not all at the end
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._scheduled_flush)
        return True

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self._flush()

    def _flush(self) -> None:
        if self.closed or not self._pending:
            return
        frames, size = len(self._pending), self._pending_bytes
        data = self._pending[0] if frames == 1 else b"".join(self._pending)
        self._pending, self._pending_bytes = [], 0
        if self._stream.closed():
            self.close()
            return
        try:
            future = self._stream.write(data)
        except Exception as err:  # noqa: BLE001  (StreamClosedError and friends: the client is gone)
            log.debug("write failed, closing the channel: %s", err)
            self.close()
            return
        self._unflushed_frames += frames
        self._unflushed_bytes += size
        self.stats.frames += frames
        self.stats.bytes += size
        future.add_done_callback(lambda f: self._flushed(f, frames, size))

    def _flushed(self, future: asyncio.Future[None], frames: int, size: int) -> None:
        # Observe the outcome: an unobserved failed future would be logged once per write on disconnect.
        if not future.cancelled():
            future.exception()
        self._unflushed_frames -= frames
        self._unflushed_bytes -= size
        self._wake_drain()

    async def drain(self) -> None:
        """Wait until at most half of each limit is buffered (or the channel closed)."""
        while not self.closed and not self._below_low_water():
            if self._drained is None:
                self._drained = self._loop.create_future()
            await self._drained

    def _below_low_water(self) -> bool:
        return self.buffered_frames <= self.max_frames // 2 and self.buffered_bytes <= self.max_bytes // 2

    def _wake_drain(self) -> None:
        if self._drained is not None and (self.closed or self._below_low_water()):
            if not self._drained.done():
                self._drained.set_result(None)
            self._drained = None

    def overflow(self) -> None:
        """Give up on this client: close the channel and report why, once."""
        if self.overflowed or self.closed:
            return
        self.overflowed = True
        self.stats.overflows += 1
        # Short: it becomes the websocket close reason, which may hold at most 123 bytes.
        reason = (
            f"client too slow: outbound buffer full ({self.buffered_frames} frames/{self.buffered_bytes} B unread, "
            f"limits {self.max_frames}/{self.max_bytes})"
        )
        self.close()
        self._on_overflow(reason)

    def close(self) -> None:
        """Drop what is queued and accept nothing more (bytes already in the stream stay its business)."""
        self.closed = True
        self._pending, self._pending_bytes = [], 0
        self._wake_drain()
