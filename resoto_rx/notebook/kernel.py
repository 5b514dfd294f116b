"""Kernel-loop glue: the bus lives on the kernel's running loop; blocking calls work from plain cells.

In Jupyter (ipykernel 7: JupyterLab, Notebook 7, VS Code) a cell runs on the kernel's asyncio loop,
so ``await core.run("collect")`` is the first way to wait. A synchronous convenience call
(``run_workflow(core, "collect")``) must instead run that same loop until its awaitable is done while
the loop is already running: only nest-asyncio2 allows that, and it is applied at that moment, never
at import (patching is process-wide and costs tornado 7-17% throughput, PITFALLS.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from reactivex import abc
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from resoto_rx.bus import EventBus

if TYPE_CHECKING:
    from resoto_rx.app import ResotoRx
    from resoto_rx.workflows.runner import TaskRun

T = TypeVar("T")
log = logging.getLogger(__name__)


def kernel_loop() -> asyncio.AbstractEventLoop:
    """The loop running this cell (the kernel's), to own a bus or a server.

    Raises:
        RuntimeError: no loop runs on this thread (plain ``python``): make the bus without a loop
            and use ``run_sync`` instead.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "no asyncio loop is running on this thread: kernel_loop() is meant for notebook cells "
            "(ipykernel runs one); in a script, make EventBus() without a loop and wait with run_sync()"
        ) from None


def nest_asyncio_applied() -> bool:
    """Whether nest-asyncio2 (or nest_asyncio) has patched asyncio in this process."""
    return bool(getattr(asyncio, "_nest_patched", False))


def _apply_nest_asyncio(loop: asyncio.AbstractEventLoop) -> None:
    try:
        import nest_asyncio2
    except ImportError:  # pragma: no cover  (the notebook extra installs it)
        raise RuntimeError(
            "a blocking call inside a running loop needs nest-asyncio2: pip install 'resoto-rx[notebook]', "
            "or use top-level `await` instead"
        ) from None
    if not nest_asyncio_applied():
        log.info("applying nest-asyncio2 so that a synchronous call can wait on the running kernel loop")
    nest_asyncio2.apply(loop)


def run_sync(awaitable: Awaitable[T], loop: asyncio.AbstractEventLoop | None = None) -> T:
    """Wait for ``awaitable`` from synchronous code, on ``loop`` (default: the running or current loop).

    Outside a running loop (a script) it runs ``loop`` until the awaitable is done. Inside one (a
    notebook cell that did not ``await``) it applies nest-asyncio2 to that loop first, then does the
    same: the kernel keeps delivering messages and firing timers meanwhile.

    >>> async def answer() -> int:
    ...     return 42
    >>> run_sync(answer())
    42

    Raises:
        RuntimeError: another loop than ``loop`` runs on this thread (its messages would never be
            delivered while we wait).
    """
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    target = loop or running
    if target is None:
        return asyncio.run(_as_coroutine(awaitable))
    if running is not None and running is not target:
        _close_unawaited(awaitable)
        raise RuntimeError(
            f"cannot wait on loop {target!r} from a cell running on another loop {running!r}: "
            "make the bus in the notebook (it then owns the kernel's loop), or `await` instead"
        )
    if running is not None:
        _apply_nest_asyncio(target)
    return target.run_until_complete(_as_coroutine(awaitable))


def run_workflow(core: ResotoRx, workflow_id: str, reason: str = "manual") -> TaskRun:
    """Run ``workflow_id`` on ``core`` and wait for its end, from a synchronous cell or a script.

    In a notebook, ``await core.run(workflow_id)`` does the same without patching asyncio; prefer it.
    """
    return run_sync(core.run(workflow_id, reason), core.bus.loop)


def bus_scheduler(bus: EventBus) -> abc.SchedulerBase:
    """A reactivex scheduler on the bus's loop that any thread may use (widgets redraw there).

    Thread-safe on purpose: reactivex's plain ``AsyncIOScheduler`` silently stalls when called from
    another thread (RxPY issue #708).
    """
    return AsyncIOThreadSafeScheduler(bus.loop)


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _close_unawaited(awaitable: Awaitable[Any]) -> None:
    if isinstance(awaitable, Coroutine):
        awaitable.close()  # no "coroutine was never awaited" warning for a call we refused
