"""Pre-shared key: every endpoint wants the JWT of PROTOCOL.md §5 (header, cookie, ?code=, or /events' first frame)."""

from __future__ import annotations

import asyncio

import jwt
import orjson
import pytest
from tornado.httpclient import HTTPClientError

from resoto_rx.app import ResotoRx
from resoto_rx.messages import CoreEvent
from resoto_rx.server import InsecureBindError, ResotoServer, ServerSettings, TokenVerifier, bearer, encode_token
from resoto_rx.server.auth import AuthError
from resoto_rx.server.settings import is_loopback
from tests.server.conftest import Serve, body_json, connect, expect, fetch, listen, read_closed, read_json

PSK = "changeme"


@pytest.fixture
async def secured(serve: Serve) -> ResotoServer:
    return await serve(psk=PSK)


async def test_http_requires_a_valid_token(secured: ResotoServer) -> None:
    missing = await fetch(secured.url + "/subscribers")
    assert missing.code == 401 and "authentication required" in body_json(missing)["error"]
    wrong = await fetch(secured.url + "/subscribers", headers={"Authorization": bearer("other")})
    assert wrong.code == 401 and "wrong pre-shared key" in body_json(wrong)["error"]
    assert (await fetch(secured.url + "/subscribers", headers={"Authorization": bearer(PSK)})).code == 200
    cookie = {"Cookie": f'resoto_authorization="{bearer(PSK)}"'}
    assert (await fetch(secured.url + "/system/ping", headers=cookie)).code == 200
    assert (await fetch(secured.url + f"/system/ready?code={encode_token(PSK)}")).code == 200


async def test_expired_and_foreign_tokens_are_refused() -> None:
    verifier = TokenVerifier(PSK)
    with pytest.raises(AuthError, match="expired"):
        verifier.verify_sync(encode_token(PSK, expire_in=-10))
    with pytest.raises(AuthError, match="salt"):
        verifier.verify_sync(jwt.encode({"exp": 2**40}, "k" * 32, algorithm="HS256"))
    with pytest.raises(AuthError, match="algorithm 'none'"):
        verifier.verify_sync(jwt.encode({"exp": 2**40}, None, algorithm="none"))
    with pytest.raises(AuthError, match="malformed"):
        verifier.verify_sync("Bearer not-a-jwt")
    assert (await verifier.verify(bearer(PSK)))["exp"] > 0


async def test_websockets_require_a_token_in_the_handshake(secured: ResotoServer, core: ResotoRx) -> None:
    core.runner.registry.add_subscription("worker", "collect")
    with pytest.raises(HTTPClientError, match="401"):
        await connect(secured.ws_url + "/subscriber/worker/handle")
    ws = await listen(core.bus, secured.ws_url + "/subscriber/worker/handle", {"Authorization": bearer(PSK)})
    ws.close()
    with pytest.raises(HTTPClientError, match="401"):
        await connect(secured.ws_url + "/events", {"Authorization": bearer("wrong")})


async def test_events_accepts_an_authorization_frame_first(secured: ResotoServer, core: ResotoRx) -> None:
    ws = await connect(secured.ws_url + "/events?show=hello")
    core.bus.emit("hello", {"n": 0})  # not authorized yet: not subscribed, nothing is sent
    connected = expect(core.bus, CoreEvent.CONNECTED)
    ws.write_message(orjson.dumps({"kind": "authorization", "jwt": bearer(PSK)}).decode())
    await asyncio.wait_for(connected, 20)
    core.bus.emit("hello", {"n": 1})
    assert (await read_json(ws))["data"] == {"n": 1}
    ws.close()


async def test_events_closes_on_a_bad_first_frame(secured: ResotoServer) -> None:
    ws = await connect(secured.ws_url + "/events")
    ws.write_message('{"kind": "event", "message_type": "start_collect_workflow"}')
    code, reason = await read_closed(ws)
    assert code == 1008 and reason is not None and "authorization" in reason
    ws = await connect(secured.ws_url + "/events")
    ws.write_message(orjson.dumps({"kind": "authorization", "jwt": bearer("wrong")}).decode())
    code, reason = await read_closed(ws)
    assert code == 1008 and reason is not None and "wrong pre-shared key" in reason


async def test_origin_and_host_must_match(server: ResotoServer) -> None:
    cross = await fetch(server.url + "/subscribers", headers={"Origin": "http://evil.example"})
    assert cross.code == 403
    same = await fetch(server.url + "/subscribers", headers={"Origin": "http://127.0.0.1:8888"})
    assert same.code == 200  # ports may differ (a notebook on another port), hostnames may not
    with pytest.raises(HTTPClientError, match="403"):
        await connect(server.ws_url + "/events", {"Origin": "http://evil.example"})


async def test_no_psk_refuses_to_bind_beyond_loopback(core: ResotoRx) -> None:
    with pytest.raises(InsecureBindError, match=r"refusing to listen on '0.0.0.0' without a pre-shared key"):
        await ResotoServer(core, ServerSettings(host="0.0.0.0", port=0)).start()
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("example.org")
    ServerSettings(host="0.0.0.0", psk="k").check_bind()  # with a key: allowed


def test_settings_name_bad_values() -> None:
    with pytest.raises(ValueError, match="max_buffered_frames must be a positive integer, got 0"):
        ServerSettings(max_buffered_frames=0)
    with pytest.raises(ValueError, match="psk must be a non-empty string"):
        ServerSettings(psk="")
