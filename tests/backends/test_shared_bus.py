"""Several buses on one stream: the same messages, in the same order, with the same ids; replay."""

from __future__ import annotations

from collections.abc import Callable

import redis

from resoto_rx import EventBus, Message
from resoto_rx.backends import RedisStreamsTransport
from resoto_rx.backends.ids import is_local
from tests.backends.helpers import until


def _record(bus: EventBus, *types: str) -> list[Message]:
    seen: list[Message] = []
    bus.listen(*types).subscribe(seen.append)
    return seen


async def test_three_buses_see_one_order(make_server: Callable[..., EventBus]) -> None:
    buses = [make_server(name=f"s{i}") for i in range(3)]
    seen = [_record(bus, "tick") for bus in buses]
    for n in range(90):  # interleaved writers: the stream decides the order
        buses[n % 3].emit("tick", {"from": n % 3, "n": n})
    await until(lambda: all(len(s) == 90 for s in seen), "90 ticks on every bus")
    views = [[(m.id, m.data["from"], m.data["n"], m.at) for m in s] for s in seen]
    assert views[0] == views[1] == views[2]
    ids = [v[0] for v in views[0]]
    assert ids == sorted(ids) and len(set(ids)) == 90
    assert not any(is_local(i) for i in ids)
    for bus in buses:  # each writer's own messages keep their emit order
        mine = [n for _, sender, n, _ in views[0] if sender == buses.index(bus)]
        assert mine == sorted(mine)


async def test_own_emit_is_delivered_once_redis_ordered_it(make_server: Callable[..., EventBus]) -> None:
    bus = make_server()
    seen = _record(bus, "hello")
    bus.emit("hello", {"x": 1})
    assert seen == []  # nothing is delivered before the stream has given it its place
    await until(lambda: len(seen) == 1, "own message read back")
    assert seen[0].data == {"x": 1} and bus.last_id == seen[0].id
    transport = bus.transport
    assert isinstance(transport, RedisStreamsTransport)
    assert transport.published == 1 and transport.received >= 1


async def test_since_reads_what_a_late_server_never_saw(make_server: Callable[..., EventBus]) -> None:
    early = make_server()
    seen = _record(early, "old")
    for n in range(20):
        early.emit("old", {"n": n})
    await until(lambda: len(seen) == 20, "20 messages on the early server")
    late = make_server()  # no name, no store: starts at the end of the stream
    late_seen = _record(late)
    early.emit("new", {"n": 20})
    await until(lambda: len(late_seen) == 1, "the new message on the late server")
    assert len(late.history) == 1
    replay = late.history.since(0)
    assert [m.id for m in replay] == [*(m.id for m in seen), late_seen[0].id]
    assert [m.data["n"] for m in replay] == list(range(21))
    assert [m.id for m in late.history.since(seen[4].id, limit=3)] == [m.id for m in seen[5:8]]
    assert [m.id for m in late.history.since(seen[18].id)] == [seen[19].id, late_seen[0].id]
    assert late.history.since(late_seen[0].id) == []


async def test_stream_is_trimmed_to_maxlen(make_server: Callable[..., EventBus], redis_url: str, prefix: str) -> None:
    bus = make_server(maxlen=100)
    seen = _record(bus, "bulk")
    for n in range(2000):
        bus.emit("bulk", {"n": n})
    # One pipelined batch may be trimmed before any reader gets to it: a reader further behind than
    # maxlen loses entries, so maxlen must exceed the lag a server may have (default 1e6).
    await until(lambda: bool(seen) and seen[-1].data["n"] == 1999, "the last message read back")
    numbers = [m.data["n"] for m in seen]
    assert numbers == sorted(numbers)
    client = redis.Redis.from_url(redis_url)
    try:
        length = client.xlen(f"{prefix}:stream")
    finally:
        client.close()
    assert 100 <= length < 2000  # MAXLEN ~ trims whole nodes: at least maxlen stay


async def test_foreign_entries_are_skipped(make_server: Callable[..., EventBus], redis_url: str, prefix: str) -> None:
    bus = make_server()
    seen = _record(bus)
    client = redis.Redis.from_url(redis_url)
    try:
        client.xadd(f"{prefix}:stream", {"something": "else"})
        client.xadd(f"{prefix}:stream", {"kind": "event", "message_type": "x", "data": b"not json"})
    finally:
        client.close()
    bus.emit("after", {})
    await until(lambda: len(seen) == 1, "the message after two foreign entries")
    transport = bus.transport
    assert isinstance(transport, RedisStreamsTransport) and transport.skipped == 2
