"""A job: a body, an optional trigger, an optional wait for an event, a timeout (resotocore's ``Job``).

A job runs as a workflow of the task runner with the job's id: an optional ``wait`` step
(``WaitForEvent``, ``on_error=Stop``) and an ``execute`` step (``Execute``, ``on_error=Stop``), so
every run is a task with ``task_started`` / ``task_end`` and the runner's surpass behaviour.
As in Resoto, a schedule combined with an event means: at the scheduled time, wait for the event
(at most ``wait_timeout``), then run the body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from resoto_rx.jobs.bodies import JobBody, JobDefinitionError, RxChain, ShellCommand, as_body
from resoto_rx.workflows.model import (
    EventTrigger,
    Execute,
    OnError,
    Step,
    Surpass,
    TimeTrigger,
    WaitForEvent,
    Workflow,
    WorkflowDefinitionError,
)

DEFAULT_JOB_TIMEOUT = timedelta(hours=1)  # resotocore's `jobs add --timeout` default: 3600 s
JOB_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")
_JSON_KEYS = ("id", "command", "shell", "trigger", "wait", "timeout", "active", "on_surpass")


@dataclass(frozen=True)
class Job:
    """``Job("nightly", "./report.sh", TimeTrigger("0 4 * * *"), wait=EventTrigger("collect_done"))``.

    Args:
        id: letters, digits, ``_``, ``.`` and ``-``; also the id of its workflow and its tasks' ``task``.
        body: a :class:`ShellCommand` (or a command string), a :class:`PythonCall` (or any callable,
            sync or async, called with the trigger) or an :class:`RxChain`.
        trigger: an ``EventTrigger``, a ``TimeTrigger``, or None (runs only when asked: ``jobs.run(id)``).
        wait: after the trigger fired, wait for this event before running the body.
        wait_timeout: how long ``wait`` may take (default: ``timeout``, as in Resoto); the run fails after it.
        timeout: how long the body may run (seconds or timedelta); a shell command is killed after it.
        active: whether the trigger is registered; an inactive job still runs on ``jobs.run(id)``.
        on_surpass: what a trigger does while a run is going (default ``Wait``: one queued run).
    """

    id: str
    body: JobBody
    trigger: EventTrigger | TimeTrigger | None = None
    wait: EventTrigger | None = field(default=None, kw_only=True)
    wait_timeout: timedelta | None = field(default=None, kw_only=True)
    timeout: timedelta = field(default=DEFAULT_JOB_TIMEOUT, kw_only=True)
    active: bool = field(default=True, kw_only=True)
    on_surpass: Surpass = field(default=Surpass.Wait, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not JOB_ID.match(self.id):
            raise JobDefinitionError(
                f"invalid job id {self.id!r}: use letters, digits, '_', '.' and '-' (e.g. 'nightly-report')"
            )
        object.__setattr__(self, "body", as_body(self.body, self.id))
        if self.trigger is not None and not isinstance(self.trigger, EventTrigger | TimeTrigger):
            raise JobDefinitionError(
                f"job {self.id!r}: trigger must be EventTrigger(message_type, filter_data), "
                f"TimeTrigger(cron) or None, got {self.trigger!r}"
            )
        if self.wait is not None and not isinstance(self.wait, EventTrigger):
            raise JobDefinitionError(
                f"job {self.id!r}: wait must be EventTrigger(message_type, filter_data), got {self.wait!r}"
            )
        object.__setattr__(self, "timeout", _duration(self.timeout, f"job {self.id!r}: timeout"))
        if self.wait_timeout is not None:
            object.__setattr__(self, "wait_timeout", _duration(self.wait_timeout, f"job {self.id!r}: wait_timeout"))
        if not isinstance(self.active, bool):
            raise JobDefinitionError(f"job {self.id!r}: active must be True or False, got {self.active!r}")
        if not isinstance(self.on_surpass, Surpass):
            accepted = ", ".join(f"Surpass.{s.name}" for s in Surpass)
            raise JobDefinitionError(f"job {self.id!r}: on_surpass must be one of {accepted}, got {self.on_surpass!r}")

    @property
    def persistable(self) -> bool:
        """Only shell command jobs are plain data that can be stored and defined over HTTP."""
        return isinstance(self.body, ShellCommand)

    def workflow(self, call: Callable[[Any], Any]) -> Workflow:
        """The workflow that runs this job, with ``call`` as the body of its ``execute`` step."""
        steps = []
        if self.wait is not None:
            wait = WaitForEvent(self.wait.message_type, self.wait.filter_data)
            steps.append(Step("wait", wait, self.wait_timeout or self.timeout, OnError.Stop))
        steps.append(Step("execute", Execute(call, self.body.describe()), self.timeout, OnError.Stop))
        # An RxChain's trigger feeds its operator chain (see JobRegistry), never the runner directly.
        registered = self.active and self.trigger is not None and not isinstance(self.body, RxChain)
        triggers = [self.trigger] if registered and self.trigger is not None else []
        return Workflow(self.id, steps, triggers, self.on_surpass)

    # ---------------------------------------------------------------- JSON
    def to_json(self) -> dict[str, Any]:
        """The definition as JSON (resotocore's job shape); non-command bodies as a ``body`` description."""
        result: dict[str, Any] = {"id": self.id}
        if isinstance(self.body, ShellCommand):
            result["command"] = self.body.command
            result["shell"] = self.body.shell
        else:
            result["body"] = self.body.describe()
        if self.trigger is not None:
            result["trigger"] = _trigger_json(self.trigger)
        if self.wait is not None:  # without its own timeout the wait takes the job's (as in Resoto)
            result["wait"] = _trigger_json(self.wait)
            if self.wait_timeout is not None:
                result["wait"]["timeout"] = self.wait_timeout.total_seconds()
        result["timeout"] = self.timeout.total_seconds()
        result["active"] = self.active
        result["on_surpass"] = self.on_surpass.value
        return result

    @classmethod
    def from_json(cls, doc: object) -> Job:
        """A command job from its JSON definition (what ``to_json`` gives, or what arrives over HTTP).

        >>> Job.from_json({"id": "hi", "command": "echo hi", "trigger": {"cron_expression": "0 * * * *"}}).trigger
        TimeTrigger(cron='0 * * * *', timezone='UTC')
        """
        if not isinstance(doc, Mapping):
            raise JobDefinitionError(f"a job definition must be a JSON object, got {doc!r}")
        job_id: Any = doc.get("id")
        if "body" in doc or "command" not in doc:
            raise JobDefinitionError(
                f"job {job_id!r} cannot be defined from JSON: only shell command jobs ({{'command': str}}) "
                "are stored or defined over HTTP; add Python and RxChain jobs in-process with JobRegistry.add"
            )
        unknown = sorted(set(doc) - set(_JSON_KEYS))
        if unknown:
            raise JobDefinitionError(f"job {job_id!r}: unknown keys {unknown}; accepted: {', '.join(_JSON_KEYS)}")
        try:
            wait_doc = doc.get("wait")
            wait, wait_timeout = None, None
            if wait_doc is not None:
                wait_fields = {k: v for k, v in _object(wait_doc, "wait").items() if k != "timeout"}
                wait = _event_trigger(wait_fields, "wait")
                wait_timeout = _object(wait_doc, "wait").get("timeout")
            surpass = doc.get("on_surpass", Surpass.Wait.value)
            return cls(
                job_id,  # checked in __post_init__
                ShellCommand(doc["command"], doc.get("shell", False)),
                _trigger(doc.get("trigger")),
                wait=wait,
                wait_timeout=wait_timeout,
                timeout=doc.get("timeout", DEFAULT_JOB_TIMEOUT),
                active=doc.get("active", True),
                on_surpass=_surpass(surpass),
            )
        except JobDefinitionError:
            raise
        except WorkflowDefinitionError as err:
            raise JobDefinitionError(f"job {job_id!r}: {err}") from None


def _duration(value: object, what: str) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise JobDefinitionError(f"{what} must be seconds > 0 or a positive timedelta, got {value!r}")
    return value


def _trigger_json(trigger: EventTrigger | TimeTrigger) -> dict[str, Any]:
    if isinstance(trigger, TimeTrigger):
        return {"cron_expression": trigger.cron, "timezone": trigger.timezone}
    return {"message_type": trigger.message_type, "filter_data": dict(trigger.filter_data)}


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise JobDefinitionError(f"{what} must be a JSON object, got {value!r}")
    return value


def _trigger(value: object) -> EventTrigger | TimeTrigger | None:
    if value is None:
        return None
    doc = _object(value, "trigger")
    if "cron_expression" in doc:
        extra = sorted(set(doc) - {"cron_expression", "timezone"})
        if extra:
            raise JobDefinitionError(f"time trigger: unknown keys {extra}; accepted: cron_expression, timezone")
        return TimeTrigger(doc["cron_expression"], doc.get("timezone", "UTC"))
    if "message_type" in doc:
        return _event_trigger(doc, "trigger")
    raise JobDefinitionError(
        f"trigger {value!r}: expected {{'cron_expression': '0 * * * *'}} "
        "or {'message_type': ..., 'filter_data': {...}}"
    )


def _event_trigger(doc: Mapping[str, Any], what: str) -> EventTrigger:
    extra = sorted(set(doc) - {"message_type", "filter_data"})
    if extra or "message_type" not in doc:
        raise JobDefinitionError(f"{what} {dict(doc)!r}: expected keys message_type and optionally filter_data")
    filter_data = doc.get("filter_data") or {}
    if not isinstance(filter_data, Mapping):
        raise JobDefinitionError(f"{what}: filter_data must be a JSON object, got {filter_data!r}")
    return EventTrigger(doc["message_type"], filter_data)


def _surpass(value: object) -> Surpass:
    for surpass in Surpass:
        if value == surpass.value:
            return surpass
    raise JobDefinitionError(f"on_surpass {value!r}: accepted {', '.join(s.value for s in Surpass)}")
