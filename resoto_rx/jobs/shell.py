"""Running a :class:`ShellCommand`: a subprocess with the trigger as JSON on stdin, killed when cancelled.

The runner's step timeout cancels the coroutine (time comes only from its scheduler); cancellation
kills the whole process group, since with ``shell=True`` the command runs in a child of the shell,
which a plain ``proc.kill()`` would leave running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any

import orjson

from resoto_rx.codec import to_json
from resoto_rx.jobs.bodies import ShellCommand
from resoto_rx.messages import Message

OUTPUT_KEPT = 10_000  # characters of stdout / stderr kept in the run history


class ShellCommandError(RuntimeError):
    """The command exited with a non-zero code; the message holds the code and the end of stderr."""


def stdin_json(trigger: Any) -> bytes:
    """What the process reads on stdin: the trigger as JSON (a message in its wire form), ``null`` for none."""

    def plain(value: Any) -> Any:
        if isinstance(value, Message):
            return to_json(value)
        return str(value)

    return orjson.dumps(trigger, default=plain) + b"\n"


async def run_shell(command: ShellCommand, trigger: Any) -> dict[str, Any]:
    """Run ``command`` to its end; returns ``{"returncode", "stdout", "stderr"}`` (tails of the output).

    Raises:
        ShellCommandError: a non-zero exit code.
        OSError: the program was not found or could not start.
    """
    pipes: dict[str, Any] = {
        "stdin": asyncio.subprocess.PIPE,
        "stdout": asyncio.subprocess.PIPE,
        "stderr": asyncio.subprocess.PIPE,
        "start_new_session": True,  # its own process group, so a kill reaches the shell's children too
    }
    if command.shell:
        proc = await asyncio.create_subprocess_shell(command.command, **pipes)
    else:
        proc = await asyncio.create_subprocess_exec(*command.argv(), **pipes)
    try:
        out, err = await proc.communicate(stdin_json(trigger))
    except asyncio.CancelledError:
        _kill_group(proc)
        await proc.wait()
        raise
    result = {
        "returncode": proc.returncode,
        "stdout": out.decode(errors="replace")[-OUTPUT_KEPT:],
        "stderr": err.decode(errors="replace")[-OUTPUT_KEPT:],
    }
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip()[-500:]
        raise ShellCommandError(f"{command.command!r} exited with {proc.returncode}" + (f": {tail}" if tail else ""))
    return result


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):  # it ended by itself in the meantime
        os.killpg(proc.pid, signal.SIGKILL)
