"""One subscriber registry for every server on a shared bus (issue #7).

A worker registers on one server (REST ``POST /subscriber/{id}/{type}`` or ``subscribe_action``), but
a step may run on any server: each server's :class:`SubscriberRegistry` must know every registration.
:class:`RegistryMirror` keeps them equal:

- every change made on this server is published on the shared stream as a ``subscriber-changed``
  event ``{"subscriber_id", "subscriber": <Subscriber JSON> or null, "origin", "instance", "seq"}``;
- every server applies the changes of the others with ``registry.apply`` (marked with their origin,
  so they are never published again: no echo loops) and running steps react as to a local change;
- a server that starts later loads ``{prefix}:subscribers``, a hash of subscriber id -> the last
  change, written *by the same Lua script that adds the event to the stream*.

Why a hash written with the event, rather than replaying the stream on start: the stream is trimmed
(``maxlen``) and a registration may be older than anything it still holds; and a hash written apart
from the event (a second command) could disagree with the stream's order under concurrent changes.
Written in one script, the hash is exactly the state after some stream entry P. The reader of a new
server starts at or before P (its position is fixed when the bus is made, before the load), so it
reads every later change; each hash value keeps the entry id of its change, and a replayed change
not newer than that is skipped.

Order: all servers converge on the state of the last change in stream order. A server applies its
own change at once (the REST answer reflects it). While that change is on its way through Redis,
another server's change of the same id that arrives meanwhile must be older in the stream (the
reader reads in order and has not reached ours yet), so it is skipped: ours wins everywhere.

A registration also creates the subscriber's consumer groups (actions.py): actions sent after it
wait in the group until a connection of that subscriber reads them, whichever server it is on.

A server that stops does not publish the unsubscribes of its shutdown (``close`` comes first): the
same subscriber id may be served by connections on other servers, and a registration outlives its
connections, as in resotocore.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from reactivex.disposable import CompositeDisposable

from resoto_rx.backends.ids import bus_id
from resoto_rx.backends.redis_streams import REDIS_DOWN, RedisBackend
from resoto_rx.backends.transport import RedisStreamsTransport
from resoto_rx.bus import EventBus
from resoto_rx.messages import Message
from resoto_rx.workflows.subscribers import (
    RegistryChange,
    Subscriber,
    SubscriberRegistry,
    SubscriptionError,
    subscriber_from_json,
)

log = logging.getLogger(__name__)

SUBSCRIBER_CHANGED = "subscriber-changed"

# XADD the event and record it as the subscriber's latest state (or forget a removed one) atomically.
# The value is "<entry id> <event data>": the id tells a loading server which replayed changes are older.
_XADD_SUBSCRIBER = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
    'kind', ARGV[2], 'message_type', ARGV[3], 'data', ARGV[4], 'at', ARGV[5])
if ARGV[7] == '1' then
    redis.call('HSET', KEYS[2], ARGV[6], id .. ' ' .. ARGV[4])
else
    redis.call('HDEL', KEYS[2], ARGV[6])
end
return id
"""


class RegistryMirror:
    """Keeps ``registry`` equal to the registries of the other servers on ``bus``'s shared stream.

    Make it before anything registers on this server; ``close`` it before the shutdown unsubscribes.
    """

    def __init__(self, bus: EventBus, registry: SubscriberRegistry, backend: RedisBackend) -> None:
        if not isinstance(bus.transport, RedisStreamsTransport):
            raise TypeError(f"a RegistryMirror needs a bus on a RedisStreamsTransport, got {type(bus.transport)!r}")
        self.bus = bus
        self.registry = registry
        self.backend = backend
        self.origin = backend.member
        # Two servers of one name (one process, no name given) must still tell their changes apart.
        self.instance = uuid.uuid4().hex
        self.applied = 0
        """Changes of other servers taken over."""
        self._seq = 0
        self._in_flight: dict[str, int] = {}  # subscriber id -> seq of our latest change not yet read back
        self._versions: dict[str, int] = {}  # subscriber id -> bus id of the latest change seen
        self._groups: set[tuple[str, str]] = set()  # (message type, subscriber id) with a consumer group
        self._closed = False
        bus.transport.write_with(SUBSCRIBER_CHANGED, _XADD_SUBSCRIBER, self._script_args)
        local = registry.all()  # registered before the mirror existed: this server's, newer than the hash
        self._load({s.id for s in local})
        self._subscriptions = CompositeDisposable(
            bus.listen(SUBSCRIBER_CHANGED).subscribe(self._on_message),
            registry.changes.subscribe(self._on_local),
        )
        for subscriber in local:
            self._publish(subscriber.id, subscriber)

    # ------------------------------------------------------------ start
    def _load(self, skip: set[str]) -> None:
        snapshot: Any = self.backend.sync.hgetall(self.backend.subscribers_key)
        for key, value in snapshot.items():
            entry_id, _, data = bytes(value).partition(b" ")
            subscriber_id = key.decode()
            try:
                self._versions[subscriber_id] = bus_id(entry_id)
                change = self._change(orjson.loads(data))
            except (ValueError, SubscriptionError) as err:
                log.warning("skipped subscriber %r in %s: %s", subscriber_id, self.backend.subscribers_key, err)
                continue
            if change.subscriber_id not in skip:
                self.registry.apply(change)

    def _script_args(self, data: bytes) -> tuple[list[str], list[Any]]:
        obj = orjson.loads(data)
        present = "1" if obj.get("subscriber") is not None else "0"
        return [self.backend.subscribers_key], [obj["subscriber_id"], present]

    # ---------------------------------------------------------- outgoing
    def _on_local(self, change: RegistryChange) -> None:
        if change.origin is not None or self._closed:
            return  # mirrored from another server: it was published there
        if change.subscriber is not None:
            self._ensure_groups(change.subscriber)
        self._publish(change.subscriber_id, change.subscriber)

    def _publish(self, subscriber_id: str, subscriber: Subscriber | None) -> None:
        if self.bus.closed:
            return
        self._seq += 1
        self._in_flight[subscriber_id] = self._seq
        data = {
            "subscriber_id": subscriber_id,
            "subscriber": subscriber.to_json() if subscriber is not None else None,
            "origin": self.origin,
            "instance": self.instance,
            "seq": self._seq,
        }
        self.bus.emit(SUBSCRIBER_CHANGED, data)

    def _ensure_groups(self, subscriber: Subscriber) -> None:
        """Create the groups now, so the actions sent before the subscriber's first connection wait for it."""
        for message_type in subscriber.subscriptions:
            if (message_type, subscriber.id) in self._groups:
                continue
            try:
                self.backend.ensure_group(self.backend.action_stream(message_type), subscriber.id)
            except REDIS_DOWN as err:  # its first connection creates it (missing what came before)
                log.warning("no consumer group for %s on %s yet: %s", subscriber.id, message_type, err)
                continue
            self._groups.add((message_type, subscriber.id))

    # ---------------------------------------------------------- incoming
    def _on_message(self, message: Message) -> None:
        data = message.data
        subscriber_id = data.get("subscriber_id")
        if self._closed:
            return
        if not isinstance(subscriber_id, str):
            log.warning("ignored %s #%s without a subscriber_id: %r", SUBSCRIBER_CHANGED, message.id, data)
            return
        version = message.id or 0
        if version <= self._versions.get(subscriber_id, 0):
            return  # replayed from before the snapshot this server loaded
        self._versions[subscriber_id] = version
        if data.get("instance") == self.instance:
            if self._in_flight.get(subscriber_id) == data.get("seq"):
                del self._in_flight[subscriber_id]  # our latest change is back: others' apply again
            return
        if subscriber_id in self._in_flight:
            return  # our own later change of this id follows in the stream and wins everywhere
        try:
            change = self._change(data)
        except SubscriptionError as err:
            log.warning("ignored %s #%s of %r: %s", SUBSCRIBER_CHANGED, message.id, subscriber_id, err)
            return
        self.applied += 1
        self.registry.apply(change)

    @staticmethod
    def _change(data: Mapping[str, Any]) -> RegistryChange:
        subscriber_id = data.get("subscriber_id")
        if not isinstance(subscriber_id, str) or not subscriber_id:
            raise SubscriptionError(f"subscriber_id must be a non-empty string, got {subscriber_id!r}")
        obj = data.get("subscriber")
        if obj is not None and not isinstance(obj, Mapping):
            raise SubscriptionError(f"subscriber must be an object or null, got {obj!r}")
        subscriber = subscriber_from_json(obj) if obj is not None else None
        return RegistryChange(subscriber_id, subscriber, origin=str(data.get("origin") or "unknown"))

    # ---------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Stop mirroring: later changes here stay local, others' are no longer applied."""
        self._closed = True
        self._subscriptions.dispose()

    def __repr__(self) -> str:
        return f"RegistryMirror(origin={self.origin!r}, subscribers={len(self.registry.all())})"
