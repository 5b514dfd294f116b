"""Resoto's ``jobs add`` command line as a :class:`Job`.

``[--id ID] [--schedule CRON] [--wait-for-event EVENT] [--timeout SECONDS] COMMAND...``: a schedule
alone or an event alone is the trigger; both together mean "at the scheduled time, wait for the
event" (with the job's timeout, as in resotocore). Options come before the command; everything from
the first other word on is the command line.
"""

from __future__ import annotations

import shlex
import uuid
from datetime import timedelta

from resoto_rx.jobs.bodies import JobDefinitionError, ShellCommand
from resoto_rx.jobs.model import DEFAULT_JOB_TIMEOUT, Job
from resoto_rx.workflows.model import EventTrigger, TimeTrigger, WorkflowDefinitionError

_OPTIONS = ("--id", "--schedule", "--wait-for-event", "--timeout")


def parse_job_line(line: str) -> Job:
    """``parse_job_line("--id hi --schedule '*/5 * * * *' echo hello")``.

    Raises:
        JobDefinitionError: an unknown option, a missing value or command, a bad cron or timeout.
    """
    try:
        words = shlex.split(line)
    except ValueError as err:
        raise JobDefinitionError(f"cannot split job line {line!r}: {err}") from None
    values: dict[str, str] = {}
    while words and words[0].startswith("--"):
        option = words.pop(0)
        if option not in _OPTIONS:
            raise JobDefinitionError(f"unknown option {option!r} in {line!r}; accepted: {', '.join(_OPTIONS)}")
        if not words:
            raise JobDefinitionError(f"option {option} needs a value in {line!r}")
        values[option] = words.pop(0)
    if not words:
        raise JobDefinitionError(f"no command in {line!r}: expected [options] COMMAND, e.g. '--id hi echo hello'")
    job_id = values.get("--id") or f"job-{uuid.uuid4().hex[:8]}"
    timeout = DEFAULT_JOB_TIMEOUT
    if "--timeout" in values:
        try:
            timeout = timedelta(seconds=float(values["--timeout"]))
        except (ValueError, OverflowError):
            raise JobDefinitionError(f"--timeout must be seconds, got {values['--timeout']!r}") from None
    try:
        schedule = TimeTrigger(values["--schedule"]) if "--schedule" in values else None
        event = EventTrigger(values["--wait-for-event"]) if "--wait-for-event" in values else None
    except WorkflowDefinitionError as err:
        raise JobDefinitionError(f"job {job_id!r}: {err}") from None
    command = ShellCommand(shlex.join(words))
    if schedule is not None and event is not None:
        return Job(job_id, command, schedule, wait=event, timeout=timeout)
    return Job(job_id, command, schedule or event, timeout=timeout)
