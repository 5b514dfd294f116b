"""/events: filters, superset since replay, incoming frames, listener events, bad input."""

from __future__ import annotations

import asyncio

import orjson

from resoto_rx.app import ResotoRx
from resoto_rx.messages import CoreEvent, Event
from resoto_rx.server import ResotoServer
from tests.server.conftest import Serve, connect, expect, listen, read_closed, read_json, read_until


async def test_frames_are_resotocore_json_lines_with_id_and_at(server: ResotoServer, core: ResotoRx) -> None:
    ws = await listen(core.bus, server.ws_url + "/events")
    core.bus.emit("hello", {"n": 1})
    frame = await read_until(ws, lambda f: f["message_type"] == "hello")
    assert frame[-1]["kind"] == "event"
    assert frame[-1]["data"] == {"n": 1}
    assert frame[-1]["id"] == core.bus.last_id and frame[-1]["at"].endswith("Z")
    ws.close()


async def test_show_filters_message_types(server: ResotoServer, core: ResotoRx) -> None:
    ws = await listen(core.bus, server.ws_url + "/events?show=b,c")
    for name in ("a", "b", "a", "c"):
        core.bus.emit(name, {})
    assert [(await read_json(ws))["message_type"] for _ in range(2)] == ["b", "c"]
    ws.close()


async def test_listener_events_name_the_channels(server: ResotoServer, core: ResotoRx) -> None:
    connected = expect(core.bus, CoreEvent.CONNECTED)
    ws = await connect(server.ws_url + "/events?show=x,y")
    message = await asyncio.wait_for(connected, 20)
    assert message.data["channels"] == ["x", "y"]
    disconnected = expect(core.bus, CoreEvent.DISCONNECTED)
    ws.close()
    gone = await asyncio.wait_for(disconnected, 20)
    assert gone.data["subscriber_id"] == message.data["subscriber_id"]


async def test_since_replays_history_then_live_without_gap_or_duplicate(serve: Serve, core: ResotoRx) -> None:
    server = await serve(replay_chunk=7, max_buffered_frames=100_000)
    for i in range(200):
        core.bus.emit("n", {"i": i})
    first = core.bus.last_id - 199

    async def emit_while_replaying() -> None:
        for i in range(200, 400):
            core.bus.emit("n", {"i": i})
            if i % 10 == 0:
                await asyncio.sleep(0)

    ws = await listen(core.bus, server.ws_url + f"/events?show=n&since={first + 49}")
    emitter = asyncio.ensure_future(emit_while_replaying())
    frames = await read_until(ws, lambda f: f["data"]["i"] == 399)
    await emitter
    assert [f["data"]["i"] for f in frames] == list(range(50, 400))
    ids = [f["id"] for f in frames]
    assert ids == sorted(set(ids))
    ws.close()


async def test_since_beyond_the_last_id_replays_everything_retained(server: ResotoServer, core: ResotoRx) -> None:
    # A client that saw another bus (a server restarted without a store counts ids from 1 again).
    for i in range(3):
        core.bus.emit("n", {"i": i})
    ws = await listen(core.bus, server.ws_url + f"/events?show=n&since={core.bus.last_id + 1000}")
    frames = await read_until(ws, lambda f: f["data"]["i"] == 2)
    assert [f["data"]["i"] for f in frames] == [0, 1, 2]
    ws.close()


async def test_bad_since_is_refused_before_the_upgrade(server: ResotoServer) -> None:
    from tests.server.conftest import fetch

    response = await fetch(server.url + "/events?since=abc", headers={"Connection": "Upgrade", "Upgrade": "websocket"})
    assert response.code == 400


async def test_incoming_event_is_emitted_and_starts_a_workflow(server: ResotoServer, core: ResotoRx) -> None:
    ws = await listen(core.bus, server.ws_url + "/events?show=task_end")
    ws.write_message(orjson.dumps({"kind": "event", "message_type": "start_metrics_workflow", "data": {}}).decode())
    end = await read_json(ws)
    assert end["message_type"] == "task_end" and end["data"]["descriptor_id"] == "metrics"
    ws.close()


async def test_bad_frames_get_an_error_naming_the_problem_and_nothing_else_breaks(
    server: ResotoServer, core: ResotoRx
) -> None:
    ws = await listen(core.bus, server.ws_url + "/events?show=error,ok")
    other = await listen(core.bus, server.ws_url + "/events?show=ok")
    cases = {
        "not json {": "invalid JSON",
        "[1, 2]": "got list",
        '{"kind": "shout", "message_type": "x"}': "kind: expected one of event",
        '{"kind": "action", "message_type": "collect", "data": {"task": "t", "step": "s"}}': "may not send 'action'",
        '{"kind": "event", "message_type": 7}': "message_type: expected a non-empty string",
        '{"kind": "event", "message_type": "x", "data": [1]}': "data: expected a JSON object",
        '{"kind": "action_done", "message_type": "collect", "data": {"step": "s"}}': "data.task",
        '{"kind": "action_info", "message_type": "c", "data": {"task": "t", "step": "s", "level": "loud", '
        '"message": "m"}}': "data.level",
    }
    for frame, problem in cases.items():
        ws.write_message(frame)
        error = await read_json(ws)
        assert error["kind"] == "event" and error["message_type"] == "error"
        assert problem in error["data"]["message"], (frame, error)
    before = core.bus.last_id
    ws.write_message('{"kind": "event", "message_type": "ok", "data": {"fine": true}}')
    assert (await read_json(ws))["data"]["fine"] is True
    assert (await read_json(other))["data"]["fine"] is True  # the other client saw only the good one
    assert core.bus.last_id == before + 1
    assert server.ctx.stats.bad_frames == len(cases)
    ws.close()
    other.close()


async def test_replies_carry_the_connection_id(server: ResotoServer, core: ResotoRx) -> None:
    connected = expect(core.bus, CoreEvent.CONNECTED)
    ws = await listen(core.bus, server.ws_url + "/events?show=none")
    listener = (await asyncio.wait_for(connected, 20)).data["subscriber_id"]
    done = expect(core.bus, "collect", where=lambda m: m.kind == "action_done")
    ws.write_message('{"kind":"action_done","message_type":"collect","data":{"task":"t","step":"s","subscriber_id":"x"}}')
    assert (await asyncio.wait_for(done, 20)).subscriber_id == listener  # type: ignore[attr-defined]
    ws.close()


async def test_oversized_frame_closes_with_1009(serve: Serve, core: ResotoRx) -> None:
    server = await serve(websocket_max_message_size=1024)
    ws = await listen(core.bus, server.ws_url + "/events")
    other = await listen(core.bus, server.ws_url + "/events?show=after")
    ws.write_message('{"kind":"event","message_type":"big","data":{"x":"' + "a" * 2000 + '"}}')
    code, reason = await read_closed(ws)
    assert code == 1009 and reason and "too big" in reason
    core.bus.emit(Event("after"))
    assert (await read_json(other))["message_type"] == "after"
    other.close()


async def test_bus_close_closes_clients_with_going_away(serve: Serve) -> None:
    with ResotoRx(store=None, demo=False, schedule=None) as own:
        server = await serve(own)
        ws = await listen(own.bus, server.ws_url + "/events?show=x")
        own.close()
        assert (await read_closed(ws))[0] == 1001
