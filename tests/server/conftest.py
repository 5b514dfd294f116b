"""Servers on 127.0.0.1 with real sockets, and small helpers to talk to them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.websocket import WebSocketClientConnection, websocket_connect

from resoto_rx.app import ResotoRx
from resoto_rx.messages import Message
from resoto_rx.server import ResotoServer, ServerSettings

WAIT = 20.0  # a safety net against hanging tests, never a timing assertion

Serve = Callable[..., Awaitable[ResotoServer]]


@pytest.fixture
async def core() -> AsyncIterator[ResotoRx]:
    with ResotoRx(store=None, demo=False, schedule=None) as made:
        yield made


@pytest.fixture
async def serve(core: ResotoRx) -> AsyncIterator[Serve]:
    """``await serve(**settings)`` starts a server for ``core`` (or ``core=other``) on a free port."""
    servers: list[ResotoServer] = []

    async def start(core_: Any = None, **settings: Any) -> ResotoServer:
        server = ResotoServer(core_ or core, ServerSettings(port=0, **settings))
        servers.append(await server.start())
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def server(serve: Serve) -> ResotoServer:
    return await serve()


async def connect(url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> WebSocketClientConnection:
    return await asyncio.wait_for(websocket_connect(HTTPRequest(url, headers=headers), **kwargs), WAIT)


async def read_json(ws: WebSocketClientConnection) -> dict[str, Any]:
    """The next frame as JSON; fails if the connection closes instead."""
    frame = await asyncio.wait_for(ws.read_message(), WAIT)
    assert frame is not None, f"closed: {ws.close_code} {ws.close_reason}"
    assert isinstance(frame, str) and frame.endswith("\n"), frame
    result: dict[str, Any] = orjson.loads(frame)
    return result


async def read_until(ws: WebSocketClientConnection, predicate: Callable[[dict[str, Any]], bool]) -> list[Any]:
    """Frames up to and including the first that matches ``predicate``."""
    seen = []
    while True:
        seen.append(await read_json(ws))
        if predicate(seen[-1]):
            return seen


async def read_closed(ws: WebSocketClientConnection) -> tuple[int | None, str | None]:
    """Read until the server closes; the close code and reason."""
    while await asyncio.wait_for(ws.read_message(), WAIT) is not None:
        pass
    ws.close()  # releases the client side (tornado warns about connections never closed)
    return ws.close_code, ws.close_reason


async def fetch(url: str, method: str = "GET", body: bytes | None = None, **kwargs: Any) -> HTTPResponse:
    """An HTTP request that returns error responses instead of raising."""
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = b""
    try:
        return await AsyncHTTPClient().fetch(url, method=method, body=body, request_timeout=WAIT, **kwargs)
    except HTTPClientError as err:
        assert err.response is not None
        return err.response


def body_json(response: HTTPResponse) -> Any:
    return orjson.loads(response.body)


def expect(bus: Any, *types: str, where: Callable[[Message], bool] = lambda m: True) -> asyncio.Future[Message]:
    """Subscribe now, await later: the first message of ``types`` matching ``where`` published from now on."""
    future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
    subscription: list[Any] = []

    def on_next(message: Message) -> None:
        if where(message) and not future.done():
            future.set_result(message)
            if subscription:
                subscription[0].dispose()

    subscription.append(bus.listen(*types).subscribe(on_next))
    return future


async def listen(bus: Any, url: str, headers: dict[str, str] | None = None) -> WebSocketClientConnection:
    """Connect to a listening endpoint and return once the server has subscribed it to the bus."""
    from resoto_rx.messages import CoreEvent

    connected = expect(bus, CoreEvent.CONNECTED)
    ws = await connect(url, headers)
    await asyncio.wait_for(connected, WAIT)
    return ws
