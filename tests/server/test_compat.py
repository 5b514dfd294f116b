"""Real Resoto clients against a running server: resotolib 3.9.0 and resotoclient 1.6.2, with and without a PSK.

They are installed into their own virtualenv (their pins clash with ours), once, under a cache directory
(``$RESOTO_RX_COMPAT_VENV`` or ``~/.cache/resoto_rx/compat-venv``), and driven by the scripts in
``compat/`` as subprocesses. If the install fails (no package index), these tests are skipped with pip's
error, unless ``RESOTO_RX_REQUIRE_COMPAT=1`` makes that a failure.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import orjson
import pytest

from resoto_rx.app import ResotoRx
from resoto_rx.messages import CoreEvent
from resoto_rx.server import ResotoServer
from tests.server.conftest import WAIT, Serve, expect

PINS = ("resotolib==3.9.0", "resotoclient==1.6.2")
SCRIPTS = Path(__file__).with_name("compat")
PSK = "compat-secret"

pytestmark = pytest.mark.slow


def _venv_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "resoto_rx" / "compat-venv"
    return Path(os.environ.get("RESOTO_RX_COMPAT_VENV", default))


@pytest.fixture(scope="session")
def compat_python() -> Path:
    """The interpreter of a virtualenv with resotolib and resotoclient (made once, then reused)."""
    venv = _venv_dir()
    python = venv / "bin" / "python"
    marker = venv / ("installed-" + "-".join(PINS).replace("==", "_"))
    if not marker.exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        steps = [[sys.executable, "-m", "venv", "--clear", str(venv)],
                 [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PINS]]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                problem = f"cannot install {' '.join(PINS)} into {venv}: {done.stderr.strip()[-1500:]}"
                if os.environ.get("RESOTO_RX_REQUIRE_COMPAT") == "1":
                    pytest.fail(problem)
                pytest.skip(problem)
        marker.touch()
    return python


class Script:
    """A compat script as a subprocess whose stdout lines are read without blocking the server's loop."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    async def line(self, predicate: object = None) -> str:
        assert self.process.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), WAIT)
            if not raw:
                err = await self.process.stderr.read() if self.process.stderr else b""
                raise AssertionError(f"script ended: {err.decode()[-3000:]}")
            text = raw.decode().strip()
            self.lines.append(text)
            if predicate is None or (callable(predicate) and predicate(text)):
                return text

    async def stop(self) -> int:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            return await asyncio.wait_for(self.process.wait(), WAIT)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


StartScript = Callable[..., Awaitable[Script]]


@pytest.fixture
async def run_script(compat_python: Path) -> AsyncIterator[StartScript]:
    started: list[Script] = []

    async def start(name: str, *args: str) -> Script:
        process = await asyncio.create_subprocess_exec(
            str(compat_python), str(SCRIPTS / name), *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        started.append(Script(process))
        return started[-1]

    yield start
    for script in started:
        if script.process.returncode is None:
            await script.stop()


@pytest.fixture(params=[None, PSK], ids=["no-psk", "psk"])
async def compat_server(request: pytest.FixtureRequest, serve: Serve) -> ResotoServer:
    return await serve(psk=request.param)


def _psk(server: ResotoServer) -> str:
    return server.settings.psk or ""


async def test_resotolib_core_events(compat_server: ResotoServer, core: ResotoRx, run_script: StartScript) -> None:
    connected = expect(core.bus, CoreEvent.CONNECTED)
    script = await run_script("core_events.py", compat_server.ws_url, _psk(compat_server), "task_end,compat_ping")
    channels = (await asyncio.wait_for(connected, WAIT)).data["channels"]
    assert sorted(channels) == ["compat_ping", "task_end"]
    core.bus.emit("compat_ping", {"hello": "resotolib"})
    ping = orjson.loads(await script.line())
    assert ping["kind"] == "event" and ping["data"] == {"hello": "resotolib"}
    run = core.runner.run("metrics")
    assert run is not None
    end = orjson.loads(await script.line())
    assert end["message_type"] == "task_end" and end["data"]["task_id"] == run.id
    assert await script.stop() == 0


async def test_resotolib_core_actions_and_feedback(
    compat_server: ResotoServer, core: ResotoRx, run_script: StartScript
) -> None:
    connected = expect(core.bus, CoreEvent.CONNECTED, where=lambda m: m.data["subscriber_id"] == "compat-worker")
    script = await run_script(
        "core_actions.py", compat_server.url, compat_server.ws_url, _psk(compat_server), "compat-worker", "collect"
    )
    await asyncio.wait_for(connected, WAIT)
    subscriber = core.runner.registry.get("compat-worker")
    assert subscriber is not None and subscriber.subscriptions["collect"].wait_for_completion is True  # "True"
    info = expect(core.bus, "collect", where=lambda m: m.kind == "action_info")
    progress = expect(core.bus, "collect", where=lambda m: m.kind == "action_progress")
    run = core.runner.run("collect")
    assert run is not None
    ended = await asyncio.wait_for(core.runner.wait(run), WAIT)
    step = next(s for s in ended.steps if s.name == "collect")
    assert step.answered == ["compat-worker"] and not step.timed_out and ended.status.value == "done"
    got_info, got_progress = await asyncio.wait_for(asyncio.gather(info, progress), WAIT)
    assert (got_info.subscriber_id, got_info.message) == ("compat-worker", "compat worker was here")  # type: ignore[attr-defined]
    assert got_progress.progress["current"] == 1  # type: ignore[attr-defined]
    assert await script.stop() == 0


async def test_resotoclient_events_sends_and_receives(
    compat_server: ResotoServer, core: ResotoRx, run_script: StartScript
) -> None:
    psk = _psk(compat_server)
    script = await run_script("client_events.py", compat_server.url, psk, "start_metrics_workflow")
    end = orjson.loads(await script.line(lambda text: "task_end" in text))
    assert end["kind"] == "event" and end["data"]["descriptor_id"] == "metrics"
    assert await asyncio.wait_for(script.process.wait(), WAIT) == 0


async def test_wrong_psk_is_refused_for_resotolib(serve: Serve, core: ResotoRx, run_script: StartScript) -> None:
    server = await serve(psk=PSK)
    before = server.ctx.stats.auth_failures
    script = await run_script("core_events.py", server.ws_url, "not-the-key", "task_end")

    async def refused() -> None:
        while server.ctx.stats.auth_failures == before:  # polled: a refused client publishes nothing to await
            await asyncio.sleep(0.05)

    await asyncio.wait_for(refused(), WAIT)
    assert not core.bus.listeners
    await script.stop()
