"""Shell command jobs: real processes on the running loop, timeouts in virtual time (no sleeps)."""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
from typing import Any

import pytest

from resoto_rx import Job, ShellCommand
from resoto_rx.jobs.shell import stdin_json
from resoto_rx.workflows import EventTrigger, TaskStatus
from tests.jobs.conftest import Jobs

PY = shlex.quote(sys.executable)


async def finish(h: Jobs) -> None:
    await h.jobs.settle()
    for _ in range(3):  # the step's done-callback runs one loop turn after the body
        await asyncio.sleep(0)


async def test_command_gets_the_trigger_as_json_on_stdin(make_jobs: type[Jobs]) -> None:
    h = make_jobs(running_loop=True)
    script = "import json, sys; m = json.load(sys.stdin); print(m['message_type'], m['data']['n'])"
    h.jobs.add(Job("reader", f"{PY} -c {shlex.quote(script)}", EventTrigger("go")))
    h.bus.emit("go", {"n": 5})
    await finish(h)
    row = h.jobs.history("reader").iloc[0]
    assert row["status"] == "done"
    assert row["result"] == {"returncode": 0, "stdout": "go 5\n", "stderr": ""}


async def test_non_zero_exit_fails_the_run_with_code_and_stderr(make_jobs: type[Jobs]) -> None:
    h = make_jobs(running_loop=True)
    script = "import sys; sys.stderr.write('no disk'); sys.exit(3)"
    h.jobs.add(Job("fails", f"{PY} -c {shlex.quote(script)}"))
    run = h.jobs.run("fails")
    await finish(h)
    assert run is not None and run.status is TaskStatus.failed
    assert "exited with 3: no disk" in (run.error or "")
    assert "exited with 3" in h.events("error")[0].data["message"]


async def test_missing_program_is_a_failed_run(make_jobs: type[Jobs]) -> None:
    h = make_jobs(running_loop=True)
    h.jobs.add(Job("missing", "no-such-program-resoto-rx --help"))
    run = h.jobs.run("missing")
    await finish(h)
    assert run is not None and run.status is TaskStatus.failed and "FileNotFoundError" in (run.error or "")


async def test_no_shell_by_default_and_shell_on_request(make_jobs: type[Jobs]) -> None:
    h = make_jobs(running_loop=True)
    h.jobs.add(Job("plain", "echo $HOME | wc"))
    h.jobs.add(Job("shell", ShellCommand("echo a b | wc -w", shell=True)))
    h.jobs.run("plain")
    h.jobs.run("shell")
    await finish(h)
    results = h.jobs.history().set_index("job")["result"]
    assert results["plain"]["stdout"] == "$HOME | wc\n"  # the words went to echo, no shell expanded them
    assert results["shell"]["stdout"].strip() == "2"


@pytest.mark.parametrize("shell", [False, True])
async def test_timeout_kills_the_process(make_jobs: type[Jobs], monkeypatch: pytest.MonkeyPatch, shell: bool) -> None:
    h = make_jobs(running_loop=True)
    started = asyncio.Event()
    processes: list[asyncio.subprocess.Process] = []

    def spy(real: Any) -> Any:
        async def create(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
            process = await real(*args, **kwargs)
            processes.append(process)
            started.set()
            return process

        return create

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy(asyncio.create_subprocess_exec))
    monkeypatch.setattr(asyncio, "create_subprocess_shell", spy(asyncio.create_subprocess_shell))
    h.jobs.add(Job("sleepy", ShellCommand(f"{PY} -c 'import time; time.sleep(120)'", shell=shell), timeout=30))
    run = h.jobs.run("sleepy")
    await started.wait()
    h.advance(29)
    assert run is not None and run.active
    h.advance(2)
    assert run.status is TaskStatus.failed and "timed out after 30s" in (run.error or "")
    await finish(h)
    assert processes[0].returncode == -signal.SIGKILL


def test_stdin_json_of_nothing_and_of_other_items() -> None:
    assert stdin_json(None) == b"null\n"
    assert stdin_json({"a": [1]}) == b'{"a":[1]}\n'
