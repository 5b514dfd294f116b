"""JobComposer: pick a trigger, stack operators and a sink, preview the output live, copy the code,
register it as a reactive job. The chain is a :class:`ChainSpec`; see ``chain.py`` for the logic."""

from __future__ import annotations

import dataclasses
import html
from collections import deque
from typing import TYPE_CHECKING, Any

from reactivex import abc
from reactivex import operators as ops
from reactivex.disposable import SerialDisposable

from resoto_rx.bus import EventBus
from resoto_rx.messages import CoreEvent, Event, Message
from resoto_rx.notebook.chain import (
    OPERATORS,
    SINKS,
    ChainError,
    ChainSpec,
    EmitSink,
    FrameSink,
    ListSink,
    OperatorSpec,
    SinkSpec,
    build_chain,
    job_code,
    parse_operator,
    parse_sink,
    rx_code,
)
from resoto_rx.notebook.throttle import MAX_RATE
from resoto_rx.notebook.view import LiveView

if TYPE_CHECKING:
    import ipywidgets

    from resoto_rx.app import ResotoRx
    from resoto_rx.jobs import Job, JobRegistry

TRIGGER_SUGGESTIONS = (
    CoreEvent.TASK_STARTED,
    CoreEvent.TASK_END,
    CoreEvent.PROGRESS,
    CoreEvent.ERROR,
    CoreEvent.CONFIG_UPDATED,
    "start_collect_and_cleanup_workflow",
)
PARAMETER_HINTS = {
    "filter": "m.data['count'] > 3",
    "map": "m.data['count']",
    "buffer_with_time": "seconds, e.g. 5",
    "buffer_with_count": "count, e.g. 10",
    "debounce": "seconds, e.g. 1",
    "throttle": "seconds, e.g. 1",
    "scan": "acc + m.data['count']",
}


class JobComposer(LiveView):
    """Compose an operator chain on ``source`` (a bus, or a ``ResotoRx`` whose ``jobs`` can register it).

    >>> bus = EventBus()
    >>> composer = JobComposer(bus, trigger="collect_done")
    >>> composer.add("map", "m.data['count'] * 2")
    >>> bus.emit("collect_done", {"count": 3})
    >>> composer.preview()
    [6]
    >>> bus.close()
    """

    def __init__(
        self,
        source: EventBus | ResotoRx,
        trigger: str = CoreEvent.TASK_END,
        jobs: JobRegistry | None = None,
        preview_rows: int = 10,
        scheduler: abc.SchedulerBase | None = None,
        max_rate: float = MAX_RATE,
    ) -> None:
        bus = source if isinstance(source, EventBus) else source.bus
        super().__init__(bus, scheduler, max_rate)
        self.jobs = jobs if jobs is not None or isinstance(source, EventBus) else source.jobs
        self.spec = ChainSpec(trigger)
        self.preview_error: str | None = None
        self.message = ""
        """The last thing the composer has to say (a registration, an invalid operator)."""
        self.results: list[Any] = []
        """The list a ``list`` sink appends to once the chain is registered."""
        self.registered: list[Job] = []
        self._preview: deque[Any] = deque(maxlen=preview_rows)
        self._chain = SerialDisposable()
        self.subscribe(self._chain)
        self._restart()

    # ------------------------------------------------------------ editing
    def set_trigger(self, message_type: str) -> None:
        self._update(dataclasses.replace(self.spec, trigger=message_type))

    def add(self, operator: OperatorSpec | str, text: str = "", seed: str = "0") -> None:
        """Append an operator: a spec (``Filter("...")``) or a menu name and its text (``"debounce", "1"``)."""
        spec = parse_operator(operator, text, seed) if isinstance(operator, str) else operator
        self._update(dataclasses.replace(self.spec, operators=(*self.spec.operators, spec)))

    def remove(self, index: int = -1) -> None:
        """Drop the operator at ``index`` (the last by default)."""
        operators = list(self.spec.operators)
        if operators:
            del operators[index]
        self._update(dataclasses.replace(self.spec, operators=tuple(operators)))

    def set_sink(self, sink: SinkSpec | str, text: str = "") -> None:
        # The preview never calls the sink: only the code and a later register() change, not the chain.
        self.spec = dataclasses.replace(self.spec, sink=parse_sink(sink, text) if isinstance(sink, str) else sink)
        self.changed()

    def set_job_id(self, job_id: str) -> None:
        self.spec = dataclasses.replace(self.spec, job_id=job_id)  # as set_sink: the preview goes on
        self.changed()

    def _update(self, spec: ChainSpec) -> None:
        self.spec = spec
        self._restart()

    def _restart(self) -> None:
        """Run the chain again from now on, for the preview (the sink is not called by the preview)."""
        self._preview.clear()
        self.preview_error = None
        try:
            operators = build_chain(self.spec)
        except ChainError as err:
            self.preview_error = str(err)
            self._chain.disposable = None
            self.changed()
            return
        # as a job's EventTrigger: events only (an action and its replies share the action's message type)
        chain = self.bus.listen(self.spec.trigger).pipe(ops.filter(_is_event), *operators)
        self._chain.disposable = chain.subscribe(self._on_item, self._on_error, scheduler=self.scheduler)
        self.changed()

    def _on_item(self, item: Any) -> None:
        self._preview.append(item)
        self.changed()

    def _on_error(self, error: Exception) -> None:
        self.preview_error = f"{type(error).__name__}: {error}"
        self.changed()

    # ------------------------------------------------------------- output
    def preview(self) -> list[Any]:
        """The latest items the chain produced since its last change, oldest first."""
        return list(self._preview)

    def code(self, style: str = "job") -> str:
        """Python to copy: ``"job"`` registers the chain as a job, ``"rx"`` is plain reactivex on the bus."""
        if style == "job":
            return job_code(self.spec)
        if style == "rx":
            return rx_code(self.spec)
        raise ValueError(f"style must be 'job' or 'rx', got {style!r}")

    def register(self) -> Job:
        """Add the chain as a reactive job to ``jobs`` (``resoto_rx.jobs.JobRegistry``)."""
        if self.jobs is None:
            raise RuntimeError("no job registry: make the composer with JobComposer(core) or jobs=core.jobs")
        from resoto_rx.jobs import Job, RxChain
        from resoto_rx.workflows import EventTrigger

        body = RxChain(*build_chain(self.spec), into=self._sink())
        job = Job(self.spec.job_id, body, EventTrigger(self.spec.trigger))
        self.jobs.add(job)
        self.registered.append(job)
        self.message = f"registered job {job.id!r}"
        self.changed()
        return job

    def _sink(self) -> Any:
        from resoto_rx.jobs import Emit, FrameView

        sink = self.spec.sink
        if isinstance(sink, ListSink):
            return self.results
        if isinstance(sink, EmitSink):
            return Emit(sink.message_type)
        if isinstance(sink, FrameSink):
            return FrameView(sink.max_rows)
        return print

    # ----------------------------------------------------------- widgets
    def _build(self) -> ipywidgets.Widget:
        import ipywidgets as w

        known = sorted({*TRIGGER_SUGGESTIONS, self.spec.trigger})
        self._trigger_box = w.Combobox(value=self.spec.trigger, options=known, description="trigger")
        self._trigger_box.observe(lambda _: self._edit(lambda: self.set_trigger(self._trigger_box.value)), "value")
        self._op_menu = w.Dropdown(options=list(OPERATORS), description="operator")
        self._op_text = w.Text(placeholder=PARAMETER_HINTS["filter"])
        self._op_seed = w.Text(value="0", description="seed", layout=w.Layout(width="140px", display="none"))
        self._op_menu.observe(self._on_menu, "value")
        add, remove = w.Button(description="add"), w.Button(description="remove last")
        add.on_click(lambda _: self._edit(self._add_from_controls))
        remove.on_click(lambda _: self._edit(self.remove))
        self._sink_menu = w.Dropdown(options=list(SINKS), description="sink")
        self._sink_text = w.Text(placeholder="list name / message type / max rows")
        self._job_id = w.Text(value=self.spec.job_id, description="job id")
        register = w.Button(description="register as job", button_style="primary", disabled=self.jobs is None)
        for control in (self._sink_menu, self._sink_text, self._job_id):
            control.observe(lambda _: self._edit(self._on_sink), "value")
        register.on_click(lambda _: self._edit(self.register))
        self._chain_html, self._preview_html, self._message = w.HTML(), w.HTML(), w.HTML()
        self._code = w.Textarea(layout=w.Layout(width="100%", height="220px"))
        return w.VBox(
            [
                self._trigger_box,
                w.HBox([self._op_menu, self._op_text, self._op_seed, add, remove]),
                self._chain_html,
                w.HBox([self._sink_menu, self._sink_text, self._job_id, register]),
                self._message,
                w.HTML("<b>preview</b> (latest outputs since the last change)"),
                self._preview_html,
                w.HTML("<b>Python</b>"),
                self._code,
            ]
        )

    def _on_menu(self, _: object) -> None:
        name = str(self._op_menu.value)
        self._op_text.placeholder = PARAMETER_HINTS[name]
        self._op_seed.layout.display = "" if name == "scan" else "none"

    def _add_from_controls(self) -> None:
        self.add(str(self._op_menu.value), str(self._op_text.value), str(self._op_seed.value))

    def _on_sink(self) -> None:
        self.set_sink(str(self._sink_menu.value), str(self._sink_text.value))
        self.set_job_id(str(self._job_id.value))

    def _edit(self, action: Any) -> None:
        self.message = ""
        try:
            action()
        except (ChainError, ValueError, RuntimeError) as err:  # shown, not raised: this is a control's callback
            self.message = f"⚠ {err}"
        self.changed()

    def _draw(self) -> None:
        ops_html = "".join(f"<li><code>{html.escape(op.code())}</code></li>" for op in self.spec.operators)
        self._chain_html.value = f"<ol>{ops_html}</ol>" if ops_html else "<i>no operators: every trigger passes</i>"
        items = "".join(f"<li><code>{html.escape(_short(item))}</code></li>" for item in self.preview())
        error = f"<div style='color:#b00'>{html.escape(self.preview_error)}</div>" if self.preview_error else ""
        self._preview_html.value = error + (f"<ul>{items}</ul>" if items else "<i>nothing yet</i>")
        self._message.value = html.escape(self.message)
        self._code.value = self.code("job" if self.jobs is not None else "rx")


def _is_event(message: Message) -> bool:
    return isinstance(message, Event)


def _short(item: Any) -> str:
    text = f"{item.message_type} #{item.id} {dict(item.data)}" if isinstance(item, Message) else repr(item)
    return text if len(text) <= 160 else text[:159] + "…"
