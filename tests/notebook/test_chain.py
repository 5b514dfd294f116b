"""Operator chains as data: building, parsing controls, and the generated code doing the same thing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from reactivex.subject import Subject

from resoto_rx import EventBus, Message
from resoto_rx.notebook.chain import (
    BufferWithCount,
    BufferWithTime,
    ChainError,
    ChainSpec,
    Debounce,
    EmitSink,
    Filter,
    FrameSink,
    ListSink,
    Map,
    PrintSink,
    Scan,
    Throttle,
    build_chain,
    job_code,
    parse_operator,
    parse_sink,
    rx_code,
)
from tests.notebook.conftest import VirtualClock


def _run(spec: ChainSpec, scheduler: VirtualClock, items: list[tuple[float, Message]]) -> list[Any]:
    subject: Subject[Message] = Subject()
    out: list[Any] = []
    subject.pipe(*build_chain(spec, scheduler)).subscribe(out.append)
    for at, message in items:
        scheduler.schedule_absolute(scheduler.clock + at, lambda *_, m=message: subject.on_next(m))
    scheduler.advance_by(100.0)
    return out


def _events(*counts: int) -> list[tuple[float, Message]]:
    from resoto_rx import Event

    return [(float(i), Event("collect_done", {"count": c})) for i, c in enumerate(counts)]


def test_each_operator_in_virtual_time(scheduler: VirtualClock) -> None:
    spec = ChainSpec("collect_done", (Filter("m.data['count'] > 1"), Map("m.data['count']"), BufferWithCount(2)))
    assert _run(spec, scheduler, _events(1, 2, 3, 4, 5)) == [[2, 3], [4, 5]]
    spec = ChainSpec("collect_done", (Map("m.data['count']"), Scan("acc + m", "10")))
    assert _run(spec, scheduler, _events(1, 2, 3)) == [11, 13, 16]
    spec = ChainSpec("collect_done", (Map("m.data['count']"), BufferWithTime(2.5)))
    assert _run(spec, scheduler, _events(1, 2, 3, 4))[:2] == [[1, 2, 3], [4]]
    spec = ChainSpec("collect_done", (Map("m.data['count']"), Debounce(1.5)))
    assert _run(spec, scheduler, _events(1, 2, 3)) == [3]
    spec = ChainSpec("collect_done", (Map("m.data['count']"), Throttle(1.5)))
    assert _run(spec, scheduler, _events(1, 2, 3, 4)) == [1, 3]


def test_controls_parse_into_specs_and_bad_input_is_explained() -> None:
    assert parse_operator("filter", " m.data['x'] ") == Filter("m.data['x']")
    assert parse_operator("buffer_with_count", "10") == BufferWithCount(10)
    assert parse_operator("debounce", "0.5") == Debounce(0.5)
    assert parse_operator("scan", "acc + 1", "") == Scan("acc + 1", "0")
    assert parse_sink("list", "") == ListSink("results")
    assert parse_sink("emit", "summary") == EmitSink("summary")
    assert parse_sink("frame", "100") == FrameSink(100)
    assert parse_sink("print") == PrintSink()
    with pytest.raises(ChainError, match="needs a int"):
        parse_operator("buffer_with_count", "ten")
    with pytest.raises(ChainError, match="positive"):
        parse_operator("throttle", "-1")
    with pytest.raises(ChainError, match="unknown operator"):
        parse_operator("zip", "")
    with pytest.raises(ChainError, match="not a Python expression"):
        build_chain(ChainSpec("x", (Filter("m.data["),)))
    with pytest.raises(ChainError, match="message_type"):
        parse_sink("emit", "")
    with pytest.raises(ChainError, match="trigger"):
        ChainSpec("")


SPEC = ChainSpec(
    "collect_done",
    (Filter("m.data['count'] > 1"), Map("m.data['count'] * 10"), Scan("acc + m", "0")),
    ListSink("totals"),
    job_id="running-total",
)


def test_generated_rx_code_runs_and_gives_what_the_built_chain_gives(make_bus: Callable[..., EventBus]) -> None:
    bus = make_bus()
    namespace: dict[str, Any] = {"core": type("Core", (), {"bus": bus})()}
    exec(rx_code(SPEC), namespace)
    built: list[Any] = []
    bus.listen("collect_done").pipe(*build_chain(SPEC)).subscribe(built.append)
    for count in (1, 2, 3):
        bus.emit("collect_done", {"count": count})
    assert namespace["totals"] == built == [20, 50]


@pytest.mark.parametrize("sink", [EmitSink("collect_total"), FrameSink(), ListSink("totals"), PrintSink()])
async def test_generated_job_code_registers_a_working_job(sink: Any) -> None:
    from dataclasses import replace

    from resoto_rx.app import ResotoRx

    spec = replace(SPEC, sink=sink)
    with ResotoRx(store=None, schedule=None) as core:
        namespace: dict[str, Any] = {"core": core}
        exec(job_code(spec), namespace)
        assert "running-total" in core.jobs
        totals = core.bus.listen("collect_total").subscribe(lambda m: namespace.setdefault("emitted", []).append(m))
        for count in (1, 2, 3):
            core.bus.emit("collect_done", {"count": count})
        await core.jobs.settle()
        if isinstance(sink, ListSink):
            assert namespace["totals"] == [20, 50]
        if isinstance(sink, EmitSink):
            assert [m.data["value"] for m in namespace["emitted"]] == [20, 50]
        totals.dispose()


def test_code_reads_like_a_person_wrote_it() -> None:
    assert job_code(SPEC) == (
        "from reactivex import operators as ops\n"
        "from resoto_rx.jobs import Job, RxChain\n"
        "from resoto_rx.workflows import EventTrigger\n"
        "\n"
        "totals = []\n"
        "core.jobs.add(\n"
        "    Job(\n"
        '        "running-total",\n'
        "        RxChain(\n"
        "            ops.filter(lambda m: m.data['count'] > 1),\n"
        "            ops.map(lambda m: m.data['count'] * 10),\n"
        "            ops.scan(lambda acc, m: acc + m, 0),\n"
        "            into=totals,\n"
        "        ),\n"
        '        EventTrigger("collect_done"),\n'
        "    )\n"
        ")"
    )
