"""The Redis side of a shared bus: connection, key names, stream entries, run claims.

One :class:`RedisBackend` serves one bus (one server). Keys, all under ``prefix``:

    {prefix}:stream                      every message, in the one total order (XADD MAXLEN ~ maxlen)
    {prefix}:actions:{message_type}      action messages again, for consumer-group delivery
                                         (one group per subscriber id, see actions.py)
    {prefix}:cursor:{name}               the last entry a named server has processed
    {prefix}:runclaim:{workflow}:{key}   who started the run of a trigger (SET NX PX)
    {prefix}:subscribers                 subscriber id -> its last ``subscriber-changed`` (registry.py)

An entry holds the wire parts of a message: ``kind``, ``message_type``, ``data`` (the JSON the bus
encoded once at emit time) and ``at`` (the emitter's epoch time); an action entry also ``ref``, the
id of the same message on the main stream.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from resoto_rx.backends.ids import bus_id, epoch_ms, stream_id
from resoto_rx.codec import build
from resoto_rx.history import History
from resoto_rx.messages import KINDS, Message
from resoto_rx.store import SQLiteStore

if TYPE_CHECKING:
    from resoto_rx.backends.history import StreamHistory
    from resoto_rx.backends.transport import RedisStreamsTransport
    from resoto_rx.bus import EventBus

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "resoto_rx"
REDIS_DOWN: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError)
"""What a lost or refused connection raises (redis-py wraps most of it, not all)."""


class BackendUnavailableError(ConnectionError):
    """Redis cannot be reached at start; the message names the URL and what to do."""


def safe_url(url: str) -> str:
    """``url`` without its password, fit for logs and events."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisBackend:
    """A connection to the Redis that carries a shared bus; checks it answers at once.

    >>> backend = RedisBackend("redis://127.0.0.1:6379/0", name="server-a")   # doctest: +SKIP
    >>> bus = EventBus(backend.history(10_000), transport=backend.transport)   # doctest: +SKIP

    Args:
        url: ``redis://host:port/db`` (``rediss://`` for TLS; a password goes in the URL).
        prefix: namespace of every key, so several buses can share one Redis.
        name: this server's name: it keeps its stream position under it and catches up after a restart
            (without a store or a name a server starts at the end of the stream).
        maxlen: entries the stream retains (trimmed approximately, ``MAXLEN ~``): the reach of ``since``.
        action_maxlen: entries each action stream retains.
        claim_ttl: seconds a run claim is held; a trigger replayed after that could run again.
        backoff_max: longest pause (s) between reconnect attempts.
        batch: at most this many messages per pipelined XADD and per XREAD.

    Raises:
        BackendUnavailableError: nothing answers PING at ``url``.
    """

    def __init__(
        self,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        name: str | None = None,
        maxlen: int = 1_000_000,
        action_maxlen: int = 10_000,
        claim_ttl: float = 24 * 3600,
        backoff_max: float = 2.0,
        batch: int = 1000,
    ) -> None:
        if maxlen < 1 or action_maxlen < 1:
            raise ValueError(f"maxlen and action_maxlen must be >= 1, got {maxlen} and {action_maxlen}")
        self.url = url
        self.prefix = prefix
        self.name = name
        self.member = name or f"{socket.gethostname()}-{os.getpid()}"
        """How this server appears in events, consumer names and claims."""
        self.maxlen = maxlen
        self.action_maxlen = action_maxlen
        self.claim_ttl = claim_ttl
        self.backoff_max = backoff_max
        self.batch = batch
        self.block_ms = 1000  # an XREAD returns at least this often, so a dead peer is noticed
        # No retries inside redis-py: we back off ourselves, and report the outage.
        try:
            self.sync = redis.Redis.from_url(
                url, socket_connect_timeout=2, socket_timeout=5, retry=Retry(NoBackoff(), 0)
            )
        except ValueError as err:
            raise BackendUnavailableError(f"invalid Redis URL {safe_url(url)!r}: {err}") from err
        try:
            self.sync.ping()
        except (redis.RedisError, OSError) as err:
            self.sync.close()
            raise BackendUnavailableError(
                f"cannot reach Redis at {safe_url(url)}: {str(err).rstrip('.')}. "
                "Start redis-server there or pass another URL."
            ) from err
        self.client = redis.asyncio.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=self.block_ms / 1000 + 10, retry=AsyncRetry(NoBackoff(), 0)
        )
        self.closed = False

    # ------------------------------------------------------------- keys
    @property
    def stream(self) -> str:
        return f"{self.prefix}:stream"

    def action_stream(self, message_type: str) -> str:
        return f"{self.prefix}:actions:{message_type}"

    @property
    def subscribers_key(self) -> str:
        return f"{self.prefix}:subscribers"

    @property
    def cursor_key(self) -> str | None:
        return f"{self.prefix}:cursor:{self.name}" if self.name else None

    # -------------------------------------------------------- factories
    def history(
        self, capacity: int | History = 100_000, store: SQLiteStore | str | Path | None = None
    ) -> StreamHistory:
        """A history whose ``since`` reads what the ring does not hold from the stream."""
        from resoto_rx.backends.history import StreamHistory

        if isinstance(capacity, History):
            store = capacity.store or store
            capacity = capacity.capacity
        if isinstance(store, str | Path):
            store = SQLiteStore(store)
        return StreamHistory(self, capacity, store)

    def transport(self, bus: EventBus) -> RedisStreamsTransport:
        """The transport factory: ``EventBus(..., transport=backend.transport)``."""
        from resoto_rx.backends.transport import RedisStreamsTransport

        return RedisStreamsTransport(bus, self)

    # ------------------------------------------------------------- state
    def resume_id(self, last_id: int, has_store: bool) -> str:
        """Where a starting server reads from: after what its store recorded, else after its named
        cursor, else at the current end of the stream (a new server sees only new messages)."""
        if has_store and last_id:
            return stream_id(last_id)
        cursor: Any = self.sync.get(self.cursor_key) if self.cursor_key is not None else None
        if cursor:
            return str(cursor.decode())
        last: Any = self.sync.xrevrange(self.stream, count=1)
        return str(last[0][0].decode()) if last else "0-0"

    def ensure_group(self, key: str, group: str) -> None:
        """Create consumer group ``group`` on ``key`` (at its end) unless it exists."""
        try:
            self.sync.xgroup_create(key, group, id="$", mkstream=True)
        except redis.ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise

    async def aensure_group(self, key: str, group: str) -> None:
        """``ensure_group`` without blocking the loop (for the read loops that recover a lost group)."""
        try:
            await self.client.xgroup_create(key, group, id="$", mkstream=True)
        except redis.ResponseError as err:
            if "BUSYGROUP" not in str(err):  # another consumer of the group made it first: fine
                raise

    async def claim(self, workflow_id: str, key: str) -> bool:
        """Claim the run of ``workflow_id`` for trigger ``key``; True for exactly one server.

        The TaskRunner asks this before a trigger starts a run (``runner.may_start``). Without Redis
        no server may claim it: better no run than every server running it.
        """
        name = f"{self.prefix}:runclaim:{workflow_id}:{key}"
        try:
            won = await self.client.set(name, self.member, nx=True, px=int(self.claim_ttl * 1000))
        except REDIS_DOWN as err:
            log.error("cannot claim run of %s for %s (Redis at %s): %s", workflow_id, key, safe_url(self.url), err)
            return False
        return bool(won)

    async def aclose(self) -> None:
        """Close both connections."""
        if self.closed:
            return
        self.closed = True
        await self.client.aclose()
        self.sync.close()


def parse_entry(entry_id: bytes, fields: dict[bytes, bytes], stamp: bool = True) -> tuple[Message, bytes, int, float]:
    """``(message, encoded data, bus id, epoch time)`` of a stream entry; ValueError if malformed.

    An action-stream entry carries the main stream id in ``ref``: the message keeps that id, so it
    is the same message on every path. ``stamp=False`` leaves id and at unset (``bus.accept`` sets them).
    """
    try:
        kind = fields[b"kind"].decode()
        message_type = fields[b"message_type"].decode()
        data = fields[b"data"]
        ref = fields.get(b"ref")
    except KeyError as err:
        raise ValueError(f"stream entry {entry_id!r} lacks field {err}") from None
    if kind not in KINDS:
        raise ValueError(f"stream entry {entry_id!r}: unknown kind {kind!r}")
    msg_id = bus_id(ref if ref is not None else entry_id)
    at = float(fields[b"at"]) if b"at" in fields else epoch_ms(msg_id) / 1000
    if stamp:
        message = build(kind, message_type, orjson.loads(data), msg_id, datetime.fromtimestamp(at, UTC))
    else:
        message = build(kind, message_type, orjson.loads(data), None, None)
    return message, data, msg_id, at
