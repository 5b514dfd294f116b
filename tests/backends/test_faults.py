"""Faults: a server killed mid-workflow, Redis restarting under the servers, Redis unreachable at start."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from resoto_rx import EventBus, Message
from resoto_rx.app import ResotoRx
from resoto_rx.backends import (
    BACKEND_DISCONNECTED,
    BACKEND_RECONNECTED,
    BackendUnavailableError,
    RedisBackend,
    RedisStreamsTransport,
    bus_id,
)
from resoto_rx.backends.ids import is_local
from resoto_rx.backends.local import LocalRedis, free_port
from resoto_rx.cli import main
from resoto_rx.workflows import PerformAction, Step, TaskRunner, TaskStatus, Workflow, subscribe_action
from resoto_rx.workflows.worker import ActionCall
from tests.backends.helpers import until

ROOT = Path(__file__).resolve().parents[2]


def _record(bus: EventBus) -> list[Message]:
    seen: list[Message] = []
    bus.listen().subscribe(seen.append)
    return seen


class ServerProcess:
    """tests/backends/server_proc.py in a subprocess: what it printed, and a way to kill -9 it."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.runs: list[list[str]] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        lines: list[str] = []
        self.runs.append(lines)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.backends.server_proc", *self.args, cwd=ROOT, stdout=asyncio.subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read(self.process, lines))
        await until(lambda: bool(lines) and lines[0].startswith("ready"), "the server process to be ready", 30)

    @staticmethod
    async def _read(process: asyncio.subprocess.Process, lines: list[str]) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(line.decode().strip())

    def ids(self, run: int) -> list[int]:
        return [int(line.split()[1]) for line in self.runs[run] if line.startswith("seen ")]

    def saw(self, message_type: str) -> bool:
        return any(line.endswith(f" {message_type}") for line in self.runs[-1])

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        if self._reader is not None:
            await self._reader


@pytest.mark.slow
async def test_kill_9_mid_workflow_then_catch_up(
    make_server: Callable[..., EventBus], redis_url: str, prefix: str, tmp_path: Path
) -> None:
    engine = make_server(name="engine")
    seen = _record(engine)
    steps = [Step(f"s{i}", PerformAction(f"s{i}")) for i in range(3)]
    runner = TaskRunner(engine, workflows=[Workflow("wf", steps)])
    gate = asyncio.Event()

    async def slow(call: ActionCall) -> None:
        await gate.wait()

    subscribe_action(engine, runner.registry, "s1", slow, "worker")
    victim = ServerProcess(redis_url, prefix, "victim", str(tmp_path / "victim.sqlite"))
    try:
        await victim.start()
        start_after = bus_id(victim.runs[0][0].split()[1])
        task = runner.run("wf")
        assert task is not None
        await until(lambda: victim.saw("s1"), "the victim to see the s1 action")
        await victim.kill()  # mid-workflow: s1 is still running
        gate.set()
        await until(lambda: not task.active, "the workflow to end without the victim")
        assert task.status is TaskStatus.done
        for n in range(50):
            engine.emit("after", {"n": n})
        await until(lambda: sum(m.message_type == "after" for m in seen) == 50, "50 messages after the kill")
        await victim.start()
        last = engine.last_id
        await until(lambda: last in victim.ids(1), "the restarted victim to catch up to the engine's last id")
    finally:
        await victim.kill()
    expected = [m.id for m in seen if m.id is not None and m.id > start_after]
    before, after = victim.ids(0), victim.ids(1)
    assert sorted(set(before) | set(after)) == expected  # nothing lost, nothing foreign
    assert after == sorted(set(after)) and after[0] > before[0]  # resumed, in order, no duplicates
    client = redis.Redis.from_url(redis_url)
    try:
        stream = [bus_id(entry_id) for entry_id, _ in client.xrange(f"{prefix}:stream")]
    finally:
        client.close()
    assert [i for i in stream if i > start_after] == expected  # the stream kept everything


async def test_redis_restart_is_reported_and_survived(private_redis: LocalRedis, prefix: str) -> None:
    backend = RedisBackend(private_redis.url, prefix=prefix, name="survivor")
    bus = EventBus(backend.history(1000), transport=backend.transport)
    transport = bus.transport
    assert isinstance(transport, RedisStreamsTransport)
    try:
        seen = _record(bus)
        bus.emit("before")
        await until(lambda: [m.message_type for m in seen] == ["before"], "the first message")
        private_redis.stop()
        await until(lambda: any(m.message_type == BACKEND_DISCONNECTED for m in seen), "backend-disconnected")
        assert not transport.connected
        for n in range(3):
            bus.emit("during", {"n": n})  # kept in the outbox until Redis is back
        private_redis.start()
        await until(
            lambda: sum(m.message_type == "during" for m in seen) == 3, "the messages emitted during the outage"
        )
        await until(lambda: any(m.message_type == BACKEND_RECONNECTED for m in seen), "backend-reconnected")
    finally:
        bus.close()
        await transport.wait_closed()
    types = [m.message_type for m in seen]
    assert types[:2] == ["before", BACKEND_DISCONNECTED] and transport.outages == 1
    down = seen[1]
    assert down.id is not None and is_local(down.id) and down.data["url"] == private_redis.url
    up = next(m for m in seen if m.message_type == BACKEND_RECONNECTED)
    assert up.data["server"] == "survivor" and "outage_s" in up.data and up.id is not None and not is_local(up.id)
    assert [m.data["n"] for m in seen if m.message_type == "during"] == [0, 1, 2]
    ids = [m.id for m in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_unreachable_redis_names_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(BackendUnavailableError, match=f"cannot reach Redis at {url}"):
        RedisBackend(url)
    with pytest.raises(BackendUnavailableError, match=url):
        ResotoRx(store=None, redis=url)
    assert main(["run", "metrics", "--store", "none", "--redis", url]) == 2
    assert f"cannot reach Redis at {url}" in capsys.readouterr().err
    with pytest.raises(BackendUnavailableError, match="invalid Redis URL"):
        RedisBackend("http://127.0.0.1:1")


async def test_cli_runs_a_workflow_on_the_shared_bus(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    loop = asyncio.get_running_loop()
    # The CLI runs its own event loop: in a thread, as a user's shell would in another process.
    code = await loop.run_in_executor(None, main, ["run", "metrics", "--store", "none", "--redis", redis_url])
    assert code == 0
    assert "generate_metrics" in capsys.readouterr().out


async def test_a_worker_subscribing_while_redis_is_down_gets_its_actions_once_it_is_back(
    private_redis: LocalRedis, prefix: str
) -> None:
    backend = RedisBackend(private_redis.url, prefix=prefix, name="patient")
    bus = EventBus(backend.history(1000), transport=backend.transport)
    transport = bus.transport
    assert isinstance(transport, RedisStreamsTransport)
    runner = TaskRunner(bus, workflows=[Workflow("wf", [Step("work", PerformAction("work"), 30)])])
    try:
        seen = _record(bus)
        bus.emit("before")
        await until(lambda: bool(seen), "the first message")
        private_redis.stop()
        await until(lambda: not transport.connected, "the outage to be noticed")
        performed: list[str] = []
        # Subscribing during the outage must not raise: the consumer group is made once Redis answers.
        subscribe_action(bus, runner.registry, "work", lambda call: performed.append(call.task), "worker")
        private_redis.start()
        await until(lambda: transport.connected, "the reconnect")
        task = runner.run("wf")
        assert task is not None
        await until(lambda: not task.active, "the step answered by the worker")
        assert task.status is TaskStatus.done and performed == [task.id]
    finally:
        runner.close()
        bus.close()
        await transport.wait_closed()
