"""JobComposer: edit a chain, live preview, code to copy, register as a job; controls without a browser."""

from __future__ import annotations

from collections.abc import Callable

from resoto_rx import EventBus
from resoto_rx.app import ResotoRx
from resoto_rx.notebook import Filter, JobComposer
from tests.notebook.conftest import VirtualClock


def test_preview_follows_the_chain_and_restarts_on_each_change(
    make_bus: Callable[..., EventBus], scheduler: VirtualClock
) -> None:
    bus = make_bus()
    composer = JobComposer(bus, trigger="collect_done", scheduler=scheduler)
    bus.emit("collect_done", {"count": 1})
    assert [m.data["count"] for m in composer.preview()] == [1]
    composer.add(Filter("m.data['count'] > 2"))
    composer.add("map", "m.data['count']")
    assert composer.preview() == []
    for count in (1, 3, 5):
        bus.emit("collect_done", {"count": count})
    assert composer.preview() == [3, 5]
    composer.add("buffer_with_time", "2")
    bus.emit("collect_done", {"count": 7})
    scheduler.advance_by(2.5)
    assert composer.preview() == [[7]]
    composer.remove()
    composer.set_trigger("other")
    bus.emit("collect_done", {"count": 9})
    assert composer.preview() == []
    assert 'bus.listen("other")' in composer.code("rx")
    composer.close()


def test_a_failing_expression_shows_as_preview_error(
    make_bus: Callable[..., EventBus], scheduler: VirtualClock
) -> None:
    bus = make_bus()
    composer = JobComposer(bus, trigger="x", scheduler=scheduler)
    composer.add("map", "m.data['missing']")
    bus.emit("x", {})
    assert composer.preview_error == "KeyError: 'missing'"
    assert bus.failures == 0
    composer.close()


def test_controls_build_the_chain_and_register_it_as_a_job(scheduler: VirtualClock) -> None:
    with ResotoRx(store=None, schedule=None, scheduler=scheduler) as core:
        composer = JobComposer(core, trigger="collect_done", scheduler=scheduler)
        box = composer.widget
        _trigger, ops_row, chain_html, sink_row, message = box.children[:5]
        menu, text, _seed, add, _remove = ops_row.children
        menu.value, text.value = "map", "m.data['count'] * 2"
        add.click()
        menu.value, text.value = "buffer_with_count", "two"
        add.click()
        scheduler.advance_by(1.0)
        assert "needs a int" in message.value
        assert "ops.map(lambda m: m.data[&#x27;count&#x27;] * 2)" in chain_html.value
        sink_menu, _sink_text, job_id, register = sink_row.children
        sink_menu.value, job_id.value = "list", "doubled"
        register.click()
        assert "registered job" in composer.message
        assert "doubled" in core.jobs
        for count in (1, 2):
            core.bus.emit("collect_done", {"count": count})
        scheduler.advance_by(1.0)
        assert composer.results == [2, 4]
        assert composer.preview() == [2, 4]
        code = box.children[-1].value
        assert code.startswith("from reactivex import operators as ops") and "core.jobs.add(" in code
        composer.close()


def test_without_a_job_registry_the_register_button_is_disabled(make_bus: Callable[..., EventBus]) -> None:
    composer = JobComposer(make_bus(), scheduler=VirtualClock())
    assert composer.widget.children[3].children[-1].disabled
    assert composer.widget.children[-1].value.startswith("from reactivex import operators as ops\n\ncore.bus.listen")
    composer.close()


def test_typing_a_job_id_or_changing_the_sink_keeps_the_preview(scheduler: VirtualClock) -> None:
    with ResotoRx(store=None, schedule=None, scheduler=scheduler) as core:
        composer = JobComposer(core, trigger="collect_done", scheduler=scheduler)
        composer.add("map", "m.data['count']")
        core.bus.emit("collect_done", {"count": 7})
        assert composer.preview() == [7]
        for typed in ("a", "ab", "abc"):  # each keystroke in the job id box
            composer.set_job_id(typed)
        composer.set_sink("list")
        assert composer.preview() == [7] and composer.spec.job_id == "abc"
        assert "abc" in composer.code()
        composer.close()
