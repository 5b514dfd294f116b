"""Kernel-loop glue: no patching at import; blocking calls work with and without a running loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

from resoto_rx.app import ResotoRx
from resoto_rx.notebook import kernel_loop, nest_asyncio_applied, run_sync, run_workflow


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_importing_the_notebook_layer_does_not_patch_asyncio() -> None:
    out = _python(
        """
        import asyncio, sys
        import resoto_rx.notebook
        from resoto_rx.notebook import EventLog, JobComposer, WorkflowMonitor
        print(hasattr(asyncio, "_nest_patched"), "nest_asyncio2" in sys.modules, "nest_asyncio" in sys.modules)
        """
    )
    assert out == "False False False"


def test_a_synchronous_call_inside_the_running_loop_applies_nest_asyncio2_then_and_only_then() -> None:
    # A cell that does not `await`: the kernel loop is running, run_workflow must wait on it anyway.
    out = _python(
        """
        import asyncio
        from resoto_rx.app import ResotoRx
        from resoto_rx.notebook import nest_asyncio_applied, run_workflow

        async def cell():
            with ResotoRx(store=None) as core:
                before = nest_asyncio_applied()
                await core.run("metrics")          # top-level await: no patching
                awaited = nest_asyncio_applied()
                run = run_workflow(core, "collect_and_cleanup")
                print(before, awaited, nest_asyncio_applied(), run.status.value, core.demo.summary()["collected"] > 0)

        asyncio.run(cell())
        """
    )
    assert out == "False False True done True"


def test_run_workflow_from_a_script_runs_the_bus_loop_without_patching() -> None:
    core = ResotoRx(store=None)
    try:
        run = run_workflow(core, "collect_and_cleanup")
        assert run.status.value == "done"
        assert [s.name for s in run.steps][-1] == "post_generate_metrics"
        assert not nest_asyncio_applied()
    finally:
        core.close()  # also closes the loop the bus made for itself


def test_run_sync_without_any_loop_and_refusing_a_foreign_loop() -> None:
    async def answer() -> int:
        return 42

    assert run_sync(answer()) == 42
    other = asyncio.new_event_loop()

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="another loop"):
            run_sync(answer(), other)

    try:
        asyncio.run(inside())
    finally:
        other.close()


def test_kernel_loop_is_the_running_loop_and_explains_itself_outside_one() -> None:
    async def cell() -> asyncio.AbstractEventLoop:
        return kernel_loop()

    assert isinstance(asyncio.run(cell()), asyncio.AbstractEventLoop)
    with pytest.raises(RuntimeError, match="notebook cells"):
        kernel_loop()
