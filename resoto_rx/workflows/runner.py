"""The TaskRunner: starts workflows on triggers, runs each task as an Observable, keeps run history.

A task is ``concat(step_1, ..., step_n)`` (see ``steps.py``), cut after a step that failed with
``on_error=Stop``, wrapped by ``task_started`` / ``task_end`` events. Triggers are bus events
(``EventTrigger``) and cron schedules (``TimeTrigger``) on the runner's scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import SerialDisposable
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import Subject

from resoto_rx.bus import EventBus
from resoto_rx.errors import UnknownIdError
from resoto_rx.frames import typed_frame
from resoto_rx.messages import Action, CoreEvent, Event, Json, Message
from resoto_rx.workflows.builtin import builtin_workflows
from resoto_rx.workflows.graph_merge import GraphMergeTracker
from resoto_rx.workflows.model import EventTrigger, PerformAction, Surpass, TimeTrigger, Workflow
from resoto_rx.workflows.progress import TaskProgress
from resoto_rx.workflows.steps import StepRun, step_observable
from resoto_rx.workflows.subscribers import SubscriberRegistry

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


class UnknownWorkflowError(UnknownIdError):
    """No workflow with that id; the message lists the known ones."""


class TaskStatus(Enum):
    running = "running"
    done = "done"
    failed = "failed"
    stopped = "stopped"


@dataclass
class TaskRun:
    """One run of a workflow: running while ``status`` is ``running``, then kept as history."""

    id: str
    workflow: Workflow
    reason: str
    started_at: datetime
    progress: TaskProgress
    status: TaskStatus = TaskStatus.running
    finished_at: datetime | None = None
    current_step: str | None = None
    error: str | None = None
    steps: list[StepRun] = field(default_factory=list)
    timing: Json = field(default_factory=dict)
    """The previous run's step timing, sent with every action of this run (PROTOCOL.md §3)."""
    trigger: Any = None
    """What started this run: the triggering event, the item a reactive job delivered, or None (time, manual)."""

    @property
    def active(self) -> bool:
        return self.status is TaskStatus.running

    def summary(self) -> Json:
        return {
            "task_id": self.id,
            "workflow": self.workflow.id,
            "reason": self.reason,
            "status": self.status.value,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "current_step": self.current_step,
            "progress": self.progress.percentage(),
            "error": self.error,
        }


class TaskRunner:
    """Runs workflows on a bus.

    >>> bus = EventBus()
    >>> runner = TaskRunner(bus)
    >>> run = runner.run("metrics")        # no subscribers: every step finishes at once
    >>> run.status.value, [s.name for s in run.steps][:2]
    ('done', ['pre_generate_metrics', 'generate_metrics'])
    """

    def __init__(
        self,
        bus: EventBus,
        registry: SubscriberRegistry | None = None,
        scheduler: abc.SchedulerBase | None = None,
        workflows: Iterable[Workflow] | None = None,
        merges: GraphMergeTracker | None = None,
        keep_runs: int = 1000,
    ) -> None:
        self.bus = bus
        self.registry = registry or SubscriberRegistry()
        self.scheduler: abc.SchedulerBase = scheduler or AsyncIOScheduler(bus.loop)
        self.merges = merges or GraphMergeTracker(bus)
        self.workflows: dict[str, Workflow] = {}
        self.tasks: dict[str, TaskRun] = {}
        self.finished: deque[TaskRun] = deque(maxlen=keep_runs)
        self._subscriptions: dict[str, abc.DisposableBase] = {}
        self._schedules: dict[str, SerialDisposable] = {}
        self._queued: dict[str, tuple[str, Any]] = {}  # workflow id -> (reason, trigger) of the one waiting run
        self._ended: Subject[TaskRun] = Subject()
        self._event_triggers: dict[str, list[tuple[str, EventTrigger]]] = {}  # message_type -> (workflow, trigger)
        self.may_start: Callable[[str, str], bool | Awaitable[bool]] | None = None
        """Asked ``(workflow id, trigger key)`` before a trigger (event or cron) starts a run. Servers
        sharing a bus each see every trigger: claiming the run here lets exactly one of them start it
        (``RedisBackend.claim``). The key names the trigger alike on every server:
        ``event:<message id>`` or ``time:<scheduled ISO time>``."""
        self._triggers = bus.listen().subscribe(self._on_message)
        for workflow in workflows if workflows is not None else builtin_workflows():
            self.add_workflow(workflow)

    # ---------------------------------------------------------- workflows
    def add_workflow(self, workflow: Workflow) -> None:
        """Add or replace a workflow and (re)register its cron triggers."""
        self.workflows[workflow.id] = workflow
        self._index_triggers()
        if (old := self._schedules.pop(workflow.id, None)) is not None:
            old.dispose()
        for trigger in workflow.triggers:
            if isinstance(trigger, TimeTrigger):
                schedule = SerialDisposable()
                self._schedules[workflow.id] = schedule
                self._schedule_next(workflow.id, trigger, schedule)

    def remove_workflow(self, workflow_id: str) -> Workflow:
        """Forget ``workflow_id``: its triggers, its schedule and a run queued behind a running one
        (running runs go on; stop them with ``stop``)."""
        workflow = self.workflow(workflow_id)
        del self.workflows[workflow_id]
        self._queued.pop(workflow_id, None)
        self._index_triggers()
        if (schedule := self._schedules.pop(workflow_id, None)) is not None:
            schedule.dispose()
        return workflow

    def _index_triggers(self) -> None:
        index: dict[str, list[tuple[str, EventTrigger]]] = {}
        for workflow in self.workflows.values():
            for trigger in workflow.triggers:
                if isinstance(trigger, EventTrigger):
                    index.setdefault(trigger.message_type, []).append((workflow.id, trigger))
        self._event_triggers = index

    def workflow(self, workflow_id: str) -> Workflow:
        try:
            return self.workflows[workflow_id]
        except KeyError:
            known = ", ".join(sorted(self.workflows)) or "none"
            raise UnknownWorkflowError(f"unknown workflow {workflow_id!r}; known workflows: {known}") from None

    def _schedule_next(self, workflow_id: str, trigger: TimeTrigger, schedule: SerialDisposable) -> None:
        fire_at = trigger.next_after(self.scheduler.now)

        def fire(_: abc.SchedulerBase, __: Any = None) -> None:
            if self.workflows.get(workflow_id) is None:
                return
            self._schedule_next(workflow_id, trigger, schedule)
            self._triggered(workflow_id, "time", None, f"time:{fire_at.isoformat()}")

        schedule.disposable = self.scheduler.schedule_absolute(fire_at, fire)

    def next_run_at(self, workflow_id: str) -> datetime | None:
        """When the cron trigger of ``workflow_id`` fires next (None without one)."""
        for trigger in self.workflow(workflow_id).triggers:
            if isinstance(trigger, TimeTrigger):
                return trigger.next_after(self.scheduler.now)
        return None

    # -------------------------------------------------------------- tasks
    def run(self, workflow_id: str, reason: str = "manual", trigger: Any = None) -> TaskRun | None:
        """Start ``workflow_id`` now, honouring its surpass behaviour; ``trigger`` becomes ``TaskRun.trigger``.

        Returns the new run, or the running one when the trigger was queued (``Wait``) or skipped
        (``Skip``), or None when skipped with nothing running to return.
        """
        workflow = self.workflow(workflow_id)
        running = [t for t in self.tasks.values() if t.workflow.id == workflow_id]
        if running:
            if workflow.on_surpass is Surpass.Skip:
                log.info("workflow %s triggered (%s) while running: skipped", workflow_id, reason)
                return running[0]
            if workflow.on_surpass is Surpass.Wait:
                log.info("workflow %s triggered (%s) while running: queued", workflow_id, reason)
                self._queued[workflow_id] = (reason, trigger)
                return running[0]
            if workflow.on_surpass is Surpass.Replace:
                for task in running:
                    self._end(task, TaskStatus.failed, "replaced by a new run")
        return self._start(workflow, reason, trigger)

    def _start(self, workflow: Workflow, reason: str, trigger: Any = None) -> TaskRun:
        task = TaskRun(
            id=str(uuid.uuid4()),
            workflow=workflow,
            reason=reason,
            started_at=self.scheduler.now,
            progress=TaskProgress(workflow.id, [s.name for s in workflow.steps]),
            timing=self.last_timing(workflow.id),  # once per run, not once per action
            trigger=trigger,
        )
        self.tasks[task.id] = task
        self.bus.emit(CoreEvent.TASK_STARTED, {"task": workflow.id, "task_id": task.id, "reason": reason})
        pipeline: Observable[StepRun] = reactivex.concat(
            *(step_observable(self, task, step) for step in workflow.steps)
        ).pipe(ops.take_while(_not_failed, inclusive=True))
        subscription = SerialDisposable()
        self._subscriptions[task.id] = subscription
        subscription.disposable = pipeline.subscribe(
            on_next=lambda step_run: self.publish_progress(task),
            on_error=lambda err: self._end(task, TaskStatus.failed, f"{type(err).__name__}: {err}"),
            on_completed=lambda: self._completed(task),
        )
        return task

    def _completed(self, task: TaskRun) -> None:
        failed = [s for s in task.steps if s.failed]
        if failed:
            self._end(task, TaskStatus.failed, f"step {failed[0].name} failed: {'; '.join(failed[0].errors)}")
        else:
            self._end(task, TaskStatus.done, None)

    def stop(self, task_id: str) -> TaskRun | None:
        """Stop a running task: the running action step sends ``action_abort``; ``task_end`` reports it."""
        task = self.tasks.get(task_id)
        if task is None:
            return None
        self._end(task, TaskStatus.stopped, "stopped")
        return task

    def _end(self, task: TaskRun, status: TaskStatus, error: str | None) -> None:
        if not task.active:
            return
        task.status, task.error, task.finished_at = status, error, self.scheduler.now
        self.tasks.pop(task.id, None)
        if (subscription := self._subscriptions.pop(task.id, None)) is not None:
            subscription.dispose()  # a step still running sends action_abort
        self.finished.append(task)
        if not self.bus.closed:
            self.publish_progress(task)
            end: Json = {"task_id": task.id, "descriptor_id": task.workflow.id, "success": status is TaskStatus.done}
            if error is not None:
                end["error"] = error
            self.bus.emit(CoreEvent.TASK_END, end)
        self._ended.on_next(task)
        if (queued := self._queued.pop(task.workflow.id, None)) is not None and task.workflow.id in self.workflows:
            self._start(self.workflows[task.workflow.id], *queued)

    @property
    def ended(self) -> Observable[TaskRun]:
        """Every run as it ends (done, failed or stopped)."""
        return self._ended

    async def wait(self, task: TaskRun) -> TaskRun:
        """Wait until ``task`` has ended (also the run queued behind it is not waited for)."""
        if not task.active:
            return task
        future: asyncio.Future[TaskRun] = asyncio.get_running_loop().create_future()

        def resolve(ended: TaskRun) -> None:
            if not future.done():
                future.set_result(ended)

        subscription = self._ended.pipe(ops.filter(lambda t: t is task), ops.take(1)).subscribe(resolve)
        try:
            return await future
        finally:
            subscription.dispose()

    def running(self) -> list[TaskRun]:
        return list(self.tasks.values())

    def pending_actions_for(self, subscriber_id: str) -> list[Action]:
        """Actions of running tasks that wait for an answer of ``subscriber_id`` (sent first on connect)."""
        pending = []
        for task in self.tasks.values():
            step = next((s for s in task.workflow.steps if s.name == task.current_step), None)
            current = task.steps[-1] if task.steps else None
            if step is None or current is None or current.finished_at is not None:
                continue
            waiting = subscriber_id in current.waited_for and subscriber_id not in current.answered
            if isinstance(step.action, PerformAction) and waiting:
                data = {"timing": task.timing}
                pending.append(Action(step.action.message_type, data, task=task.id, step=step.name))
        return pending

    # ------------------------------------------------------------ events
    def _on_message(self, message: Message) -> None:
        triggers = self._event_triggers.get(message.message_type)
        if not triggers or not isinstance(message, Event):
            return
        started: set[str] = set()
        for workflow_id, trigger in triggers:
            if workflow_id not in started and trigger.matches(message) and not about_own_run(workflow_id, message):
                started.add(workflow_id)
                self._triggered(workflow_id, "event", message, f"event:{message.id}")

    def _triggered(self, workflow_id: str, reason: str, trigger: Any, key: str) -> None:
        allowed = True if self.may_start is None else self.may_start(workflow_id, key)
        if isinstance(allowed, bool):
            if allowed:
                self.run(workflow_id, reason=reason, trigger=trigger)
            return

        def decided(answer: asyncio.Future[bool]) -> None:
            if answer.cancelled():
                return
            if (error := answer.exception()) is not None:
                log.error("may_start(%s, %s) failed: not started", workflow_id, key, exc_info=error)
            elif answer.result() and workflow_id in self.workflows and not self.bus.closed:
                self.run(workflow_id, reason=reason, trigger=trigger)

        asyncio.ensure_future(allowed, loop=self.bus.loop).add_done_callback(decided)

    def publish_progress(self, task: TaskRun) -> None:
        self.bus.emit(
            CoreEvent.PROGRESS, {"workflow": task.workflow.id, "task": task.id, "message": task.progress.to_json()}
        )

    def publish_error(self, task: TaskRun, message: str) -> None:
        self.bus.emit(CoreEvent.ERROR, {"workflow": task.workflow.id, "task": task.id, "message": message})

    def last_timing(self, workflow_id: str) -> Json:
        """``{step: {"started_at", "finished_at"}}`` (epoch seconds) of the previous run of ``workflow_id``."""
        for task in reversed(self.finished):
            if task.workflow.id == workflow_id:
                return {
                    s.name: {"started_at": s.started_at.timestamp(), "finished_at": s.finished_at.timestamp()}
                    for s in task.steps
                    if s.started_at is not None and s.finished_at is not None
                }
        return {}

    # ----------------------------------------------------------- history
    def runs_frame(self) -> pd.DataFrame:
        """Finished and running tasks, one row each."""
        rows = [
            {**t.summary(), "started_at": t.started_at, "finished_at": t.finished_at}
            for t in (*self.finished, *self.tasks.values())
        ]
        return typed_frame(
            rows, _SUMMARY_COLUMNS, times=("started_at", "finished_at"), categories=("workflow", "status")
        )

    def steps_frame(self) -> pd.DataFrame:
        """One row per step of every kept run: timing, who was waited for, who answered, errors."""

        rows = []
        for task in (*self.finished, *self.tasks.values()):
            for s in task.steps:
                rows.append(
                    {
                        "task_id": task.id,
                        "workflow": task.workflow.id,
                        "step": s.name,
                        "started_at": s.started_at,
                        "finished_at": s.finished_at,
                        "duration_s": s.duration.total_seconds() if s.duration is not None else None,
                        "waited_for": list(s.waited_for),
                        "answered": list(s.answered),
                        "errors": list(s.errors),
                        "timed_out": s.timed_out,
                        "failed": s.failed,
                    }
                )
        return typed_frame(
            rows,
            _STEP_COLUMNS,
            times=("started_at", "finished_at"),
            floats=("duration_s",),
            categories=("workflow", "step"),
        )

    def close(self) -> None:
        """Stop every running task, every schedule and the trigger subscription."""
        for task in list(self.tasks.values()):
            self._end(task, TaskStatus.stopped, "runner closed")
        for schedule in self._schedules.values():
            schedule.dispose()
        self._schedules.clear()
        self._triggers.dispose()
        self._ended.on_completed()


def about_own_run(workflow_id: str, message: Message) -> bool:
    """True for the bookkeeping events of a run of ``workflow_id`` itself (task_started, progress, error,
    task_end). A workflow or job triggered by, say, every ``task_end`` must not be triggered by the end
    of its own run: each run would start the next one, forever."""
    data = message.data
    if message.message_type == CoreEvent.TASK_STARTED:
        return data.get("task") == workflow_id
    if message.message_type == CoreEvent.TASK_END:
        return data.get("descriptor_id") == workflow_id
    if message.message_type in (CoreEvent.PROGRESS, CoreEvent.ERROR):
        return data.get("workflow") == workflow_id
    return False


def _not_failed(step_run: StepRun) -> bool:
    return not step_run.failed


_SUMMARY_COLUMNS = (
    *("task_id", "workflow", "reason", "status", "started_at", "finished_at", "current_step", "progress", "error"),
)
_STEP_COLUMNS = (
    *("task_id", "workflow", "step", "started_at", "finished_at", "duration_s"),
    *("waited_for", "answered", "errors", "timed_out", "failed"),
)
