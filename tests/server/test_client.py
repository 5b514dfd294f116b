"""resoto_rx.connect: the embedded bus's Observable API over a server; worker; resume with since after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from tornado.websocket import WebSocketClosedError

from resoto_rx import connect
from resoto_rx.app import ResotoRx
from resoto_rx.client import Backoff, RemoteBus, base_urls
from resoto_rx.messages import Message
from resoto_rx.server import ResotoServer, ServerSettings
from resoto_rx.workflows import ActionCall
from tests.server.conftest import WAIT, Serve


def test_base_urls_accept_http_and_ws() -> None:
    assert base_urls("http://h:1/") == ("http://h:1", "ws://h:1")
    assert base_urls("wss://h:1/core") == ("https://h:1/core", "wss://h:1/core")


async def first(bus: RemoteBus, *types: str) -> asyncio.Future[Message]:
    future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
    bus.listen(*types).subscribe(lambda m: future.done() or future.set_result(m))
    return future


async def test_listen_and_emit_like_the_embedded_bus(server: ResotoServer) -> None:
    async with connect(server.url, show=["task_end"]) as bus:
        ended = await first(bus, "task_end")
        await bus.wait_connected(WAIT)
        bus.emit("start_metrics_workflow")
        message = await asyncio.wait_for(ended, WAIT)
        assert message.data["descriptor_id"] == "metrics" and message.id == bus.last_id


async def test_remote_worker_performs_actions_and_reports(server: ResotoServer, core: ResotoRx) -> None:
    calls: list[str] = []

    async def collect(call: ActionCall) -> None:
        call.progress("account-1", 1, 2, ["aws"])
        call.info("collecting")
        calls.append(call.task)

    async with RemoteBus(server.url, show=["nothing"]) as bus:
        registered = asyncio.Event()
        core.runner.registry.changes.subscribe(lambda change: registered.set())
        bus.subscribe_action("collect", collect, "remote-collector", timeout=30)
        await asyncio.wait_for(registered.wait(), WAIT)
        from resoto_rx.messages import CoreEvent
        from tests.server.conftest import expect

        await asyncio.wait_for(expect(core.bus, CoreEvent.CONNECTED), WAIT)
        run = core.runner.run("collect")
        assert run is not None
        ended = await asyncio.wait_for(core.runner.wait(run), WAIT)
    step = next(s for s in ended.steps if s.name == "collect")
    assert calls == [run.id] and step.answered == ["remote-collector"]
    assert step.infos == ["remote-collector: info: collecting"]


async def test_failing_handler_answers_action_error(server: ResotoServer, core: ResotoRx) -> None:
    def broken(call: ActionCall) -> None:
        raise RuntimeError("disk full")

    async with RemoteBus(server.url, show=["nothing"]) as bus:
        from resoto_rx.messages import CoreEvent
        from tests.server.conftest import expect

        connected = expect(core.bus, CoreEvent.CONNECTED, where=lambda m: m.data["subscriber_id"] == "broken")
        bus.subscribe_action("collect", broken, "broken")
        await asyncio.wait_for(connected, WAIT)
        run = core.runner.run("collect")
        assert run is not None
        ended = await asyncio.wait_for(core.runner.wait(run), WAIT)
    step = next(s for s in ended.steps if s.name == "collect")
    assert step.errors == ["broken: RuntimeError: disk full"]


async def test_reconnects_and_resumes_with_since_across_a_server_restart(serve: Serve, tmp_path: Path) -> None:
    store = tmp_path / "bus.sqlite"
    first_core = ResotoRx(store=store, demo=False, schedule=None)
    server = await serve(first_core)
    port = server.port
    received: list[int] = []
    got = asyncio.Condition()

    async def on(message: Message) -> None:
        async with got:
            received.append(message.data["i"])
            got.notify_all()

    async with RemoteBus(server.url, show=["n"], backoff=Backoff(0.01, 0.05)) as bus:
        bus.listen("n").subscribe(lambda m: asyncio.ensure_future(on(m)))
        await bus.wait_connected(WAIT)
        for i in range(3):
            first_core.bus.emit("n", {"i": i})
        async with got:
            await asyncio.wait_for(got.wait_for(lambda: len(received) == 3), WAIT)
        await server.stop()
        for i in range(3, 6):  # published while the client is cut off
            first_core.bus.emit("n", {"i": i})
        first_core.close()  # the store is committed
        with ResotoRx(store=store, demo=False, schedule=None) as second_core:
            again = ResotoServer(second_core, ServerSettings(port=port))
            await again.start()
            try:
                second_core.bus.emit("n", {"i": 6})  # published after the restart, before the reconnect
                async with got:
                    await asyncio.wait_for(got.wait_for(lambda: len(received) >= 7), WAIT)
                second_core.bus.emit("n", {"i": 7})
                async with got:
                    await asyncio.wait_for(got.wait_for(lambda: len(received) >= 8), WAIT)
            finally:
                await again.stop()
    assert received == list(range(8))
    assert bus.connects >= 2


async def test_a_frame_whose_write_fails_after_the_socket_died_is_kept_for_the_reconnect(server: ResotoServer) -> None:
    async with connect(server.url) as bus:
        await bus.wait_connected(WAIT)

        class DyingSocket:  # tornado accepts the write, then fails it once the stream is gone
            def write_message(self, frame: str) -> asyncio.Future[None]:
                failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                failed.set_exception(WebSocketClosedError())
                return failed

        alive = bus._ws
        bus._ws = DyingSocket()  # type: ignore[assignment]
        bus.emit("important", {"n": 1})
        await asyncio.sleep(0)  # the write's failure is reported on the next loop turn
        assert [orjson.loads(f)["message_type"] for f in bus._outbox] == ["important"]
        bus._ws = alive
