"""JobRegistry: bad input names the value and changes nothing; command jobs survive a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from resoto_rx import Job, JobDefinitionError, RxChain, SQLiteStore, UnknownJobError, parse_job_line
from resoto_rx.workflows import EventTrigger, TimeTrigger, WorkflowDefinitionError, builtin_workflows
from tests.jobs.conftest import Jobs


def snapshot(h: Jobs) -> tuple[Any, ...]:
    return (
        [j.to_json() for j in h.jobs.list()],
        sorted(h.runner.workflows),
        h.jobs._table.all(),
        len(h.messages),
    )


@pytest.fixture
def stored(make_jobs: type[Jobs], db: Path) -> Jobs:
    h = make_jobs(SQLiteStore(db))
    h.jobs.add(Job("hello", "echo hello", TimeTrigger("0 * * * *")))
    h.jobs.add(Job("inmem", print, EventTrigger("go")))
    return h


@pytest.mark.parametrize(
    ("action", "error", "needle"),
    [
        (lambda h: h.jobs.show("nope"), UnknownJobError, "no job with id 'nope'; known jobs: hello, inmem"),
        (lambda h: h.jobs.run("nope"), UnknownJobError, "'nope'"),
        (lambda h: h.jobs.delete("nope"), UnknownJobError, "'nope'"),
        (lambda h: h.jobs.activate("nope"), UnknownJobError, "'nope'"),
        (lambda h: h.jobs.deactivate("nope"), UnknownJobError, "'nope'"),
        (lambda h: h.jobs.running("nope"), UnknownJobError, "'nope'"),
        (lambda h: h.jobs.update(Job("nope", "true")), UnknownJobError, "'nope'"),
        (lambda h: h.jobs.add(Job("hello", "echo again")), JobDefinitionError, "job 'hello' exists already"),
        (lambda h: h.jobs.add({"id": "x"}), JobDefinitionError, "expected a Job"),
        (lambda h: h.jobs.add(Job("p", print), persist=True), JobDefinitionError, "only ShellCommand jobs are stored"),
        (lambda h: h.jobs.update(Job("hello", print), persist=True), JobDefinitionError, "cannot be persisted"),
        (lambda h: h.jobs.activate("hello2"), UnknownJobError, "hello2"),
    ],
)
def test_bad_verbs_raise_and_change_nothing(
    stored: Jobs, action: Callable[[Jobs], object], error: type[Exception], needle: str
) -> None:
    before = snapshot(stored)
    with pytest.raises(error) as raised:
        action(stored)
    assert needle in str(raised.value)
    assert snapshot(stored) == before


def test_activate_without_trigger_is_refused(make_jobs: type[Jobs]) -> None:
    h = make_jobs()
    h.jobs.add(Job("manual", print))
    with pytest.raises(JobDefinitionError, match="job 'manual' has no trigger to activate"):
        h.jobs.activate("manual")


def test_job_id_taken_by_a_workflow(make_jobs: type[Jobs]) -> None:
    h = make_jobs(workflows=builtin_workflows())
    with pytest.raises(JobDefinitionError, match="job id 'collect' is taken by the workflow 'collect'"):
        h.jobs.add(Job("collect", print))
    assert h.jobs.list() == [] and len(h.runner.workflows["collect"].steps) > 2


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: Job("x", 42), "unsupported body 42 (int); accepted: ShellCommand(command)"),
        (lambda: Job("x", ["echo"]), "unsupported body ['echo'] (list)"),
        (lambda: Job("bad id!", "true"), "invalid job id 'bad id!'"),
        (lambda: Job("x", "true", "0 * * * *"), "trigger must be EventTrigger"),  # type: ignore[arg-type]
        (lambda: Job("x", "true", timeout=0), "timeout must be seconds > 0"),
        (lambda: Job("x", "echo 'unclosed"), "cannot split command"),
        (lambda: Job("x", RxChain(into=42)), "RxChain sink must be a callable"),  # type: ignore[arg-type]
        (lambda: Job("x", RxChain("filter", into=[])), "operators must be callables"),  # type: ignore[arg-type]
        (lambda: TimeTrigger("61 * * * *"), "invalid cron expression '61 * * * *'"),
        (lambda: parse_job_line("--schedule 'every hour' echo hi"), "invalid cron expression 'every hour'"),
        (lambda: parse_job_line("--id x"), "no command"),
        (lambda: parse_job_line("--every 5 echo hi"), "unknown option '--every'"),
        (lambda: parse_job_line("--timeout soon echo hi"), "--timeout must be seconds, got 'soon'"),
        (lambda: Job.from_json({"id": "x", "body": "python: f"}), "only shell command jobs"),
        (lambda: Job.from_json({"id": "x", "command": "true", "cron": "0 * * * *"}), "unknown keys ['cron']"),
        (lambda: Job.from_json({"id": "x", "command": "true", "trigger": {"cron_expression": "0 0"}}), "invalid cron"),
        (lambda: Job.from_json({"id": "x", "command": "true", "trigger": {"every": 5}}), "expected {'cron_expression'"),
        (lambda: Job.from_json({"id": "x", "command": "true", "on_surpass": "later"}), "on_surpass 'later'"),
        (lambda: Job.from_json(["x"]), "must be a JSON object"),
    ],
)
def test_bad_definitions_name_the_value(make: Callable[[], object], needle: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as raised:
        make()
    assert needle in str(raised.value)


def test_parse_job_line_like_resoto() -> None:
    both = parse_job_line("--id early --schedule '0 4 * * *' --wait-for-event collect_done --timeout 60 echo 'a b'")
    assert both.trigger == TimeTrigger("0 4 * * *") and both.wait == EventTrigger("collect_done")
    assert both.timeout.total_seconds() == 60 and both.to_json()["command"] == "echo 'a b'"
    event_only = parse_job_line("--wait-for-event collect_done echo hi")
    assert event_only.trigger == EventTrigger("collect_done") and event_only.wait is None
    assert event_only.id.startswith("job-")


def test_command_jobs_survive_a_restart_with_their_last_state(make_jobs: type[Jobs], db: Path) -> None:
    first = make_jobs(SQLiteStore(db))
    first.jobs.add(Job("hello", "echo hello", TimeTrigger("0 * * * *")))
    first.jobs.add(Job("waiter", "true", TimeTrigger("0 4 * * *"), wait=EventTrigger("done", {"a": 1}), timeout=90))
    first.jobs.add(Job("gone", "true"))
    first.jobs.add(Job("inmem", print, EventTrigger("go")))
    first.jobs.add(Job("memcmd", "true", TimeTrigger("0 3 * * *")), persist=False)
    first.jobs.deactivate("memcmd")  # kept in memory only: (de)activating or updating does not store it
    first.jobs.update(Job("memcmd", "echo still in memory", TimeTrigger("0 3 * * *")))
    first.jobs.deactivate("hello")
    first.jobs.update(Job("waiter", "echo updated", TimeTrigger("0 5 * * *"), wait=EventTrigger("done"), timeout=90))
    first.jobs.delete("gone")
    first.close()

    second = make_jobs(SQLiteStore(db))
    assert [j.id for j in second.jobs.list()] == ["hello", "waiter"]
    hello, waiter = second.jobs.list()
    assert hello.active is False and second.runner.workflows["hello"].triggers == ()
    assert waiter == Job("waiter", "echo updated", TimeTrigger("0 5 * * *"), wait=EventTrigger("done"), timeout=90)
    assert [s.name for s in second.runner.workflows["waiter"].steps] == ["wait", "execute"]


def test_json_round_trip() -> None:
    job = Job("r", "echo hi", EventTrigger("x", {"k": "v"}), wait=EventTrigger("y"), wait_timeout=5, timeout=60)
    assert Job.from_json(job.to_json()) == job
