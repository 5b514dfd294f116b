"""The JobRegistry: Resoto's ``jobs`` verbs over the task runner, command jobs kept in the store.

Every change is checked completely before anything is touched, so bad input (unknown id, duplicate
id, wrong body, bad cron, a Python job on the persist path) raises and changes nothing.
A failing body never reaches the runner or the bus: it ends its own run with an error, which shows
as an ``error`` event, a ``task_end`` with ``success: false`` and a row in :meth:`JobRegistry.history`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import SerialDisposable

from resoto_rx.documents import DocumentTable
from resoto_rx.frames import typed_frame
from resoto_rx.jobs.bodies import Emit, FrameView, JobDefinitionError, PythonCall, RxChain, ShellCommand
from resoto_rx.jobs.model import Job
from resoto_rx.jobs.shell import run_shell
from resoto_rx.messages import Event, Message
from resoto_rx.store import SQLiteStore
from resoto_rx.workflows.model import EventTrigger, TimeTrigger
from resoto_rx.workflows.runner import TaskRun, TaskRunner, UnknownWorkflowError, about_own_run

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


class UnknownJobError(UnknownWorkflowError):
    """No job with that id; the message lists the known ones (a job runs as a workflow of its id)."""


class ChainFailure(Exception):
    """The operator chain of a reactive job raised; the run it becomes fails with this error."""


class JobRegistry:
    """Jobs on a :class:`TaskRunner`: ``add``, ``update``, ``delete``, ``activate``, ``deactivate``, ``run``,
    ``running``, ``list``, ``show``, and the run history as a DataFrame.

    >>> jobs = JobRegistry(runner)                                       # doctest: +SKIP
    >>> jobs.add(Job("hi", "echo hello", TimeTrigger("*/5 * * * *")))    # doctest: +SKIP

    Args:
        runner: runs the jobs (each job is a workflow there, with the job's id).
        store: keeps the command jobs' definitions (table ``jobs``); they are loaded again on start.
    """

    def __init__(self, runner: TaskRunner, store: SQLiteStore | None = None) -> None:
        self.runner = runner
        self.bus = runner.bus
        self._table = DocumentTable(store, "jobs")
        self._jobs: dict[str, Job] = {}
        self._chains: dict[str, abc.DisposableBase] = {}
        self._bodies: set[asyncio.Future[Any]] = set()
        for stored in self._table.all():
            try:
                job = Job.from_json(stored.content)
                self._check_free(job.id)
            except (JobDefinitionError, ValueError) as err:
                log.error("stored job %r not loaded: %s", stored.id, err)
                continue
            self._install(job)

    # ---------------------------------------------------------------- verbs
    def add(self, job: Job, persist: bool | None = None) -> Job:
        """Add a new job and register its trigger (if active).

        ``persist``: None keeps command jobs in the store and others in memory; True requires a
        command job; False keeps it in memory only.
        """
        self._check_job(job)
        if job.id in self._jobs:
            raise JobDefinitionError(f"job {job.id!r} exists already; use update() to change it or another id")
        self._check_free(job.id)
        self._save(job, persist)
        self._install(job)
        return job

    def update(self, job: Job, persist: bool | None = None) -> Job:
        """Replace the job with ``job.id``; a running run of the old definition goes on to its end.

        ``persist`` as in ``add``; None keeps the job where it was (stored or in memory only)."""
        self._check_job(job)
        self.show(job.id)
        self._save(job, self._stored(job.id) if persist is None else persist)
        self._uninstall(job.id)
        self._install(job)
        return job

    def delete(self, job_id: str) -> Job:
        """Remove a job: its trigger, its stored definition, and its running runs (stopped)."""
        job = self.show(job_id)
        running = self.running(job_id)
        self._table.delete(job_id)
        self._uninstall(job_id)
        self.runner.remove_workflow(job_id)  # before stopping: a run queued behind them must not start
        for task in running:
            self.runner.stop(task.id)
        return job

    def activate(self, job_id: str) -> Job:
        """Register the job's trigger again."""
        return self._set_active(job_id, True)

    def deactivate(self, job_id: str) -> Job:
        """Unregister the job's trigger; ``run(job_id)`` still runs it."""
        return self._set_active(job_id, False)

    def run(self, job_id: str, trigger: Any = None) -> TaskRun | None:
        """Run the job now (honouring its surpass behaviour); the body gets ``trigger``.

        Returns the new run, or the running one when this run was queued (``Wait``) or skipped.
        """
        self.show(job_id)
        return self.runner.run(job_id, reason="manual", trigger=trigger)

    def running(self, job_id: str | None = None) -> list[TaskRun]:
        """The runs going on now (of one job, or of every job)."""
        wanted = self._jobs.keys() if job_id is None else {self.show(job_id).id}
        return [t for t in self.runner.running() if t.workflow.id in wanted]

    def list(self) -> list[Job]:
        """Every job, by id."""
        return [self._jobs[job_id] for job_id in sorted(self._jobs)]

    def show(self, job_id: str) -> Job:
        """The job ``job_id``."""
        try:
            return self._jobs[job_id]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self._jobs)) or "none"
            raise UnknownJobError(f"no job with id {job_id!r}; known jobs: {known}") from None

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    # -------------------------------------------------------------- history
    def history(self, job_id: str | None = None) -> pd.DataFrame:
        """Kept runs of jobs (finished and running), one row each: status, timing, error, the body's result.

        The runner keeps its last ``keep_runs`` runs of all workflows and jobs together.
        """

        wanted = set(self._jobs) if job_id is None else {self.show(job_id).id}
        rows = []
        for task in (*self.runner.finished, *self.runner.tasks.values()):
            if task.workflow.id not in wanted:
                continue
            execute = next((s for s in task.steps if s.name == "execute"), None)
            finished = task.finished_at
            rows.append(
                {
                    "task_id": task.id,
                    "job": task.workflow.id,
                    "reason": task.reason,
                    "trigger": _trigger_name(task.trigger),
                    "status": task.status.value,
                    "started_at": task.started_at,
                    "finished_at": finished,
                    "duration_s": (finished - task.started_at).total_seconds() if finished else None,
                    "error": task.error,
                    "result": execute.result if execute is not None else None,
                }
            )
        return typed_frame(
            rows,
            _HISTORY_COLUMNS,
            times=("started_at", "finished_at"),
            floats=("duration_s",),
            categories=("job", "status"),
        )

    async def settle(self) -> None:
        """Wait until every async body started so far has finished (including killed shell commands)."""
        while self._bodies:
            await asyncio.gather(*list(self._bodies), return_exceptions=True)

    def close(self) -> None:
        """Unregister every job's trigger and chain (the definitions stay in the store)."""
        for job_id in list(self._jobs):
            self._uninstall(job_id)
            if job_id in self.runner.workflows:
                self.runner.remove_workflow(job_id)
        self._jobs.clear()

    # ------------------------------------------------------------- internals
    def _check_job(self, job: object) -> None:
        if not isinstance(job, Job):
            raise JobDefinitionError(
                f"expected a Job, e.g. Job('hi', 'echo hello', TimeTrigger('0 * * * *')), got {job!r}"
            )

    def _check_free(self, job_id: str) -> None:
        if job_id in self.runner.workflows and job_id not in self._jobs:
            raise JobDefinitionError(f"job id {job_id!r} is taken by the workflow {job_id!r}; choose another id")

    def _stored(self, job_id: str) -> bool:
        return self._table.get(job_id) is not None

    def _save(self, job: Job, persist: bool | None) -> None:
        if persist is True and not job.persistable:
            raise JobDefinitionError(
                f"job {job.id!r} cannot be persisted: its body is {type(job.body).__name__}; only "
                "ShellCommand jobs are stored (add it with persist=None or persist=False to keep it in memory)"
            )
        if persist is not False and job.persistable:
            self._table.put(job.id, job.to_json())
        else:
            self._table.delete(job.id)  # an update to an in-memory body must not come back after a restart

    def _install(self, job: Job) -> None:
        self._jobs[job.id] = job
        self.runner.add_workflow(job.workflow(self._body_call(job)))
        if isinstance(job.body, RxChain) and job.active:
            self._subscribe_chain(job)

    def _uninstall(self, job_id: str) -> None:
        if (chain := self._chains.pop(job_id, None)) is not None:
            chain.dispose()
        self._jobs.pop(job_id, None)

    def _set_active(self, job_id: str, active: bool) -> Job:
        job = self.show(job_id)
        if job.trigger is None:
            verb = "activate" if active else "deactivate"
            raise JobDefinitionError(f"job {job_id!r} has no trigger to {verb}; run it with run({job_id!r})")
        changed = dataclasses.replace(job, active=active)
        self._save(changed, self._stored(job_id))  # a job kept in memory only stays there
        self._uninstall(job_id)
        self._install(changed)
        return changed

    def _body_call(self, job: Job) -> Callable[[Any], Any]:
        body = job.body
        if isinstance(body, ShellCommand):
            return lambda trigger: self._track(run_shell(body, trigger))
        if isinstance(body, PythonCall):
            return lambda trigger: self._track(body.function(trigger))
        sink = self._sink(body.sink)

        def deliver(item: Any) -> Any:
            if isinstance(item, ChainFailure):
                raise item
            return self._track(sink(item))

        return deliver

    def _sink(self, sink: object) -> Callable[[Any], Any]:
        if isinstance(sink, list):
            return sink.append
        if isinstance(sink, FrameView):
            return sink.append
        if isinstance(sink, Emit):
            return lambda item: self.bus.emit(Event(sink.message_type, Emit.data_of(item)))
        assert callable(sink)
        return sink

    def _track(self, outcome: Any) -> Any:
        """Start an awaitable outcome as a task on the bus loop, so ``settle`` can wait for it."""
        if not inspect.isawaitable(outcome):
            return outcome
        future = asyncio.ensure_future(outcome, loop=self.bus.loop)
        self._bodies.add(future)
        future.add_done_callback(self._bodies.discard)
        return future

    # ---------------------------------------------------------------- chains
    def _subscribe_chain(self, job: Job) -> None:
        assert isinstance(job.body, RxChain)
        reason = "time" if isinstance(job.trigger, TimeTrigger) else "event"
        subscribing = True

        def on_error(err: Exception) -> None:
            log.warning("operator chain of job %s failed: %s", job.id, err)
            failure = ChainFailure(f"operator chain failed: {type(err).__name__}: {err}")
            self.runner.run(job.id, reason="error", trigger=failure)  # the failure shows as a failed run
            # Start the chain again for the next events, unless it fails while subscribing (it would loop).
            if not subscribing and self._jobs.get(job.id) is job:
                self._subscribe_chain(job)

        source = self._trigger_stream(job.id, job.trigger).pipe(*job.body.operators)

        def on_next(item: Any) -> None:
            self.runner.run(job.id, reason=reason, trigger=item)

        subscription = source.subscribe(
            on_next=on_next,
            on_error=on_error,
            scheduler=self.runner.scheduler,
        )
        subscribing = False
        if self._jobs.get(job.id) is job:
            self._chains[job.id] = subscription

    def _trigger_stream(self, job_id: str, trigger: EventTrigger | TimeTrigger | None) -> Observable[Any]:
        if isinstance(trigger, EventTrigger):

            def relevant(message: Message) -> bool:
                return _is_match(trigger, message) and not about_own_run(job_id, message)

            return self.bus.listen(trigger.message_type).pipe(ops.filter(relevant))
        if isinstance(trigger, TimeTrigger):
            return cron_ticks(trigger, self.runner.scheduler)
        return reactivex.never()


def cron_ticks(trigger: TimeTrigger, scheduler: abc.SchedulerBase) -> Observable[Any]:
    """The fire times of ``trigger`` (aware datetimes) as an Observable on ``scheduler``."""

    def subscribe(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        timer = SerialDisposable()

        def next_tick() -> None:
            fire_at = trigger.next_after(scheduler.now)

            def fire(_: abc.SchedulerBase, __: Any = None) -> None:
                next_tick()
                observer.on_next(fire_at)

            timer.disposable = scheduler.schedule_absolute(fire_at, fire)

        next_tick()
        return timer

    return reactivex.create(subscribe)


def _is_match(trigger: EventTrigger, message: Any) -> bool:
    return isinstance(message, Event) and trigger.matches(message)


def _trigger_name(trigger: Any) -> str | None:
    if trigger is None:
        return None
    if isinstance(trigger, Message):
        return trigger.message_type
    if isinstance(trigger, ChainFailure):
        return "chain error"
    return type(trigger).__name__


_HISTORY_COLUMNS = (
    *("task_id", "job", "reason", "trigger", "status", "started_at", "finished_at", "duration_s", "error", "result"),
)
