"""ConfigService: revisions and events only on change, RFC 7386 patches, refusals that change nothing,
persistence, and the live ``resoto.core`` binding (reschedule, cleanup switch) in virtual time."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reactivex.testing import TestScheduler

from resoto_rx import (
    CORE_CONFIG_ID,
    ConfigError,
    ConfigService,
    EventBus,
    Job,
    Message,
    SQLiteStore,
    UnknownConfigError,
)
from resoto_rx.app import ResotoRx
from resoto_rx.config import merge_patch
from resoto_rx.workflows import TimeTrigger

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Config:
    def __init__(self, make_bus: Callable[..., EventBus], store: SQLiteStore | None = None) -> None:
        self.bus = make_bus(store=store)
        self.events: list[Message] = []
        self.bus.listen("config-updated", "config-deleted").subscribe(self.events.append)
        self.config = ConfigService(self.bus, store)

    def seen(self) -> list[tuple[str, dict[str, Any]]]:
        return [(m.message_type, dict(m.data)) for m in self.events]


@pytest.fixture
def c(make_bus: Callable[..., EventBus]) -> Config:
    return Config(make_bus)


def test_put_publishes_config_updated_only_when_the_content_changed(c: Config) -> None:
    first = c.config.put("app", {"a": 1})
    assert first.revision == "1" and c.config.show("app").content == {"a": 1}
    assert c.config.put("app", {"a": 1}).revision == "1"  # same content: nothing happens
    assert c.config.put("app", {"a": True}).revision == "2"  # true is not 1 in JSON
    assert c.seen() == [
        ("config-updated", {"id": "app", "revision": "1"}),
        ("config-updated", {"id": "app", "revision": "2"}),
    ]


def test_patch_merges_like_rfc_7386(c: Config) -> None:
    c.config.put("app", {"keep": 1, "drop": 2, "nested": {"x": 1, "y": 2}, "list": [1, 2]})
    entry = c.config.patch("app", {"drop": None, "nested": {"y": None, "z": 3}, "list": [3], "new": {"a": None}})
    assert entry.content == {"keep": 1, "nested": {"x": 1, "z": 3}, "list": [3], "new": {}}
    assert entry.revision == "2"
    assert c.config.patch("app", {"keep": 1}).revision == "2" and len(c.events) == 2  # no change, no event
    assert c.config.patch("fresh", {"a": {"b": 1}}).content == {"a": {"b": 1}}  # a missing document starts empty


def test_merge_patch_leaves_its_inputs_alone() -> None:
    target = {"a": {"b": 1}}
    assert merge_patch(target, {"a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
    assert target == {"a": {"b": 1}}
    assert merge_patch(target, ["replaced"]) == ["replaced"]


def test_delete_publishes_config_deleted_and_revisions_never_repeat(c: Config) -> None:
    c.config.put("a", {"v": 1})
    c.config.put("b", {"v": 1})
    deleted = c.config.delete("b")
    assert deleted.content == {"v": 1} and c.config.get("b") is None and c.config.ids() == ["a"]
    assert c.seen()[-1] == ("config-deleted", {"id": "b"})
    assert c.config.put("b", {"v": 1}).revision == "3"  # not "2" again: a cached revision 2 must not match
    with pytest.raises(UnknownConfigError, match="no config with id 'zzz'; known ids: a, b"):
        c.config.delete("zzz")


def test_entries_are_copies(c: Config) -> None:
    content = {"a": {"b": 1}}
    c.config.put("app", content)
    content["a"]["b"] = 2
    c.config.show("app").content["a"]["b"] = 3
    assert c.config.show("app").content == {"a": {"b": 1}}


@pytest.mark.parametrize(
    ("write", "needle"),
    [
        (lambda s: s.put("app", ["not", "an", "object"]), "the content must be a JSON object, got list"),
        (lambda s: s.put("app", "text"), "must be a JSON object, got str 'text'"),
        (lambda s: s.put("app", None), "must be a JSON object, got NoneType"),
        (lambda s: s.put("app", {"x": math.nan}), "values JSON cannot keep"),
        (lambda s: s.put("app", {"x": (1, 2)}), "values JSON cannot keep"),
        (lambda s: s.put("app", {"x": {1: "int key"}}), "is not JSON"),
        (lambda s: s.put("app", {"x": object()}), "is not JSON"),
        (lambda s: s.put("", {"x": 1}), "config id must be a non-empty string"),
        (lambda s: s.patch("app", [1]), "the patch must be a JSON object, got list"),
        (lambda s: s.patch("app", {"x": math.inf}), "values JSON cannot keep"),
    ],
)
def test_invalid_documents_change_nothing(c: Config, write: Callable[[ConfigService], object], needle: str) -> None:
    c.config.put("app", {"x": 1})
    with pytest.raises(ConfigError) as raised:
        write(c.config)
    assert needle in str(raised.value)
    assert c.config.show("app").content == {"x": 1} and c.config.show("app").revision == "1"
    assert len(c.events) == 1


def test_validators_refuse_before_anything_is_stored(c: Config) -> None:
    def positive(content: dict[str, Any]) -> None:
        if content.get("n", 0) < 0:
            raise ValueError(f"n must be >= 0, got {content['n']}")

    remove = c.config.add_validator("app", positive)
    with pytest.raises(ConfigError, match="config 'app': n must be >= 0, got -1"):
        c.config.put("app", {"n": -1})
    assert c.config.get("app") is None and c.events == []
    remove.dispose()
    assert c.config.put("app", {"n": -1}).revision == "1"


def test_documents_survive_a_restart(make_bus: Callable[..., EventBus], tmp_path: Path) -> None:
    path = tmp_path / "config.sqlite"
    first = Config(make_bus, SQLiteStore(path))
    first.config.put("a", {"v": 1})
    first.config.patch("a", {"w": 2})
    first.bus.close()
    second = Config(make_bus, SQLiteStore(path))
    assert second.config.show("a").content == {"v": 1, "w": 2} and second.config.show("a").revision == "2"
    assert second.config.put("b", {}).revision == "3"


# ------------------------------------------------------------------ resoto.core
@pytest.fixture
def core(tmp_path: Path) -> Iterator[ResotoRx]:
    made = ResotoRx(store=tmp_path / "core.sqlite", scheduler=TestScheduler())
    yield made
    made.close()


def scheduler_of(core: ResotoRx) -> TestScheduler:
    assert isinstance(core.runner.scheduler, TestScheduler)
    return core.runner.scheduler


def test_schedule_in_config_reschedules_collect_and_cleanup_live(core: ResotoRx) -> None:
    assert core.runner.next_run_at("collect_and_cleanup") == EPOCH + timedelta(hours=1)
    core.config.put(CORE_CONFIG_ID, {"workflows": {"collect_and_cleanup": {"schedule": "*/15 * * * *"}}})
    assert core.runner.next_run_at("collect_and_cleanup") == EPOCH + timedelta(minutes=15)
    started: list[Message] = []
    core.bus.listen("task_started").subscribe(started.append)
    scheduler_of(core).advance_by(timedelta(minutes=31))
    assert [(m.data["task"], m.data["reason"]) for m in started] == [("collect_and_cleanup", "time")] * 2
    core.config.patch(CORE_CONFIG_ID, {"workflows": {"collect_and_cleanup": {"schedule": ""}}})
    assert core.runner.next_run_at("collect_and_cleanup") is None
    core.config.patch(CORE_CONFIG_ID, {"workflows": {"collect_and_cleanup": {"schedule": None}}})  # key removed
    assert core.runner.next_run_at("collect_and_cleanup") == EPOCH + timedelta(minutes=31 + 29)  # default: hourly
    core.config.put(CORE_CONFIG_ID, {"workflows": {"collect_and_cleanup": {"schedule": None}}})
    assert core.runner.next_run_at("collect_and_cleanup") is None
    core.config.delete(CORE_CONFIG_ID)
    assert core.runner.next_run_at("collect_and_cleanup") == EPOCH + timedelta(minutes=31 + 29)


def test_cleanup_enabled_in_config_makes_the_next_cleanup_delete(core: ResotoRx) -> None:
    assert core.demo is not None
    scheduler = scheduler_of(core)
    core.runner.run("collect_and_cleanup")
    scheduler.advance_by(timedelta(seconds=1))
    assert core.demo.summary()["deleted"] == 0 and core.demo.summary()["planned_for_cleanup"] > 0
    core.config.patch(CORE_CONFIG_ID, {"cleanup": {"enabled": True}})
    assert core.demo.config.enabled
    core.runner.run("collect_and_cleanup")
    scheduler.advance_by(timedelta(seconds=1))
    assert core.demo.summary()["deleted"] > 0
    core.config.patch(CORE_CONFIG_ID, {"cleanup": None})
    assert not core.demo.config.enabled


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"workflows": {"collect_and_cleanup": {"schedule": "every 15 minutes"}}}, "invalid cron expression"),
        ({"workflows": {"collect_and_cleanup": {"schedule": 15}}}, "schedule must be a cron string"),
        ({"workflows": {"collect_and_cleanup": {"timezone": 1, "schedule": "0 * * * *"}}}, "timezone must be"),
        ({"workflows": {"collect_and_cleanup": {"schedule": "0 * * * *", "timezone": "Mars/Base"}}}, "Mars/Base"),
        ({"workflows": {"collect_and_cleanup": {"timezone": "Not/AZone"}}}, "timezone needs a schedule"),
        ({"workflows": {"nightly": {"schedule": "0 * * * *"}}}, "unknown workflow 'nightly'; known workflows:"),
        ({"workflows": ["collect"]}, "workflows must be a JSON object"),
        ({"workflows": {"collect": {"cron": "0 * * * *"}}}, "unknown keys ['cron']; accepted: schedule, timezone"),
        ({"cleanup": {"enabled": "yes"}}, "cleanup.enabled must be true or false, got 'yes'"),
        ({"cleanup": True}, "cleanup must be a JSON object"),
        ({"workflow": {}}, "unknown keys ['workflow']; accepted: workflows, cleanup"),
    ],
)
def test_invalid_core_config_is_refused_and_changes_nothing(
    core: ResotoRx, content: dict[str, Any], needle: str
) -> None:
    core.config.put(CORE_CONFIG_ID, {"cleanup": {"enabled": False}})
    events: list[Message] = []
    core.bus.listen("config-updated").subscribe(events.append)
    with pytest.raises(ConfigError) as raised:
        core.config.put(CORE_CONFIG_ID, content)
    with pytest.raises(ConfigError):
        core.config.patch(CORE_CONFIG_ID, content)
    assert needle in str(raised.value)
    assert events == [] and core.config.show(CORE_CONFIG_ID).revision == "1"
    assert core.runner.next_run_at("collect_and_cleanup") == EPOCH + timedelta(hours=1)


def test_core_config_and_command_jobs_come_back_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite"
    with ResotoRx(store=path, scheduler=TestScheduler()) as first:
        first.config.patch(CORE_CONFIG_ID, {"workflows": {"collect_and_cleanup": {"schedule": "*/5 * * * *"}}})
        first.config.patch(CORE_CONFIG_ID, {"cleanup": {"enabled": True}})
        first.jobs.add(Job("hello", "echo hello", TimeTrigger("0 4 * * *")))
    with ResotoRx(store=path, scheduler=TestScheduler()) as second:
        assert second.runner.next_run_at("collect_and_cleanup") == EPOCH + timedelta(minutes=5)
        assert second.demo is not None and second.demo.config.enabled
        assert [j.id for j in second.jobs.list()] == ["hello"]
        assert second.runner.next_run_at("hello") == EPOCH + timedelta(hours=4)
