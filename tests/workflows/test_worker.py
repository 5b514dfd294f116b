"""In-process subscribers: sync and async handlers are acknowledged automatically."""

from __future__ import annotations

import asyncio

from reactivex.testing import TestScheduler

from resoto_rx import ActionDone, ActionError, EventBus, Message
from resoto_rx.workflows import ActionCall, TaskRunner, TaskStatus, subscribe_action


def test_sync_handler_is_acknowledged_done_and_error() -> None:
    bus = EventBus()
    runner = TaskRunner(bus, scheduler=TestScheduler())
    replies: list[Message] = []
    bus.listen().subscribe(lambda m: replies.append(m) if isinstance(m, ActionDone | ActionError) else None)
    subscribe_action(bus, runner.registry, "generate_metrics", lambda call: None, "ok")

    def broken(call: ActionCall) -> None:
        raise RuntimeError(f"cannot {call.step}")

    subscribe_action(bus, runner.registry, "generate_metrics", broken, "broken")
    run = runner.run("metrics")
    assert run is not None and run.status is TaskStatus.done
    assert [(type(r).__name__, r.subscriber_id) for r in replies] == [  # type: ignore[attr-defined]
        ("ActionDone", "ok"),
        ("ActionError", "broken"),
    ]
    assert replies[1].error == "RuntimeError: cannot generate_metrics"  # type: ignore[attr-defined]
    runner.close()
    bus.close()


def test_disposing_unsubscribes_and_the_step_no_longer_waits() -> None:
    bus = EventBus()
    runner = TaskRunner(bus, scheduler=TestScheduler())
    subscription = subscribe_action(bus, runner.registry, "collect", lambda call: None, "c")
    assert runner.registry.blocking("collect") == {"c": runner.registry.blocking("collect")["c"]}
    subscription.dispose()
    assert runner.registry.blocking("collect") == {}
    runner.close()
    bus.close()


async def test_async_handler_runs_on_the_loop_and_answers_when_done() -> None:
    bus = EventBus()
    runner = TaskRunner(bus)
    gate = asyncio.Event()
    calls: list[str] = []

    async def collect(call: ActionCall) -> None:
        calls.append(call.task)
        call.progress("acc", 0, 1)
        await gate.wait()
        call.progress("acc", 1, 1)

    subscribe_action(bus, runner.registry, "collect", collect, "async-collector")
    run = runner.run("collect")
    assert run is not None
    await asyncio.sleep(0)
    assert run.active and run.current_step == "collect" and calls == [run.id]
    gate.set()
    finished = await asyncio.wait_for(runner.wait(run), timeout=5)
    assert finished.status is TaskStatus.done
    assert run.progress.step_percentage("collect") == 100
    runner.close()
    bus.close()


async def test_action_abort_cancels_a_running_async_handler() -> None:
    bus = EventBus()
    runner = TaskRunner(bus)
    cancelled = asyncio.Event()

    async def forever(call: ActionCall) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    subscribe_action(bus, runner.registry, "collect", forever, "stuck")
    run = runner.run("collect")
    assert run is not None
    await asyncio.sleep(0)
    runner.stop(run.id)
    await asyncio.wait_for(cancelled.wait(), timeout=5)
    assert run.status is TaskStatus.stopped
    runner.close()
    bus.close()
