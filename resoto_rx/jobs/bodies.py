"""What a job does when it runs: a shell command, a Python callable, or an RxPY operator chain into a sink.

Only :class:`ShellCommand` is plain data, so only command jobs can be defined over HTTP and stored;
the other kinds hold live Python objects and exist only in the process that added them.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from reactivex import Observable

from resoto_rx.codec import to_json
from resoto_rx.messages import Message
from resoto_rx.workflows.model import WorkflowDefinitionError

if TYPE_CHECKING:
    import pandas as pd

Operator: TypeAlias = Callable[[Observable[Any]], Observable[Any]]


class JobDefinitionError(WorkflowDefinitionError):
    """A job definition is invalid; the message names the value and what is accepted."""


@dataclass(frozen=True)
class ShellCommand:
    """Run ``command`` as a process: split with ``shlex`` and run without a shell unless ``shell=True``.

    The process gets the triggering message as JSON on stdin (``null`` for time and manual runs), is
    killed when the job's timeout passes, and fails the run with a non-zero exit code.
    """

    command: str
    shell: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.command, str) or not self.command.strip():
            raise JobDefinitionError(f"ShellCommand needs a non-empty command line, got {self.command!r}")
        if not isinstance(self.shell, bool):
            raise JobDefinitionError(f"ShellCommand.shell must be True or False, got {self.shell!r}")
        if not self.shell:
            try:
                shlex.split(self.command)
            except ValueError as err:
                raise JobDefinitionError(
                    f"cannot split command {self.command!r} ({err}); quote it as a POSIX shell would"
                ) from None

    def argv(self) -> list[str]:
        return shlex.split(self.command)

    def describe(self) -> str:
        return f"shell: {self.command}" if self.shell else self.command


@dataclass(frozen=True)
class PythonCall:
    """Call ``function(trigger)``; an ``async def`` runs as a task on the bus loop and is awaited."""

    function: Callable[[Any], Any]

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise JobDefinitionError(f"PythonCall needs a callable, got {self.function!r}")

    def describe(self) -> str:
        return f"python: {_name_of(self.function)}"


class Emit:
    """A sink that publishes every item as the event ``message_type``.

    A mapping is the event data as is; a message becomes its wire JSON; a list or tuple becomes
    ``{"items": [...]}``; anything else ``{"value": item}``.
    """

    def __init__(self, message_type: str) -> None:
        if not isinstance(message_type, str) or not message_type:
            raise JobDefinitionError(f"Emit needs a non-empty message_type, got {message_type!r}")
        self.message_type = message_type

    def __repr__(self) -> str:
        return f"Emit({self.message_type!r})"

    @staticmethod
    def data_of(item: Any) -> dict[str, Any]:
        if isinstance(item, Mapping):
            return dict(item)
        if isinstance(item, list | tuple):
            return {"items": [_plain(x) for x in item]}
        return {"value": _plain(item)}


class FrameView:
    """A sink that keeps every item as rows and shows them as a DataFrame (``view.frame``).

    A message becomes ``{"id", "at", "message_type", **data}``, a mapping its items, a list or tuple
    (e.g. from ``ops.buffer_with_time``) one row per element, anything else ``{"value": item}``.
    Rows are buffered and the frame is built on demand (a per-item ``concat`` is ~45 ms at 1e6 rows).
    """

    def __init__(self, max_rows: int | None = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self.max_rows = max_rows

    def append(self, item: Any) -> None:
        items = item if isinstance(item, list | tuple) else [item]
        self.rows.extend(_row(x) for x in items)
        if self.max_rows is not None and len(self.rows) > self.max_rows:
            del self.rows[: len(self.rows) - self.max_rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"FrameView({len(self.rows)} rows)"

    @property
    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows)


Sink: TypeAlias = "Callable[[Any], Any] | list[Any] | Emit | FrameView"
SINK_KINDS = "a callable (sync or async), a list, Emit(message_type) or FrameView()"


class RxChain:
    """Pipe the job's triggering events through ``operators``; each item that comes out is one run into ``into``.

    >>> from reactivex import operators as ops
    >>> seen: list[object] = []
    >>> chain = RxChain(ops.filter(lambda m: m.data["count"] > 100), into=seen)

    Time operators (``buffer_with_time``, ``debounce``, ...) run on the job registry's scheduler.
    With the default ``Surpass.Wait``, items that come out while an async sink is still running
    collapse into one queued run with the latest item (a sync sink ends its run before the next item).
    """

    def __init__(self, *operators: Operator, into: Sink) -> None:
        for op in operators:
            if not callable(op):
                raise JobDefinitionError(f"RxChain operators must be callables like ops.filter(...), got {op!r}")
        if not isinstance(into, list | Emit | FrameView) and not callable(into):
            raise JobDefinitionError(f"RxChain sink must be {SINK_KINDS}; got {into!r}")
        self.operators: tuple[Operator, ...] = operators
        self.sink: Sink = into

    def __repr__(self) -> str:
        return f"RxChain({len(self.operators)} operators, into={self.sink!r})"

    def describe(self) -> str:
        # reactivex operators are anonymous curried closures: their count is all that can be shown
        sink = self.sink if isinstance(self.sink, Emit | FrameView) else _name_of(self.sink)
        return f"rx: {len(self.operators)} operators into {sink}"


JobBody: TypeAlias = ShellCommand | PythonCall | RxChain
BODY_KINDS = "ShellCommand(command) or a command string, PythonCall(fn) or a callable, RxChain(*operators, into=sink)"


def as_body(value: object, job_id: str) -> JobBody:
    """``value`` as a job body: a string is a shell command, a callable a Python call."""
    if isinstance(value, ShellCommand | PythonCall | RxChain):
        return value
    if isinstance(value, str):
        return ShellCommand(value)
    if callable(value) and not isinstance(value, list | Emit | FrameView):
        return PythonCall(value)
    raise JobDefinitionError(
        f"job {job_id!r}: unsupported body {value!r} ({type(value).__name__}); accepted: {BODY_KINDS}"
    )


def _name_of(value: object) -> str:
    if isinstance(value, list):
        return "list"
    return str(getattr(value, "__qualname__", None) or type(value).__name__)


def _plain(item: Any) -> Any:
    return to_json(item) if isinstance(item, Message) else item


def _row(item: Any) -> dict[str, Any]:
    if isinstance(item, Message):
        return {"id": item.id, "at": item.at, "message_type": item.message_type, **item.data}
    if isinstance(item, Mapping):
        return dict(item)
    return {"value": item}
