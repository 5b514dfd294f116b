"""/subscriber/{id}/handle: 404, 429, pending actions first, replies drive the workflow."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from tornado.httpclient import HTTPClientError

from resoto_rx.app import ResotoRx
from resoto_rx.messages import CoreEvent
from resoto_rx.server import ResotoServer
from tests.server.conftest import WAIT, connect, expect, fetch, listen, read_json


async def test_unknown_subscriber_or_no_subscriptions_is_404(server: ResotoServer, core: ResotoRx) -> None:
    with pytest.raises(HTTPClientError, match="404"):
        await connect(server.ws_url + "/subscriber/nobody/handle")
    core.runner.registry.add_subscription("empty", "collect")
    core.runner.registry.remove_subscription("empty", "collect")
    with pytest.raises(HTTPClientError, match="404"):
        await connect(server.ws_url + "/subscriber/empty/handle")


async def test_second_connection_for_the_same_id_is_429(server: ResotoServer, core: ResotoRx) -> None:
    core.runner.registry.add_subscription("worker", "collect")
    first = await listen(core.bus, server.ws_url + "/subscriber/worker/handle")
    with pytest.raises(HTTPClientError, match="429"):
        await connect(server.ws_url + "/subscriber/worker/handle")
    disconnected = expect(core.bus, CoreEvent.DISCONNECTED, where=lambda m: m.data["subscriber_id"] == "worker")
    first.close()
    await asyncio.wait_for(disconnected, WAIT)
    again = await listen(core.bus, server.ws_url + "/subscriber/worker/handle")  # free again once the first is gone
    again.close()


async def test_pending_action_first_then_replies_finish_the_step(server: ResotoServer, core: ResotoRx) -> None:
    response = await fetch(server.url + "/subscriber/worker/collect?timeout=30&wait_for_completion=True", "POST")
    assert response.code == 200
    run = core.runner.run("collect")
    assert run is not None and run.current_step == "collect"  # waiting for "worker"
    ws = await listen(core.bus, server.ws_url + "/subscriber/worker/handle")
    action = await read_json(ws)
    assert action["kind"] == "action" and action["message_type"] == "collect"
    assert action["data"]["task"] == run.id and action["data"]["step"] == "collect"
    data = {"task": run.id, "step": "collect"}
    progress = {"kind": "progress", "name": "acc", "path": ["cloud"], "current": 1, "total": 2}
    # resotolib's CoreFeedback shapes: no subscriber_id (the server fills it in)
    ws.write_message(orjson.dumps({"kind": "action_progress", "message_type": "collect",
                                   "data": {**data, "context": [], "progress": progress,
                                            "at": "2024-01-01T00:00:00Z"}}).decode())
    ws.write_message(orjson.dumps({"kind": "action_info", "message_type": "collect",
                                   "data": {**data, "level": "info", "message": "hi"}}).decode())
    ws.write_message(orjson.dumps({"kind": "action_done", "message_type": "collect", "data": data}).decode())
    ended = await asyncio.wait_for(core.runner.wait(run), WAIT)
    assert ended.status.value == "done"
    collect = next(s for s in ended.steps if s.name == "collect")
    assert collect.answered == ["worker"] and not collect.timed_out
    assert collect.infos == ["worker: info: hi"]
    ws.close()


async def test_handle_sends_only_actions_not_other_subscribers_replies(server: ResotoServer, core: ResotoRx) -> None:
    core.runner.registry.add_subscription("worker", "collect", wait_for_completion=False)
    ws = await listen(core.bus, server.ws_url + "/subscriber/worker/handle")
    run = core.runner.run("collect")
    assert run is not None
    await asyncio.wait_for(core.runner.wait(run), WAIT)
    action = await read_json(ws)
    assert action["kind"] == "action" and action["data"]["task"] == run.id
    from resoto_rx.messages import ActionDone

    core.bus.emit(ActionDone("collect", task=run.id, step="collect", subscriber_id="other"))
    core.bus.emit("collect", {"as": "event"})
    assert (await read_json(ws))["kind"] == "event"  # the action_done in between was not sent
    ws.close()
