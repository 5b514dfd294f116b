"""A triggered workflow runs once, whichever of the servers sharing the bus sees the trigger first."""

from __future__ import annotations

from collections.abc import Callable

from resoto_rx import EventBus, Message
from resoto_rx.backends import RedisStreamsTransport
from resoto_rx.workflows import EmitEvent, EventTrigger, Step, TaskRunner, Workflow
from tests.backends.helpers import until


async def test_a_trigger_starts_one_run_across_two_runners(make_server: Callable[..., EventBus]) -> None:
    workflow = Workflow("wf", [Step("s", EmitEvent("did"))], [EventTrigger("go")])
    buses = [make_server(name="a"), make_server(name="b")]
    decided: list[tuple[str, bool]] = []
    runners = []
    for bus in buses:
        runner = TaskRunner(bus, workflows=[workflow])
        transport = bus.transport
        assert isinstance(transport, RedisStreamsTransport)

        async def claim(workflow_id: str, key: str, claim: Callable[..., object] = transport.backend.claim) -> bool:
            won = bool(await claim(workflow_id, key))  # type: ignore[misc]
            decided.append((key, won))
            return won

        runner.may_start = claim
        runners.append(runner)
    seen: list[Message] = []
    buses[1].listen("task_started", "task_end", "go", "sentinel").subscribe(seen.append)
    for _ in range(3):
        buses[0].emit("go")
    await until(lambda: len(decided) == 6, "both servers deciding three claims")
    await until(lambda: sum(m.message_type == "task_end" for m in seen) == 3, "three runs to end")
    # A claim is decided before the run it allows starts, so wait for the runs first; a sentinel sent
    # after them then proves, by the stream's order, that no further run follows.
    buses[0].emit("sentinel")
    await until(lambda: bool(seen) and seen[-1].message_type == "sentinel", "the sentinel")
    for key in {k for k, _ in decided}:
        assert sorted(won for k, won in decided if k == key) == [False, True], key
    assert sum(m.message_type == "task_started" for m in seen) == 3
    assert sum(len(r.finished) for r in runners) == 3
    for runner in runners:
        runner.close()
