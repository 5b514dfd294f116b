"""Operator chains as data: build them into reactivex operators and print them as Python code.

The JobComposer widget edits a :class:`ChainSpec`; everything it does is these plain functions, so
they are tested without a browser. Expressions are Python typed by the notebook's own user and run
in that user's kernel (``m`` is the message, ``acc`` the accumulator of ``scan``).

>>> spec = ChainSpec("collect_done", (Filter("m.data['count'] > 2"), Map("m.data['count']")), PrintSink())
>>> print(rx_code(spec))
from reactivex import operators as ops
<BLANKLINE>
core.bus.listen("collect_done").pipe(
    ops.filter(lambda m: m.kind == "event"),  # as a job trigger: events only
    ops.filter(lambda m: m.data['count'] > 2),
    ops.map(lambda m: m.data['count']),
).subscribe(print)
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from reactivex import Observable, abc
from reactivex import operators as ops

Operator: TypeAlias = Callable[[Observable[Any]], Observable[Any]]


class ChainError(ValueError):
    """An operator or sink of a chain is invalid; the message names it and what is expected."""


def compile_expression(text: str, *args: str) -> Callable[..., Any]:
    """``lambda <args>: <text>`` after checking that ``text`` is one Python expression."""
    try:
        ast.parse(text, mode="eval")
    except SyntaxError as err:
        raise ChainError(f"not a Python expression: {text!r} ({err.msg}); e.g. m.data['count'] > 3") from None
    function: Callable[..., Any] = eval(f"lambda {', '.join(args)}: ({text})", {"__builtins__": __builtins__})
    return function


def _positive(value: float, what: str) -> None:
    if not value > 0:
        raise ChainError(f"{what} must be positive, got {value!r}")


@dataclass(frozen=True)
class Filter:
    """Keep the messages for which ``expression`` (of ``m``) is true."""

    expression: str

    def operator(self, scheduler: abc.SchedulerBase | None = None) -> Operator:
        return ops.filter(compile_expression(self.expression, "m"))

    def code(self) -> str:
        return f"ops.filter(lambda m: {self.expression})"


@dataclass(frozen=True)
class Map:
    """Replace each item by ``expression`` (of ``m``)."""

    expression: str

    def operator(self, scheduler: abc.SchedulerBase | None = None) -> Operator:
        return ops.map(compile_expression(self.expression, "m"))

    def code(self) -> str:
        return f"ops.map(lambda m: {self.expression})"


@dataclass(frozen=True)
class BufferWithTime:
    """Lists of the items of each ``seconds`` window."""

    seconds: float

    def __post_init__(self) -> None:
        _positive(self.seconds, "buffer_with_time seconds")

    def operator(self, scheduler: abc.SchedulerBase | None = None) -> Operator:
        return ops.buffer_with_time(self.seconds, scheduler=scheduler)

    def code(self) -> str:
        return f"ops.buffer_with_time({self.seconds!r})"


@dataclass(frozen=True)
class BufferWithCount:
    """Lists of ``count`` items."""

    count: int

    def __post_init__(self) -> None:
        _positive(self.count, "buffer_with_count count")

    def operator(self, scheduler: abc.SchedulerBase | None = None) -> Operator:
        return ops.buffer_with_count(self.count)

    def code(self) -> str:
        return f"ops.buffer_with_count({self.count!r})"


@dataclass(frozen=True)
class Debounce:
    """An item only once ``seconds`` passed without another one."""

    seconds: float

    def __post_init__(self) -> None:
        _positive(self.seconds, "debounce seconds")

    def operator(self, scheduler: abc.SchedulerBase | None = None) -> Operator:
        return ops.debounce(self.seconds, scheduler=scheduler)

    def code(self) -> str:
        return f"ops.debounce({self.seconds!r})"


@dataclass(frozen=True)
class Throttle:
    """The first item of each ``seconds`` window (``throttle_first``)."""

    seconds: float

    def __post_init__(self) -> None:
        _positive(self.seconds, "throttle seconds")

    def operator(self, scheduler: abc.SchedulerBase | None = None) -> Operator:
        return ops.throttle_first(self.seconds, scheduler=scheduler)

    def code(self) -> str:
        return f"ops.throttle_first({self.seconds!r})"


@dataclass(frozen=True)
class Scan:
    """A running value: ``expression`` of ``acc`` and ``m``, starting from ``seed`` (an expression)."""

    expression: str
    seed: str = "0"

    def operator(self, scheduler: abc.SchedulerBase | None = None) -> Operator:
        seed = compile_expression(self.seed)()
        return ops.scan(compile_expression(self.expression, "acc", "m"), seed)

    def code(self) -> str:
        return f"ops.scan(lambda acc, m: {self.expression}, {self.seed})"


OperatorSpec: TypeAlias = Filter | Map | BufferWithTime | BufferWithCount | Debounce | Throttle | Scan
OPERATORS: dict[str, type[OperatorSpec]] = {
    "filter": Filter,
    "map": Map,
    "buffer_with_time": BufferWithTime,
    "buffer_with_count": BufferWithCount,
    "debounce": Debounce,
    "throttle": Throttle,
    "scan": Scan,
}
"""The operators the composer offers, by the name shown in its menu."""


@dataclass(frozen=True)
class PrintSink:
    """Print every item."""

    def code(self) -> str:
        return "print"


@dataclass(frozen=True)
class ListSink:
    """Append every item to the list ``name``."""

    name: str = "results"

    def code(self) -> str:
        return self.name


@dataclass(frozen=True)
class EmitSink:
    """Publish every item as the event ``message_type`` (``resoto_rx.jobs.Emit``)."""

    message_type: str

    def __post_init__(self) -> None:
        if not self.message_type:
            raise ChainError("EmitSink needs a message_type, e.g. 'collect_summary'")

    def code(self) -> str:
        return f"Emit({self.message_type!r})"


@dataclass(frozen=True)
class FrameSink:
    """Keep every item as rows of a DataFrame (``resoto_rx.jobs.FrameView``)."""

    max_rows: int | None = None

    def code(self) -> str:
        return "FrameView()" if self.max_rows is None else f"FrameView(max_rows={self.max_rows})"


SinkSpec: TypeAlias = PrintSink | ListSink | EmitSink | FrameSink
SINKS: dict[str, type[SinkSpec]] = {"print": PrintSink, "list": ListSink, "emit": EmitSink, "frame": FrameSink}


@dataclass(frozen=True)
class ChainSpec:
    """A trigger (a message type), operators applied in order, and a sink; ``job_id`` names it as a job."""

    trigger: str
    operators: tuple[OperatorSpec, ...] = ()
    sink: SinkSpec = field(default_factory=PrintSink)
    job_id: str = "my-chain"

    def __post_init__(self) -> None:
        if not self.trigger:
            raise ChainError("a chain needs a trigger message type, e.g. 'task_end'")


def make_operator(name: str, *args: Any) -> OperatorSpec:
    """``make_operator("buffer_with_count", 10)``: an operator spec by its menu name."""
    try:
        cls = OPERATORS[name]
    except KeyError:
        raise ChainError(f"unknown operator {name!r}; known: {', '.join(OPERATORS)}") from None
    try:
        return cls(*args)
    except TypeError as err:
        raise ChainError(f"{name}: {err}") from None


def build_chain(spec: ChainSpec, scheduler: abc.SchedulerBase | None = None) -> list[Operator]:
    """The reactivex operators of ``spec``, time operators on ``scheduler`` (None: the subscribe scheduler)."""
    return [op.operator(scheduler) for op in spec.operators]


def rx_code(spec: ChainSpec, bus: str = "core.bus") -> str:
    """Plain reactivex code that does what ``spec`` does, on the bus named ``bus``."""
    lines = ["from reactivex import operators as ops"]
    if isinstance(spec.sink, EmitSink):
        lines.append("from resoto_rx.jobs import Emit")
    elif isinstance(spec.sink, FrameSink):
        lines.append("from resoto_rx.jobs import FrameView")
    lines.append("")
    sink = spec.sink.code()
    if isinstance(spec.sink, ListSink):
        lines.append(f"{spec.sink.name} = []")
        sink = f"{spec.sink.name}.append"
    elif isinstance(spec.sink, EmitSink):
        sink = f"lambda item: {bus}.emit({spec.sink.message_type!r}, Emit.data_of(item))"
    elif isinstance(spec.sink, FrameSink):
        lines.append(f"view = {spec.sink.code()}")
        sink = "view.append"
    lines.append(f"{bus}.listen({json.dumps(spec.trigger)}).pipe(")
    lines.append('    ops.filter(lambda m: m.kind == "event"),  # as a job trigger: events only')
    lines.extend(f"    {op.code()}," for op in spec.operators)
    lines.append(f").subscribe({sink})")
    return "\n".join(lines)


def job_code(spec: ChainSpec, jobs: str = "core.jobs") -> str:
    """Code that registers ``spec`` as a reactive job (``resoto_rx.jobs``) on the registry named ``jobs``."""
    imports = ["Job", "RxChain"]
    if isinstance(spec.sink, EmitSink):
        imports.append("Emit")
    elif isinstance(spec.sink, FrameSink):
        imports.append("FrameView")
    lines = [
        "from reactivex import operators as ops",
        f"from resoto_rx.jobs import {', '.join(sorted(imports))}",
        "from resoto_rx.workflows import EventTrigger",
        "",
    ]
    if isinstance(spec.sink, ListSink):
        lines.append(f"{spec.sink.name} = []")
    lines += [f"{jobs}.add(", "    Job(", f"        {json.dumps(spec.job_id)},", "        RxChain("]
    lines.extend(f"            {op.code()}," for op in spec.operators)
    lines += [
        f"            into={spec.sink.code()},",
        "        ),",
        f"        EventTrigger({json.dumps(spec.trigger)}),",
    ]
    lines += ["    )", ")"]
    return "\n".join(lines)


def parse_operator(name: str, text: str, seed: str = "0") -> OperatorSpec:
    """An operator spec from the composer's controls: a menu name and the text typed beside it.

    >>> parse_operator("buffer_with_time", "2.5")
    BufferWithTime(seconds=2.5)
    """
    text = text.strip()
    if name not in OPERATORS:
        raise ChainError(f"unknown operator {name!r}; known: {', '.join(OPERATORS)}")
    if name in ("filter", "map"):
        return make_operator(name, text)
    if name == "scan":
        return Scan(text, seed.strip() or "0")
    if name == "buffer_with_count":
        return make_operator(name, _number(text, int, name))
    return make_operator(name, _number(text, float, name))


def parse_sink(name: str, text: str = "") -> SinkSpec:
    """A sink spec from the composer's controls (``text``: list name, message type or max rows)."""
    text = text.strip()
    if name == "print":
        return PrintSink()
    if name == "list":
        return ListSink(text or "results")
    if name == "emit":
        return EmitSink(text)
    if name == "frame":
        return FrameSink(_number(text, int, "frame max rows") if text else None)
    raise ChainError(f"unknown sink {name!r}; known: {', '.join(SINKS)}")


def _number(text: str, kind: type[int] | type[float], what: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise ChainError(f"{what} needs a {kind.__name__}, got {text!r}") from None
