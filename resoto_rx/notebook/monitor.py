"""WorkflowMonitor: one progress bar per phase of a running task, the current step, durations, errors,
and a final summary once the task ended."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from reactivex import abc

from resoto_rx.messages import ActionMessage, CoreEvent, Message
from resoto_rx.notebook.throttle import MAX_RATE
from resoto_rx.notebook.view import LiveView
from resoto_rx.workflows.runner import TaskRun, TaskRunner
from resoto_rx.workflows.steps import StepRun

if TYPE_CHECKING:
    import ipywidgets

    from resoto_rx.app import ResotoRx

BAR_STYLES = {"waiting": "", "running": "info", "done": "success", "failed": "danger", "skipped": "warning"}


@dataclass(frozen=True)
class PhaseState:
    """One step of the watched task: ``status`` is waiting, running, done, failed or skipped."""

    name: str
    percentage: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    errors: tuple[str, ...]


@dataclass(frozen=True)
class MonitorState:
    """What the monitor shows; ``status`` is ``idle`` until a task starts, then the task's status."""

    task_id: str | None
    workflow: str | None
    status: str
    current_step: str | None
    percentage: int
    duration_s: float | None
    phases: tuple[PhaseState, ...]
    errors: tuple[str, ...]
    summary: Mapping[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.status not in ("idle", "running")


class WorkflowMonitor(LiveView):
    """Watch the runs of a :class:`TaskRunner` (or a ``ResotoRx``): the latest started task, or one ``workflow``'s.

    >>> import asyncio
    >>> from resoto_rx.app import ResotoRx
    >>> async def main() -> list[int]:
    ...     with ResotoRx(store=None) as core:
    ...         monitor = WorkflowMonitor(core)
    ...         await core.run("metrics")
    ...         return [phase.percentage for phase in monitor.state().phases]
    >>> asyncio.run(main())
    [100, 100, 100]

    Args:
        source: the runner, or the embedded core (whose demo cloud then adds its summary at the end).
        workflow: follow only runs of this workflow (default: any).
        summary: called once a task ended, merged into the final summary (default: the demo's ``summary``).
    """

    def __init__(
        self,
        source: TaskRunner | ResotoRx,
        workflow: str | None = None,
        summary: Callable[[], Mapping[str, Any]] | None = None,
        scheduler: abc.SchedulerBase | None = None,
        max_rate: float = MAX_RATE,
    ) -> None:
        runner = source if isinstance(source, TaskRunner) else source.runner
        demo = None if isinstance(source, TaskRunner) else source.demo
        super().__init__(runner.bus, scheduler, max_rate)
        self.runner = runner
        self.workflow = workflow
        self.run: TaskRun | None = None
        """The task shown (running or ended)."""
        self._summary = summary or (demo.summary if demo is not None else None)
        self._final: Mapping[str, Any] | None = None
        self._error_events: list[str] = []
        running = [t for t in runner.tasks.values() if workflow is None or t.workflow.id == workflow]
        if running:  # made while a task runs: show it right away
            self.run = max(running, key=lambda t: t.started_at)
            self.changed()
        self.subscribe(self.bus.listen().subscribe(self._on_message))

    def _on_message(self, message: Message) -> None:
        run = self.run
        if isinstance(message, ActionMessage):
            if run is not None and not self._dirty and message.task == run.id:
                self.changed()
            return
        kind = message.message_type
        if kind == CoreEvent.TASK_STARTED:
            started = self.runner.tasks.get(str(message.data.get("task_id")))
            if started is not None and (self.workflow is None or started.workflow.id == self.workflow):
                self.run, self._final, self._error_events = started, None, []
                self.changed()
        elif run is None:
            return
        elif kind == CoreEvent.PROGRESS and message.data.get("task") == run.id:
            self.changed()
        elif kind == CoreEvent.ERROR and run.id in (message.data.get("task"), message.data.get("task_id")):
            self._error_events.append(str(message.data.get("message", "")))
            self.changed()
        elif kind == CoreEvent.TASK_END and message.data.get("task_id") == run.id:
            self._final = self._final_summary(run)
            self.changed()

    def _final_summary(self, run: TaskRun) -> Mapping[str, Any]:
        result = dict(run.summary())
        if self._summary is not None:
            result.update(self._summary())
        return result

    # ------------------------------------------------------------- state
    def state(self) -> MonitorState:
        """The watched task as plain data (what the widget shows)."""
        run = self.run
        if run is None:
            return MonitorState(None, self.workflow, "idle", None, 0, None, (), (), None)
        by_name = {s.name: s for s in run.steps}
        phases = tuple(_phase(run, step.name, by_name.get(step.name)) for step in run.workflow.steps)
        errors = [f"{p.name}: {e}" for p in phases for e in p.errors]
        errors += [e for e in self._error_events if not any(e in known for known in errors)]
        if run.error and not run.active and run.error not in errors:
            errors.append(run.error)
        end = run.finished_at or self.runner.scheduler.now
        return MonitorState(
            task_id=run.id,
            workflow=run.workflow.id,
            status=run.status.value,
            current_step=run.current_step if run.active else None,
            percentage=100 if run.status.value == "done" else run.progress.percentage(),
            duration_s=(end - run.started_at).total_seconds(),
            phases=phases,
            errors=tuple(errors),
            summary=self._final,
        )

    def phases_frame(self) -> pd.DataFrame:
        """One row per phase of the watched task: percentage, status, times, duration, errors."""
        phases = self.state().phases
        frame = pd.DataFrame(
            {
                "phase": pd.Series([p.name for p in phases], dtype="str"),
                "percentage": pd.Series([p.percentage for p in phases], dtype="int64"),
                "status": pd.Categorical([p.status for p in phases], categories=list(BAR_STYLES)),
                "started_at": pd.to_datetime(pd.Series([p.started_at for p in phases], dtype=object), utc=True),
                "finished_at": pd.to_datetime(pd.Series([p.finished_at for p in phases], dtype=object), utc=True),
                "duration_s": pd.Series([p.duration_s for p in phases], dtype="float64"),
                "errors": pd.Series([list(p.errors) for p in phases], dtype=object),
            }
        )
        return frame

    # ----------------------------------------------------------- widgets
    def _build(self) -> ipywidgets.Widget:
        import ipywidgets as w

        self._header = w.HTML()
        self._bars: dict[str, tuple[ipywidgets.IntProgress, ipywidgets.Label]] = {}
        self._rows = w.VBox()
        self._footer = w.HTML()
        return w.VBox([self._header, self._rows, self._footer])

    def _draw(self) -> None:
        import ipywidgets as w

        state = self.state()
        names = [p.name for p in state.phases]
        if names != list(self._bars):
            for bar, label in self._bars.values():
                bar.close()
                label.close()
            style = {"description_width": "170px"}
            layout = w.Layout(width="480px")
            self._bars = {
                n: (w.IntProgress(0, 0, 100, description=n, style=style, layout=layout), w.Label()) for n in names
            }
            self._rows.children = [w.HBox(list(pair)) for pair in self._bars.values()]
        for phase in state.phases:
            bar, label = self._bars[phase.name]
            bar.value, bar.bar_style = phase.percentage, BAR_STYLES[phase.status]
            took = f" in {phase.duration_s:.3f} s" if phase.duration_s is not None else ""
            label.value = f"{phase.percentage}%{took}"
        self._header.value = _header_html(state)
        self._footer.value = _footer_html(state)


def _phase(run: TaskRun, name: str, step: StepRun | None) -> PhaseState:
    if step is None:
        status = "skipped" if not run.active else "waiting"
        return PhaseState(name, run.progress.step_percentage(name), status, None, None, None, ())
    status = "running" if step.finished_at is None else "failed" if step.failed or step.errors else "done"
    duration = step.duration.total_seconds() if step.duration is not None else None
    percentage = 100 if step.finished_at is not None else run.progress.step_percentage(name)
    return PhaseState(name, percentage, status, step.started_at, step.finished_at, duration, tuple(step.errors))


def _header_html(state: MonitorState) -> str:
    if state.task_id is None:
        follows = f" of <b>{html.escape(state.workflow)}</b>" if state.workflow else ""
        return f"<i>waiting for a run{follows}…</i>"
    step = f", step <b>{html.escape(state.current_step)}</b>" if state.current_step else ""
    took = f" ({state.duration_s:.2f} s)" if state.duration_s is not None else ""
    return (
        f"<b>{html.escape(state.workflow or '')}</b> <code>{state.task_id[:8]}</code>: "
        f"{state.status}{step}, {state.percentage}%{took}"
    )


def _footer_html(state: MonitorState) -> str:
    parts = []
    if state.errors:
        items = "".join(f"<li>{html.escape(e)}</li>" for e in state.errors[-10:])
        parts.append(f"<div style='color:#b00'>errors:<ul>{items}</ul></div>")
    if state.summary is not None:
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
            for k, v in state.summary.items()
            if k not in ("task_id", "current_step")
        )
        parts.append(f"<table>{rows}</table>")
    return "".join(parts)
