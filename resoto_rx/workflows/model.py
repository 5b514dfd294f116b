"""Workflow definitions: steps, step actions, triggers and surpass behaviour (PROTOCOL.md §3).

Definitions are immutable values checked when they are made: an unknown step kind, a bad cron
string, duplicate step names or a negative timeout raise :class:`WorkflowDefinitionError` at once,
not when the workflow first runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from resoto_rx.messages import FrozenDict, Message, freeze

DEFAULT_STEP_TIMEOUT = timedelta(seconds=10)


class WorkflowDefinitionError(ValueError):
    """A workflow, step or trigger definition is invalid; the message names the value and what is accepted."""


class OnError(Enum):
    """What a step does when a subscriber answers with an error or the step times out."""

    Continue = "continue"  # the error counts as an answer: go on with the next step
    Stop = "stop"  # end the task with an error


class Surpass(Enum):
    """What happens when a workflow is triggered while a run of it is still going."""

    Skip = "skip"  # ignore the trigger
    Parallel = "parallel"  # start another run beside it
    Replace = "replace"  # end the running one with an error and start a new one
    Wait = "wait"  # start one more run when the current one ends (at most one queued)


@dataclass(frozen=True)
class PerformAction:
    """Publish the action ``message_type`` and wait for the blocking subscribers to answer."""

    message_type: str

    def __post_init__(self) -> None:
        _name(self.message_type, "PerformAction.message_type")


@dataclass(frozen=True)
class EmitEvent:
    """Publish an event and go on."""

    message_type: str
    data: Mapping[str, Any] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        _name(self.message_type, "EmitEvent.message_type")
        object.__setattr__(self, "data", freeze(self.data))


@dataclass(frozen=True)
class EventMatch:
    """An event ``message_type`` whose data holds every key of ``filter_data`` with that value."""

    message_type: str
    filter_data: Mapping[str, Any] = field(default_factory=FrozenDict)

    def __post_init__(self) -> None:
        _name(self.message_type, f"{type(self).__name__}.message_type")
        object.__setattr__(self, "filter_data", freeze(self.filter_data))

    def matches(self, message: Message) -> bool:
        return matches(message, self.message_type, self.filter_data)


@dataclass(frozen=True)
class WaitForEvent(EventMatch):
    """Wait until an event ``message_type`` arrives whose data holds every key of ``filter_data``."""


@dataclass(frozen=True)
class WaitForGraphMerge:
    """Wait until every graph part collected for this task is merged (resotocore's ``wait_for_graph_merged``)."""


@dataclass(frozen=True)
class Execute:
    """Call ``call`` with what started the task and end the step when it returns (or its awaitable completes).

    ``call`` gets the event the latest ``WaitForEvent`` step received, else the task's trigger (the
    triggering message, the item a reactive job delivered, or None for time and manual runs). A raise
    is a step error; what it returns is kept as ``StepRun.result``. An awaitable result runs as an
    asyncio task on the bus loop and is cancelled when the step times out or the task is stopped.
    """

    call: Callable[[Any], Any]
    description: str = ""

    def __post_init__(self) -> None:
        if not callable(self.call):
            raise WorkflowDefinitionError(f"Execute.call must be callable, got {self.call!r}")


StepAction: TypeAlias = PerformAction | EmitEvent | WaitForEvent | WaitForGraphMerge | Execute
STEP_ACTIONS = (PerformAction, EmitEvent, WaitForEvent, WaitForGraphMerge, Execute)


@dataclass(frozen=True)
class Step:
    """One step of a workflow: ``Step("collect", PerformAction("collect"))``."""

    name: str
    action: StepAction
    timeout: timedelta = DEFAULT_STEP_TIMEOUT
    on_error: OnError = OnError.Continue

    def __post_init__(self) -> None:
        _name(self.name, "Step.name")
        if not isinstance(self.action, STEP_ACTIONS):
            accepted = ", ".join(cls.__name__ for cls in STEP_ACTIONS)
            raise WorkflowDefinitionError(
                f"step {self.name!r}: unknown step kind {type(self.action).__name__}; accepted: {accepted}"
            )
        if isinstance(self.timeout, int | float) and not isinstance(self.timeout, bool):
            object.__setattr__(self, "timeout", timedelta(seconds=self.timeout))
        if not isinstance(self.timeout, timedelta) or self.timeout < timedelta(0):
            raise WorkflowDefinitionError(
                f"step {self.name!r}: timeout must be a timedelta or seconds >= 0, got {self.timeout!r}"
            )
        if not isinstance(self.on_error, OnError):
            raise WorkflowDefinitionError(f"step {self.name!r}: on_error must be OnError.Continue or OnError.Stop")


@dataclass(frozen=True)
class EventTrigger(EventMatch):
    """Start when an event ``message_type`` arrives whose data holds every key of ``filter_data``."""


@dataclass(frozen=True)
class TimeTrigger:
    """Start on a 5-field cron schedule, read in ``timezone``: ``TimeTrigger("0 * * * *")`` is hourly."""

    cron: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not isinstance(self.cron, str) or len(self.cron.split()) != 5 or not croniter.is_valid(self.cron):
            raise WorkflowDefinitionError(
                f"invalid cron expression {self.cron!r}: expected 5 fields 'minute hour day month weekday', "
                "e.g. '0 * * * *' for hourly"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
            raise WorkflowDefinitionError(
                f"unknown time zone {self.timezone!r}: expected an IANA name such as 'UTC' or 'Europe/Berlin'"
            ) from err

    def next_after(self, moment: datetime) -> datetime:
        """The first time this trigger fires strictly after ``moment`` (an aware datetime)."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        fire: datetime = croniter(self.cron, local).get_next(datetime)
        return fire.astimezone(moment.tzinfo)


Trigger: TypeAlias = EventTrigger | TimeTrigger


@dataclass(frozen=True)
class Workflow:
    """A named list of steps with triggers: ``Workflow("collect", [Step(...), ...], [EventTrigger(...)])``."""

    id: str
    steps: Sequence[Step]
    triggers: Sequence[Trigger] = ()
    on_surpass: Surpass = Surpass.Wait

    def __post_init__(self) -> None:
        _name(self.id, "Workflow.id")
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "triggers", tuple(self.triggers))
        if not self.steps:
            raise WorkflowDefinitionError(f"workflow {self.id!r} needs at least one step")
        seen: set[str] = set()
        for step in self.steps:
            if not isinstance(step, Step):
                raise WorkflowDefinitionError(f"workflow {self.id!r}: steps must be Step values, got {step!r}")
            if step.name in seen:
                raise WorkflowDefinitionError(f"workflow {self.id!r}: duplicate step name {step.name!r}")
            seen.add(step.name)
        for trigger in self.triggers:
            if not isinstance(trigger, EventTrigger | TimeTrigger):
                raise WorkflowDefinitionError(
                    f"workflow {self.id!r}: triggers must be EventTrigger or TimeTrigger, got {trigger!r}"
                )
        if not isinstance(self.on_surpass, Surpass):
            accepted = ", ".join(s.name for s in Surpass)
            raise WorkflowDefinitionError(f"workflow {self.id!r}: on_surpass must be one of {accepted}")

    @property
    def action_steps(self) -> list[str]:
        """The message types this workflow publishes as actions, in order."""
        return [s.action.message_type for s in self.steps if isinstance(s.action, PerformAction)]

    def with_schedule(self, cron: str | None, timezone: str = "UTC") -> Workflow:
        """This workflow with its time triggers replaced by ``cron`` (None: no schedule)."""
        triggers: list[Trigger] = [t for t in self.triggers if not isinstance(t, TimeTrigger)]
        if cron is not None:
            triggers.append(TimeTrigger(cron, timezone))
        return Workflow(self.id, self.steps, triggers, self.on_surpass)


def matches(message: Message, message_type: str, filter_data: Mapping[str, Any]) -> bool:
    """True if ``message`` has ``message_type`` and its data holds every key of ``filter_data`` with that value."""
    if message.message_type != message_type:
        return False
    data = message.data
    return all(key in data and data[key] == value for key, value in filter_data.items())


def _name(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise WorkflowDefinitionError(f"{what} must be a non-empty string, got {value!r}")
