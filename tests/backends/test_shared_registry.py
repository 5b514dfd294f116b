"""Issue #7 across servers: one subscriber registry, and /subscriber/{id}/handle through the consumer group."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import orjson
import pytest
from tornado.websocket import WebSocketClientConnection

from resoto_rx.app import ResotoRx
from resoto_rx.backends import SUBSCRIBER_CHANGED, RedisBackend
from resoto_rx.server import ResotoServer, ServerSettings
from resoto_rx.workflows import PerformAction, Step, TaskRun, TaskStatus, Workflow, subscribe_action
from tests.backends.helpers import until
from tests.server.conftest import WAIT, connect, fetch, read_json

MakeCore = Callable[[str], ResotoRx]
Serve = Callable[[ResotoRx], Awaitable[ResotoServer]]


@pytest.fixture
async def make_core(redis_url: str, prefix: str) -> AsyncIterator[MakeCore]:
    """``make_core(name)``: a ResotoRx on this test's shared bus, with the one-step workflow ``wf``."""
    made: list[ResotoRx] = []

    def make(name: str) -> ResotoRx:
        backend = RedisBackend(redis_url, prefix=prefix, name=name)
        core = ResotoRx(store=None, demo=False, schedule=None, redis=backend)
        core.runner.add_workflow(Workflow("wf", [Step("work", PerformAction("work"), timedelta(seconds=30))]))
        made.append(core)
        return core

    yield make
    for core in made:
        await core.aclose()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[ResotoServer] = []

    async def start(core: ResotoRx) -> ResotoServer:
        server = ResotoServer(core, ServerSettings(port=0))
        servers.append(await server.start())
        return server

    yield start
    for server in servers:
        await server.stop()


async def _register(server: ResotoServer, subscriber_id: str, timeout: float = 30) -> None:
    query = f"timeout={timeout}&wait_for_completion=True"
    response = await fetch(f"{server.url}/subscriber/{subscriber_id}/work?{query}", "POST")
    assert response.code == 200, response.body


async def _known(core: ResotoRx, subscriber_id: str) -> None:
    await until(lambda: core.runner.registry.get(subscriber_id) is not None, f"{subscriber_id} known to {core.mirror}")


async def _handle(core: ResotoRx, server: ResotoServer, subscriber_id: str) -> WebSocketClientConnection:
    """A /subscriber/{id}/handle connection, returned once ``server`` has subscribed it."""
    ws = await connect(f"{server.ws_url}/subscriber/{subscriber_id}/handle")
    # bus.listeners is this server's alone; message-listener-connected would also arrive from the other one.
    await until(lambda: subscriber_id in core.bus.listeners, f"the handle of {subscriber_id} at {core.mirror}")
    return ws


def _done(action: dict[str, Any]) -> str:
    data = {"task": action["data"]["task"], "step": action["data"]["step"]}
    return orjson.dumps({"kind": "action_done", "message_type": action["message_type"], "data": data}).decode()


async def _ended(core: ResotoRx, run: TaskRun | None) -> TaskRun:
    assert run is not None
    return await asyncio.wait_for(core.runner.wait(run), WAIT)


async def test_a_worker_registered_on_b_is_waited_for_by_a_step_on_a(make_core: MakeCore, serve: Serve) -> None:
    a, b = make_core("a"), make_core("b")
    server_b = await serve(b)
    await _register(server_b, "worker")
    ws = await _handle(b, server_b, "worker")
    await _known(a, "worker")
    run = a.runner.run("wf")
    assert run is not None and run.steps[-1].waited_for == ["worker"]
    action = await read_json(ws)  # the action of A's step, at the connection on B
    assert action["kind"] == "action" and action["data"]["task"] == run.id
    ws.write_message(_done(action))
    ended = await _ended(a, run)
    assert ended.status is TaskStatus.done and ended.steps[0].answered == ["worker"]
    assert not ended.steps[0].timed_out
    ws.close()


async def test_an_in_process_worker_on_b_acknowledges_a_step_on_a(make_core: MakeCore) -> None:
    a, b = make_core("a"), make_core("b")
    handled: list[str] = []
    subscribe_action(b.bus, b.runner.registry, "work", lambda call: handled.append(call.task), "collector")
    await _known(a, "collector")
    ended = await _ended(a, a.runner.run("wf"))
    assert ended.status is TaskStatus.done and ended.steps[0].answered == ["collector"]
    assert handled == [ended.id]


async def test_a_server_started_later_knows_the_registrations(make_core: MakeCore) -> None:
    a, b = make_core("a"), make_core("b")
    b.runner.registry.add_subscription("worker", "work", timeout=12.5)
    b.runner.registry.add_subscription("gone", "work")
    b.runner.registry.remove_subscriber("gone")
    witness = b.runner.registry.add_subscription("last", "work")
    await _known(a, "last")  # A read the last change: the snapshot in Redis holds all of them
    late = make_core("late")
    assert late.runner.registry.get("worker") == b.runner.registry.get("worker")
    assert late.runner.registry.blocking("work") == {"worker": timedelta(seconds=12.5), "last": timedelta(seconds=60)}
    assert late.runner.registry.get("last") == witness
    assert late.runner.registry.get("gone") is None
    # ... and it goes on mirroring: a change on the late server reaches the others.
    late.runner.registry.remove_subscription("worker", "work")
    await until(lambda: "worker" not in a.runner.registry.blocking("work"), "the removal on the late server at A")


async def test_removing_the_subscription_on_b_drops_it_from_a_running_wait(make_core: MakeCore, serve: Serve) -> None:
    a, b = make_core("a"), make_core("b")
    server_b = await serve(b)
    await _register(server_b, "worker")
    await _known(a, "worker")
    run = a.runner.run("wf")
    assert run is not None and run.steps[-1].waited_for == ["worker"]
    response = await fetch(f"{server_b.url}/subscriber/worker/work", "DELETE")
    assert response.code == 200
    ended = await _ended(a, run)
    assert ended.status is TaskStatus.done and not ended.steps[0].timed_out
    assert ended.steps[0].answered == []  # it ended because nobody is waited for any more


async def test_changes_are_not_echoed(make_core: MakeCore) -> None:
    a, b = make_core("a"), make_core("b")
    changes: list[str] = []
    a.bus.listen(SUBSCRIBER_CHANGED).subscribe(lambda m: changes.append(m.data["origin"]))
    b.runner.registry.add_subscription("worker", "work")
    await _known(a, "worker")
    a.runner.registry.add_subscription("marker", "work")  # published after A applied B's change
    await until(lambda: b.runner.registry.get("marker") is not None, "A's change at B")
    await until(lambda: changes == ["b", "a"], f"exactly B's and A's change on the stream, got {changes}")
    assert b.mirror is not None and b.mirror.applied == 1


async def _serve_actions(ws: WebSocketClientConnection, name: str, got: list[tuple[str, str]]) -> None:
    """Answer every action this connection receives, recording (connection, task)."""
    while (frame := await ws.read_message()) is not None:
        assert isinstance(frame, str)
        message = orjson.loads(frame)
        if message["kind"] == "action":
            got.append((name, message["data"]["task"]))
            ws.write_message(_done(message))


async def test_two_handle_connections_on_two_servers_share_the_actions(make_core: MakeCore, serve: Serve) -> None:
    a, b = make_core("a"), make_core("b")
    server_a, server_b = await serve(a), await serve(b)
    await _register(server_b, "worker")
    await _known(a, "worker")
    ws_a, ws_b = await _handle(a, server_a, "worker"), await _handle(b, server_b, "worker")
    got: list[tuple[str, str]] = []
    readers = [asyncio.ensure_future(_serve_actions(ws, name, got)) for ws, name in ((ws_a, "a"), (ws_b, "b"))]
    runs = [await _ended(a, a.runner.run("wf")) for _ in range(6)]
    assert [r.status for r in runs] == [TaskStatus.done] * 6
    assert all(r.steps[0].answered == ["worker"] and not r.steps[0].timed_out for r in runs)
    assert sorted(task for _, task in got) == sorted(r.id for r in runs)  # each action exactly once
    backend = a.mirror.backend if a.mirror is not None else None
    assert backend is not None
    await until(
        lambda: backend.sync.xpending(backend.action_stream("work"), "worker")["pending"] == 0,
        "every action acknowledged in the group of worker",
    )
    for ws in (ws_a, ws_b):
        ws.close()
    await asyncio.gather(*readers)


async def test_an_unanswered_handle_connection_loses_its_action_to_the_other(make_core: MakeCore, serve: Serve) -> None:
    a, b = make_core("a"), make_core("b")
    server_a, server_b = await serve(a), await serve(b)
    await _register(server_b, "worker", timeout=1)
    await _known(a, "worker")
    silent = await _handle(b, server_b, "worker")  # takes the action and never answers
    run = a.runner.run("wf")
    assert run is not None
    taken = await read_json(silent)
    assert taken["kind"] == "action" and taken["data"]["task"] == run.id
    healthy = await _handle(a, server_a, "worker")
    redelivered = await read_json(healthy)
    assert redelivered == taken  # the same message, same id, once the 1 s timeout passed
    healthy.write_message(_done(redelivered))
    ended = await _ended(a, run)
    assert ended.status is TaskStatus.done and ended.steps[0].answered == ["worker"]
    assert not ended.steps[0].timed_out  # answered by the redelivery, long before the step's 30 s
    silent.close()
    healthy.close()
