"""Actions through consumer groups: one connection each, redelivery when unanswered, acks across servers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from resoto_rx import Action, EventBus, Message
from resoto_rx.backends import RedisStreamsTransport
from resoto_rx.workflows import PerformAction, Step, TaskRun, TaskRunner, TaskStatus, Workflow, subscribe_action
from resoto_rx.workflows.worker import ActionCall
from tests.backends.helpers import until


def _workflow(timeout: float = 30) -> Workflow:
    return Workflow("wf", [Step("work", PerformAction("work"), timedelta(seconds=timeout))])


def _transport(bus: EventBus) -> RedisStreamsTransport:
    assert isinstance(bus.transport, RedisStreamsTransport)
    return bus.transport


async def _finished(runner: TaskRunner, task: TaskRun | None) -> TaskRun:
    assert task is not None
    await until(lambda: not task.active, f"run {task.id} to end")
    return task


async def test_each_action_goes_to_one_connection_and_is_acknowledged_across_servers(
    make_server: Callable[..., EventBus],
) -> None:
    engine, worker_a, worker_b = make_server(name="engine"), make_server(name="a"), make_server(name="b")
    runner = TaskRunner(engine, workflows=[_workflow()])
    # These buses have no RegistryMirror (a bare transport), so the engine registers the worker itself.
    runner.registry.add_subscription("collector", "work", timeout=timedelta(seconds=30))
    calls: list[tuple[str, str]] = []
    for name, bus in (("a", worker_a), ("b", worker_b)):
        runner_of_worker = TaskRunner(bus, workflows=[])

        def handle(call: ActionCall, name: str = name) -> None:
            calls.append((name, call.task))

        subscribe_action(bus, runner_of_worker.registry, "work", handle, "collector", timeout=30)
    runs = [await _finished(runner, runner.run("wf")) for _ in range(4)]
    assert [r.status for r in runs] == [TaskStatus.done] * 4
    assert [r.steps[0].answered for r in runs] == [["collector"]] * 4
    assert not any(r.steps[0].timed_out for r in runs)
    assert sorted(task for _, task in calls) == sorted(r.id for r in runs)  # exactly once each


async def test_an_unanswered_action_is_redelivered_to_another_connection(
    make_server: Callable[..., EventBus],
) -> None:
    engine, silent, healthy = make_server(name="engine"), make_server(name="silent"), make_server(name="healthy")
    runner = TaskRunner(engine, workflows=[_workflow(timeout=30)])
    runner.registry.add_subscription("collector", "work", timeout=timedelta(seconds=0.3))
    received: list[Message] = []  # a connection that takes the action and never answers (hung, or dead)
    _transport(silent).actions_for("collector", "work", 0.3).subscribe(received.append)
    task = runner.run("wf")
    await until(lambda: len(received) == 1, "the action at the silent connection")
    answered: list[Action] = []
    subscribe_action(
        healthy,
        TaskRunner(healthy, workflows=[]).registry,
        "work",
        lambda c: answered.append(c.action),
        "collector",
        timeout=0.3,
    )
    run = await _finished(runner, task)
    assert run.status is TaskStatus.done and run.steps[0].answered == ["collector"]
    assert not run.steps[0].timed_out  # answered by the redelivery, long before the step's 30 s
    assert [a.id for a in answered] == [received[0].id]  # the same message, same id, delivered again


async def test_cross_server_ack_of_a_step(make_server: Callable[..., EventBus]) -> None:
    server_a, server_b = make_server(name="a"), make_server(name="b")
    runner = TaskRunner(server_a, workflows=[_workflow()])
    runner.registry.add_subscription("remote-worker", "work")
    subscribe_action(server_b, TaskRunner(server_b, workflows=[]).registry, "work", lambda c: None, "remote-worker")
    run = await _finished(runner, runner.run("wf"))
    assert run.status is TaskStatus.done and run.steps[0].answered == ["remote-worker"]
