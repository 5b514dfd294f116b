"""EventBus: listen, emit from anywhere, delivery on the owning loop, isolation, re-entrancy, lifecycle."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest
from reactivex import operators as ops

from resoto_rx import (
    Action,
    ActionDone,
    BusClosedError,
    CoreEvent,
    Event,
    EventBus,
    History,
    Message,
    MessageFormatError,
    SQLiteStore,
)

MakeBus = Callable[..., EventBus]
Collect = Callable[..., list[Any]]


def types(messages: list[Message]) -> list[str]:
    return [m.message_type for m in messages]


# ------------------------------------------------------------------ listen and emit
def test_listen_by_type_and_all(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    only_a = collect(bus, "a")
    a_or_b = collect(bus, "a", "b")
    everything = collect(bus)
    bus.emit("a", {"n": 1})
    bus.emit("b")
    bus.emit(Event("c", {"n": 3}))
    assert types(only_a) == ["a"]
    assert types(a_or_b) == ["a", "b"]
    assert types(everything) == ["a", "b", "c"]
    assert only_a[0] == Event("a", {"n": 1}, id=1, at=only_a[0].at)
    assert only_a[0] is everything[0]  # one message object, shared by all subscribers


def test_ids_strictly_increasing_and_at_set(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    seen = collect(bus)
    assert bus.last_id == 0
    for i in range(50):
        bus.emit("tick", {"i": i})
    assert [m.id for m in seen] == list(range(1, 51))
    assert bus.last_id == 50
    for message in seen:
        assert message.at is not None
        assert message.at.tzinfo is not None and message.at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert message.encoded_data is not None
    assert [m.data["i"] for m in seen] == list(range(50))


def test_emitting_a_message_stamps_it_and_reemitting_copies_it(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    seen = collect(bus, "x")
    event = Event("x", {"a": 1})
    bus.emit(event)
    bus.emit(event)
    assert [m.id for m in seen] == [1, 2]
    assert event.id == 1  # the published message keeps its id
    assert seen[0] is event and seen[1] is not event
    assert seen[1].data == {"a": 1}
    foreign = Event("x", id=999)  # a client-sent id is overwritten
    bus.emit(foreign)
    assert seen[-1].id == 3 and foreign.id == 999


def test_emit_on_owning_thread_is_delivered_before_returning(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    seen = collect(bus, "x")
    bus.emit("x")
    assert len(seen) == 1


def test_emit_argument_errors(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    seen = collect(bus)
    with pytest.raises(TypeError):
        bus.emit(Event("x"), {"a": 1})
    with pytest.raises(TypeError):
        bus.emit(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        bus.emit("")
    with pytest.raises(ValueError, match="non-empty"):
        bus.listen("a", "")
    assert seen == [] and bus.last_id == 0


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"a": {1, 2}}, "data['a']"),
        ({"a": [1, math.nan]}, "data['a'][1]"),
        ({"a": [1, math.inf]}, "data['a'][1]"),
        ({1: "x"}, "data key 1"),
        ({"a": 2**64}, "data['a']"),
        ({"a": object()}, "data['a']"),
    ],
)
def test_emit_non_json_publishes_nothing(
    make_bus: MakeBus, collect: Collect, tmp_path: Any, data: dict[Any, Any], path: str
) -> None:
    bus = make_bus(store=tmp_path / "bus.sqlite")
    bus.emit("before")
    seen = collect(bus)
    with pytest.raises(MessageFormatError) as info:
        bus.emit("bad", data)
    assert info.value.field == path
    with pytest.raises(MessageFormatError):
        bus.emit(Event("bad", data))
    with pytest.raises(MessageFormatError):
        bus.emit(Action("bad", data, task="t", step="s"))
    assert seen == []
    assert bus.last_id == 1
    assert len(bus.history) == 1
    assert bus.store is not None and bus.store.pending == 1
    bus.emit("after")  # the bus goes on
    assert types(seen) == ["after"] and seen[0].id == 2


def test_operator_chains(make_bus: MakeBus) -> None:
    bus = make_bus()
    values: list[int] = []
    completed: list[bool] = []
    bus.listen("n").pipe(
        ops.filter(lambda m: m.data["v"] % 2 == 0),
        ops.map(lambda m: m.data["v"] * 10),
        ops.scan(lambda acc, v: acc + v, 0),
    ).subscribe(values.append, on_completed=lambda: completed.append(True))
    for v in range(6):
        bus.emit("n", {"v": v})
        bus.emit("other", {"v": v})
    assert values == [0, 20, 60]
    bus.close()
    assert completed == [True]


def test_dispose_stops_delivery(make_bus: MakeBus) -> None:
    bus = make_bus()
    seen: list[Message] = []
    subscription = bus.listen("x").subscribe(seen.append)
    bus.emit("x")
    subscription.dispose()
    bus.emit("x")
    assert [m.id for m in seen] == [1]


def test_subscribing_during_delivery_gets_later_messages(make_bus: MakeBus) -> None:
    bus = make_bus()
    late: list[Message] = []

    def subscribe_late(_: Message) -> None:
        if not late:
            bus.listen("x").subscribe(late.append)

    bus.listen("x").subscribe(subscribe_late)
    bus.emit("x")
    bus.emit("x")
    assert [m.id for m in late] == [2]  # subscribed during #1: starts with the next message


def test_history_and_store_arguments(tmp_path: Any) -> None:
    loop = asyncio.new_event_loop()
    try:
        history = History(3)
        bus = EventBus(history, loop=loop)
        assert bus.history is history
        bus.emit("x")
        assert len(history) == 1
        bus.close()
        store = SQLiteStore(tmp_path / "a.sqlite")
        with pytest.raises(ValueError, match="either"):
            EventBus(History(3, store), tmp_path / "b.sqlite", loop=loop)
        with EventBus(History(3, store), store, loop=loop) as bus:
            assert bus.store is store
    finally:
        loop.close()


# ------------------------------------------------------------------ threads
async def test_emit_from_many_threads_delivers_once_on_the_loop_in_id_order() -> None:
    bus = EventBus()
    assert bus.loop is asyncio.get_running_loop()
    n_threads, per_thread = 8, 400
    total = n_threads * per_thread
    received: list[Message] = []
    delivery_threads: set[int] = set()
    all_arrived = asyncio.Event()

    def on_next(message: Message) -> None:
        delivery_threads.add(threading.get_ident())
        received.append(message)
        if len(received) == total:
            all_arrived.set()

    bus.listen("work").subscribe(on_next)
    start = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start.wait()
            for seq in range(per_thread):
                bus.emit("work", {"thread": index, "seq": seq})
        except BaseException as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    await asyncio.wait_for(all_arrived.wait(), timeout=60)  # a safety net, not a timing assumption
    for thread in threads:
        thread.join()
    # anything still queued would arrive before this marker (call_soon order): nothing more may come
    marker = asyncio.get_running_loop().create_future()
    bus.loop.call_soon(marker.set_result, None)
    await marker
    assert errors == []
    assert delivery_threads == {threading.get_ident()}
    assert len(received) == total
    assert [m.id for m in received] == list(range(1, total + 1))
    pairs = [(m.data["thread"], m.data["seq"]) for m in received]
    assert sorted(pairs) == [(t, s) for t in range(n_threads) for s in range(per_thread)]
    for t in range(n_threads):  # each thread's messages keep its emit order
        assert [s for (th, s) in pairs if th == t] == list(range(per_thread))
    assert bus.last_id == total and len(bus.history) == total
    bus.close()


async def test_emit_from_thread_is_not_delivered_on_that_thread() -> None:
    bus = EventBus()
    arrived: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    bus.listen("x").subscribe(lambda _: arrived.set_result(threading.get_ident()))
    thread = threading.Thread(target=bus.emit, args=("x",))
    thread.start()
    thread.join()
    assert await asyncio.wait_for(arrived, timeout=30) == threading.get_ident()
    bus.close()


async def test_thread_emit_after_close_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    seen: list[Message] = []
    bus.listen().subscribe(seen.append)
    thread = threading.Thread(target=bus.emit, args=("late",))
    thread.start()
    thread.join()  # handed to the loop, not yet run
    bus.close()
    marker = asyncio.get_running_loop().create_future()
    bus.loop.call_soon(marker.set_result, None)
    with caplog.at_level(logging.WARNING, logger="resoto_rx.bus"):
        await marker
    assert seen == []
    assert bus.last_id == 0
    assert "after the bus closed" in caplog.text


# ------------------------------------------------------------------ isolation
def test_failing_subscriber_does_not_stop_others(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    before = collect(bus, "x")

    def boom(message: Message) -> None:
        raise ValueError(f"boom {message.id}")

    bus.listen("x").subscribe(boom)
    after = collect(bus, "x")
    errors = collect(bus, CoreEvent.ERROR)
    bus.emit("x", {"n": 1})  # must not raise into the emitter
    bus.emit("x", {"n": 2})
    assert [m.data["n"] for m in before] == [1, 2]
    assert [m.data["n"] for m in after] == [1, 2]  # the subscriber after the failing one got both
    assert bus.failures == 2
    assert len(errors) == 2
    first = errors[0]
    assert first.data["failed_message_type"] == "x"
    assert first.data["failed_id"] == 1
    assert first.data["message"] == "ValueError: boom 1"
    assert "boom" in first.data["subscriber"]  # the failing callback is named
    assert first.id == 2  # published right after the message that failed
    assert [m.id for m in after] == [1, 3]


def test_error_event_names_the_task_of_an_action(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    bus.listen("collect").subscribe(lambda _: 1 / 0)
    errors = collect(bus, CoreEvent.ERROR)
    bus.emit(Action("collect", task="task-1", step="collect"))
    assert len(errors) == 1
    assert errors[0].data["task"] == "task-1"
    assert errors[0].data["failed_message_type"] == "collect"
    assert errors[0].data["message"].startswith("ZeroDivisionError")


class Runaway(BaseException):
    """Escapes the bus's isolation (it catches Exception only): turns an endless loop into a failure."""


def test_subscriber_failing_on_everything_does_not_loop(make_bus: MakeBus) -> None:
    bus = make_bus()
    everything: list[Message] = []

    def record(message: Message) -> None:
        everything.append(message)
        if len(everything) > 50:
            raise Runaway(f"{len(everything)} messages: the bus loops")

    bus.listen().subscribe(record)

    def always(_: Message) -> None:
        raise RuntimeError("always")

    bus.listen().subscribe(always)
    bus.listen(CoreEvent.ERROR).subscribe(always)
    bus.emit("x")
    # x fails once -> one error event; failing on that error event is only logged
    assert types(everything) == ["x", CoreEvent.ERROR]
    assert bus.failures == 3
    assert bus.last_id == 2
    bus.emit("y")
    assert types(everything) == ["x", CoreEvent.ERROR, "y", CoreEvent.ERROR]


def test_failing_subscriber_is_logged(make_bus: MakeBus, caplog: pytest.LogCaptureFixture) -> None:
    bus = make_bus()
    bus.listen("x").subscribe(lambda _: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="resoto_rx.bus"):
        bus.emit("x")
    assert "failed on x #1" in caplog.text
    assert "ZeroDivisionError" in caplog.text


def test_failing_operator_chain_does_not_stop_others(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    bus.listen("x").pipe(ops.map(lambda m: m.data["missing"])).subscribe(lambda _: None)
    others = collect(bus, "x")
    bus.emit("x")
    bus.emit("x")
    assert [m.id for m in others][:1] == [1]
    assert types(others) == ["x", "x"]


# ------------------------------------------------------------------ re-entrancy
def test_emit_inside_callback_keeps_id_order_for_everyone(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    first = collect(bus)

    def react(message: Message) -> None:
        if message.message_type == "a":
            bus.emit("b")
            bus.emit("c")
        elif message.message_type == "b":
            bus.emit("d")

    bus.listen("a", "b").subscribe(react)
    last = collect(bus)
    bus.emit("a")
    assert types(last) == ["a", "b", "c", "d"]
    assert [m.id for m in last] == [1, 2, 3, 4]
    assert [m.id for m in first] == [1, 2, 3, 4]
    assert len(bus.history) == 4


def test_reentrant_emit_is_delivered_before_outer_emit_returns(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    bus.listen("ping").subscribe(lambda m: bus.emit("pong", {"to": m.id}))
    pongs = collect(bus, "pong")
    bus.emit("ping")
    assert [m.data for m in pongs] == [{"to": 1}]


# ------------------------------------------------------------------ listeners
def test_listener_registration(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    events = collect(bus, CoreEvent.CONNECTED, CoreEvent.DISCONNECTED)
    mine: list[Message] = []
    subscription = bus.listen("collect", "cleanup", subscriber_id="worker-1").subscribe(mine.append)
    assert types(events) == [CoreEvent.CONNECTED]
    assert events[0].data == {"subscriber_id": "worker-1", "channels": ["collect", "cleanup"]}
    assert bus.listeners == {"worker-1": ["collect", "cleanup"]}
    everything = bus.listen(subscriber_id="watcher").subscribe(lambda _: None)
    assert events[-1].data == {"subscriber_id": "watcher", "channels": ["*"]}
    assert bus.listeners == {"worker-1": ["collect", "cleanup"], "watcher": ["*"]}
    bus.emit("collect")
    assert types(mine) == ["collect"]
    subscription.dispose()
    assert types(events) == [CoreEvent.CONNECTED, CoreEvent.CONNECTED, CoreEvent.DISCONNECTED]
    assert events[-1].data == {"subscriber_id": "worker-1", "channels": ["collect", "cleanup"]}
    assert bus.listeners == {"watcher": ["*"]}
    subscription.dispose()  # twice: no second event
    everything.dispose()
    assert [e.data["subscriber_id"] for e in events] == ["worker-1", "watcher", "worker-1", "watcher"]
    assert bus.listeners == {}
    bus.emit("collect")
    assert types(mine) == ["collect"]


def test_anonymous_listeners_emit_no_events(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    everything = collect(bus)
    bus.listen("x").subscribe(lambda _: None).dispose()
    assert everything == [] and bus.listeners == {}


# ------------------------------------------------------------------ close
def test_close_completes_everything_and_refuses_more(make_bus: MakeBus) -> None:
    bus = make_bus()
    completed: list[str] = []
    for name, channels in (("a", ("x",)), ("ab", ("x", "y")), ("all", ()), ("id", ("x",))):
        bus.listen(*channels, subscriber_id="sub" if name == "id" else None).subscribe(
            on_completed=lambda name=name: completed.append(name)
        )
    disconnects: list[Message] = []
    bus.listen(CoreEvent.DISCONNECTED).subscribe(disconnects.append, on_completed=lambda: completed.append("d"))
    bus.close()
    assert sorted(completed) == ["a", "ab", "all", "d", "id"]  # once each, even with two channels
    assert bus.closed
    assert disconnects == []  # closing is not a listener going away
    assert bus.listeners == {}
    with pytest.raises(BusClosedError):
        bus.emit("x")
    with pytest.raises(BusClosedError):
        bus.emit(Event("x"))
    late: list[str] = []
    bus.listen("x").subscribe(on_completed=lambda: late.append("done"))
    assert late == ["done"]
    bus.close()  # idempotent
    assert sorted(completed) == ["a", "ab", "all", "d", "id"]


def test_close_survives_failing_completion(make_bus: MakeBus, caplog: pytest.LogCaptureFixture) -> None:
    bus = make_bus()
    completed: list[int] = []

    def fail() -> None:
        raise RuntimeError("no")

    bus.listen("x").subscribe(on_completed=fail)
    bus.listen("x").subscribe(on_completed=lambda: completed.append(1))
    with caplog.at_level(logging.ERROR, logger="resoto_rx.bus"):
        bus.close()
    assert completed == [1]
    assert "failed on completion" in caplog.text


def test_close_commits_the_store(make_bus: MakeBus, tmp_path: Any) -> None:
    path = tmp_path / "bus.sqlite"
    bus = make_bus(store=path)
    for _ in range(5):
        bus.emit("x")
    assert bus.store is not None and bus.store.pending == 5
    bus.close()
    store = SQLiteStore(path)
    assert [row[0] for row in store.since(0)] == [1, 2, 3, 4, 5]
    store.close()


async def test_store_is_flushed_on_the_loop_after_flush_interval(tmp_path: Any) -> None:
    store = SQLiteStore(tmp_path / "bus.sqlite", flush_interval=0.01)
    bus = EventBus(store=store)
    bus.emit("x")
    assert store.pending == 1
    flushed = asyncio.Event()
    original = store.flush

    def flush() -> None:
        original()
        flushed.set()

    store.flush = flush  # type: ignore[method-assign]
    await asyncio.wait_for(flushed.wait(), timeout=30)
    assert store.pending == 0 and store.committed == 1
    bus.close()


def test_reply_kinds_flow_through(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus()
    seen = collect(bus, "collect")
    action = Action("collect", task="t", step="collect")
    bus.emit(action)
    bus.emit(action.done("w"))
    assert [m.kind for m in seen] == ["action", "action_done"]
    assert isinstance(seen[1], ActionDone) and seen[1].subscriber_id == "w"
    assert seen[1].at is not None and seen[1].at.tzinfo == UTC
