"""``TaskRunner.may_start``: the seam that lets one of several servers start a triggered run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from reactivex.testing import TestScheduler

from resoto_rx import EventBus, Message
from resoto_rx.workflows import EmitEvent, EventTrigger, Step, TaskRunner, TimeTrigger, Workflow


def _workflow() -> Workflow:
    return Workflow("wf", [Step("s", EmitEvent("did"))], [EventTrigger("go"), TimeTrigger("0 * * * *")])


def test_triggers_ask_may_start_with_a_key_every_server_derives_alike() -> None:
    asked: list[tuple[str, str]] = []

    def may_start(workflow: str, key: str) -> bool:
        asked.append((workflow, key))
        return len(asked) != 2  # the second trigger was claimed by another server

    scheduler = TestScheduler()
    with EventBus(loop=asyncio.new_event_loop()) as bus:
        started: list[Message] = []
        gos: list[Message] = []
        bus.listen("task_started").subscribe(started.append)
        bus.listen("go").subscribe(gos.append)
        runner = TaskRunner(bus, scheduler=scheduler, workflows=[_workflow()])
        runner.may_start = may_start
        bus.emit("go")
        bus.emit("go")
        scheduler.advance_by(timedelta(hours=1))  # the cron slot 01:00
        runner.run("wf")  # a manual run is this server's own: never asked
        assert asked == [
            ("wf", f"event:{gos[0].id}"),
            ("wf", f"event:{gos[1].id}"),
            ("wf", "time:1970-01-01T01:00:00+00:00"),
        ]
        assert len(started) == 3  # first go, cron, manual
        runner.close()
        bus.loop.close()


async def test_an_awaitable_answer_starts_the_run_when_it_arrives() -> None:
    gate: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    with EventBus() as bus:
        runner = TaskRunner(bus, workflows=[_workflow()])
        runner.may_start = lambda workflow, key: gate
        bus.emit("go")
        assert runner.running() == [] and not runner.finished
        gate.set_result(True)
        await asyncio.sleep(0)
        assert [t.workflow.id for t in runner.finished] == ["wf"]
        assert runner.finished[0].trigger.message_type == "go"
        runner.close()


async def test_a_failing_claim_starts_nothing() -> None:
    async def broken(workflow: str, key: str) -> bool:
        raise RuntimeError("claim store down")

    with EventBus() as bus:
        runner = TaskRunner(bus, workflows=[_workflow()])
        runner.may_start = broken
        bus.emit("go")
        for _ in range(3):
            await asyncio.sleep(0)
        assert runner.running() == [] and not runner.finished
        runner.close()
