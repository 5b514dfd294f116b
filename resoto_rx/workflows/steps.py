"""Each kind of step as an Observable that emits one :class:`StepRun` and completes.

An action step subscribes to the replies first, then publishes the action, and completes when every
blocking subscriber present at that moment has answered (done or error), or at its timeout. Time
enters only through the scheduler, so tests run the whole engine in virtual time.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from resoto_rx.messages import (
    Action,
    ActionAbort,
    ActionDone,
    ActionError,
    ActionInfo,
    ActionProgress,
    Event,
    Message,
)
from resoto_rx.workflows.model import (
    EmitEvent,
    Execute,
    OnError,
    PerformAction,
    Step,
    WaitForEvent,
    WaitForGraphMerge,
)
from resoto_rx.workflows.subscribers import RegistryChange

if TYPE_CHECKING:
    from resoto_rx.workflows.runner import TaskRun, TaskRunner

from resoto_rx.workflows.graph_merge import GRAPH_MERGE_COMPLETED


@dataclass
class StepRun:
    """What happened in one step of one run."""

    name: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    waited_for: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    timed_out: bool = False
    failed: bool = False  # an error or timeout that stops the task (on_error=Stop)
    received: Message | None = None  # the event a WaitForEvent step received
    result: Any = None  # what an Execute step's call returned

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


def step_observable(runner: TaskRunner, task: TaskRun, step: Step) -> Observable[StepRun]:
    """The Observable of ``step`` within ``task``: subscribing starts the step."""

    def subscribe(observer: abc.ObserverBase[StepRun], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        return _StepExecution(runner, task, step, observer).start()

    return reactivex.create(subscribe)


class _StepExecution:
    """The state of one running step; lives from subscribe until it emits its StepRun or is disposed."""

    def __init__(self, runner: TaskRunner, task: TaskRun, step: Step, observer: abc.ObserverBase[StepRun]) -> None:
        self.runner = runner
        self.task = task
        self.step = step
        self.observer = observer
        self.run = StepRun(step.name)
        self.pending: set[str] = set()
        self.resources = CompositeDisposable()
        self.finished = False
        self.timeout = step.timeout

    def start(self) -> abc.DisposableBase:
        bus, action = self.runner.bus, self.step.action
        self.run.started_at = self.runner.scheduler.now
        self.task.current_step = self.step.name
        self.task.steps.append(self.run)
        timeout = self.step.timeout
        if isinstance(action, PerformAction):
            blocking = self.runner.registry.blocking(action.message_type)
            self.pending = set(blocking)
            self.run.waited_for = list(blocking)
            timeout = max([timeout, *blocking.values()])
            self._listen(bus.listen(action.message_type), self._on_reply)
            self._listen(self.runner.registry.changes, self._on_registry_change)
        elif isinstance(action, WaitForEvent):
            self._listen(bus.listen(action.message_type), self._on_event)
        elif isinstance(action, WaitForGraphMerge):
            self._listen(bus.listen(GRAPH_MERGE_COMPLETED), self._on_merge)
        if not isinstance(action, EmitEvent):
            self.timeout = timeout
            self.resources.add(self.runner.scheduler.schedule_relative(timeout, lambda *_: self._on_timeout()))

        if isinstance(action, PerformAction):
            data = {"timing": self.task.timing}
            bus.emit(Action(action.message_type, data, task=self.task.id, step=self.step.name))
            if not self.pending:
                self._finish()
        elif isinstance(action, EmitEvent):
            bus.emit(Event(action.message_type, action.data))
            self._finish()
        elif isinstance(action, WaitForGraphMerge) and self.runner.merges.running(self.task.id) == 0:
            self._finish()
        elif isinstance(action, Execute):
            self._execute(action)
        return Disposable(self._dispose)

    def _execute(self, action: Execute) -> None:
        received = [s.received for s in self.task.steps if s.received is not None]
        item = received[-1] if received else self.task.trigger
        try:
            outcome = action.call(item)
        except Exception as err:  # noqa: BLE001  (a failing body is a step error, never the runner's)
            self._failed(err)
            return
        if not inspect.isawaitable(outcome):
            self.run.result = outcome
            self._finish()
            return
        future = asyncio.ensure_future(outcome, loop=self.runner.bus.loop)

        def cancel() -> None:  # the step timed out or the task was stopped: the body must not go on
            future.cancel()

        self.resources.add(Disposable(cancel))
        future.add_done_callback(self._on_executed)

    def _on_executed(self, future: asyncio.Future[Any]) -> None:
        error = None if future.cancelled() else future.exception()  # always retrieved: no "never retrieved" logs
        if self.finished:
            return
        if future.cancelled():
            self._failed(asyncio.CancelledError("the body was cancelled"))
        elif error is not None:
            self._failed(error)
        else:
            self.run.result = future.result()
            self._finish()

    def _failed(self, err: BaseException) -> None:
        text = f"{type(err).__name__}: {err}"
        self.run.errors.append(text)
        self.runner.publish_error(self.task, text)
        if self.step.on_error is OnError.Stop:
            self.run.failed = True
        self._finish()

    def _listen(self, source: Observable[Any], on_next: Callable[[Any], None]) -> None:
        self.resources.add(source.subscribe(on_next))

    # ------------------------------------------------------------ inputs
    def _on_reply(self, message: Message) -> None:
        if not isinstance(message, ActionDone | ActionError | ActionInfo | ActionProgress):
            return
        if message.task != self.task.id or message.step != self.step.name:
            return
        sender = message.subscriber_id
        if isinstance(message, ActionProgress):
            self.task.progress.report(self.step.name, message.progress)
            self.runner.publish_progress(self.task)
        elif isinstance(message, ActionInfo):
            self.run.infos.append(f"{sender}: {message.level}: {message.message}")
            if message.level == "error":
                self.runner.publish_error(self.task, message.message)
        elif isinstance(message, ActionDone):
            self._answered(sender)
        else:
            self.run.errors.append(f"{sender}: {message.error}")
            self.runner.publish_error(self.task, message.error)
            if self.step.on_error is OnError.Stop:
                self.run.failed = True
                self._finish()
            else:
                self._answered(sender)

    def _answered(self, sender: str) -> None:
        if sender not in self.run.answered:
            self.run.answered.append(sender)
        self.pending.discard(sender)
        if not self.pending:
            self._finish()

    def _on_registry_change(self, change: RegistryChange) -> None:
        assert isinstance(self.step.action, PerformAction)
        subscription = change.subscriber.subscriptions.get(self.step.action.message_type) if change.subscriber else None
        if change.subscriber_id in self.pending and (subscription is None or not subscription.wait_for_completion):
            # A subscriber that went away is dropped from the wait (PROTOCOL.md §3).
            self.pending.discard(change.subscriber_id)
            if not self.pending:
                self._finish()

    def _on_event(self, message: Message) -> None:
        assert isinstance(self.step.action, WaitForEvent)
        if isinstance(message, Event) and self.step.action.matches(message):
            self.run.received = message
            self._finish()

    def _on_merge(self, message: Message) -> None:
        if message.data.get("task_id") == self.task.id:
            self._finish()

    def _on_timeout(self) -> None:
        if self.finished:
            return
        self.run.timed_out = True
        self.run.errors.append(f"timed out after {self.timeout.total_seconds():g}s" + self._missing())
        if isinstance(self.step.action, Execute):  # a body that hangs is a failing body: say so on the bus
            self.runner.publish_error(self.task, f"step {self.step.name} {self.run.errors[-1]}")
        if self.step.on_error is OnError.Stop:
            self.run.failed = True
        self._finish()

    def _missing(self) -> str:
        return f" waiting for {', '.join(sorted(self.pending))}" if self.pending else ""

    # ----------------------------------------------------------- outputs
    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.run.finished_at = self.runner.scheduler.now
        self.task.progress.finish_step(self.step.name)
        self.resources.dispose()
        self.observer.on_next(self.run)
        self.observer.on_completed()

    def _dispose(self) -> None:
        if self.finished:
            return
        # The task was stopped while this step was running.
        self.finished = True
        self.run.finished_at = self.runner.scheduler.now
        self.resources.dispose()
        if isinstance(self.step.action, PerformAction) and not self.runner.bus.closed:
            self.runner.bus.emit(ActionAbort(self.step.action.message_type, task=self.task.id, step=self.step.name))
