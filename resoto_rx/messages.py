"""Message types of Resoto's event bus (PROTOCOL.md §1): immutable values, no I/O.

Every message has a ``message_type`` and a ``data`` mapping. Action messages also name the
``task`` and ``step`` they belong to; replies name the ``subscriber_id`` that sent them.
``id`` and ``at`` are ``None`` until the bus publishes the message: publishing stamps a
fresh message with its sequence number and emit time (see :meth:`EventBus.emit`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, NoReturn, TypeAlias

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
Json: TypeAlias = "dict[str, JsonValue]"

KINDS = (
    "event",
    "action",
    "action_abort",
    "action_done",
    "action_error",
    "action_info",
    "action_progress",
)
Kind = Literal[
    "event",
    "action",
    "action_abort",
    "action_done",
    "action_error",
    "action_info",
    "action_progress",
]
INFO_LEVELS = ("info", "warning", "error")


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes: the ``data`` of a message is a value, not a shared buffer.

    It stays a real ``dict`` so JSON encoders and pandas take it as one. Nested values are not
    copied (as in resotocore's frozendict); the bus has already encoded them at emit time.
    """

    __slots__ = ()

    def _refuse(self, *_: object, **__: object) -> NoReturn:
        raise TypeError("message data is immutable; build a new message instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        # dict's default pickling refills the new object item by item, which _refuse forbids.
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        # Hashable when its values are, like a tuple; unhashable values raise TypeError here.
        return hash(frozenset(self.items()))


EMPTY: FrozenDict = FrozenDict()


def freeze(data: Mapping[str, Any] | None) -> FrozenDict:
    """The immutable copy of ``data`` that a message keeps."""
    if data is None:
        return EMPTY
    if isinstance(data, FrozenDict):
        return data
    return FrozenDict(data)


@dataclass(frozen=True, slots=True)
class Message:
    """Base of all messages. Use one of the concrete kinds, e.g. ``Event("my_event", {"a": 1})``."""

    kind: ClassVar[Kind]
    message_type: str
    data: Mapping[str, Any] = field(default=EMPTY)
    id: int | None = field(default=None, kw_only=True)
    at: datetime | None = field(default=None, kw_only=True)
    encoded_data: bytes | None = field(default=None, init=False, repr=False, compare=False)
    """The wire ``data`` as JSON bytes, set when the bus publishes the message (encode once, send many)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", freeze(self.data))


@dataclass(frozen=True, slots=True)
class Event(Message):
    """Something happened: ``Event("start_collect_workflow")``."""

    kind: ClassVar[Kind] = "event"


@dataclass(frozen=True, slots=True)
class ActionMessage(Message):
    """A message that belongs to one step of one task."""

    task: str = field(kw_only=True)
    step: str = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class Action(ActionMessage):
    """The bus asks subscribers to perform ``message_type`` for ``task`` / ``step``."""

    kind: ClassVar[Kind] = "action"

    def done(self, subscriber_id: str) -> ActionDone:
        """The acknowledgement a subscriber sends when it performed this action."""
        return ActionDone(self.message_type, task=self.task, step=self.step, subscriber_id=subscriber_id)

    def error(self, subscriber_id: str, error: str) -> ActionError:
        """The reply of a subscriber that failed to perform this action."""
        return ActionError(self.message_type, task=self.task, step=self.step, subscriber_id=subscriber_id, error=error)


@dataclass(frozen=True, slots=True)
class ActionAbort(ActionMessage):
    """The bus tells subscribers that the task of a running action was stopped."""

    kind: ClassVar[Kind] = "action_abort"


@dataclass(frozen=True, slots=True)
class ActionReply(ActionMessage):
    """A subscriber's answer to an action."""

    subscriber_id: str = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class ActionDone(ActionReply):
    """A subscriber performed the action."""

    kind: ClassVar[Kind] = "action_done"


@dataclass(frozen=True, slots=True)
class ActionError(ActionReply):
    """A subscriber failed to perform the action; ``error`` says why."""

    kind: ClassVar[Kind] = "action_error"
    error: str = field(default="n/a", kw_only=True)


@dataclass(frozen=True, slots=True)
class ActionInfo(ActionReply):
    """A subscriber reports something about the action at ``level`` info, warning or error."""

    kind: ClassVar[Kind] = "action_info"
    level: str = field(default="info", kw_only=True)
    message: str = field(default="", kw_only=True)


@dataclass(frozen=True, slots=True)
class ActionProgress(ActionReply):
    """A subscriber reports progress: ``progress`` is a progress tree (PROTOCOL.md §1)."""

    kind: ClassVar[Kind] = "action_progress"
    progress: Mapping[str, Any] = field(default=EMPTY, kw_only=True)
    reported_at: datetime | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        Message.__post_init__(self)
        object.__setattr__(self, "progress", freeze(self.progress))  # a value, like data
        if self.reported_at is None:  # progress is reported when it is made
            object.__setattr__(self, "reported_at", datetime.now(UTC))


# The bus's hot path sets slots through their descriptors: a frozen dataclass's __init__ costs ~3x more.
def _slot_setter(name: str) -> Callable[[Message, Any], None]:
    descriptor: Any = Message.__dict__[name]  # the slot's member descriptor
    setter: Callable[[Message, Any], None] = descriptor.__set__
    return setter


_new = object.__new__
_set_message_type = _slot_setter("message_type")
_set_data = _slot_setter("data")
set_id = _slot_setter("id")
set_at = _slot_setter("at")
set_encoded_data = _slot_setter("encoded_data")


def new_event(message_type: str, data: Mapping[str, Any] | None) -> Event:
    """``Event(message_type, data)``, built the fast way (what ``EventBus.emit("type", data)`` uses)."""
    event: Event = _new(Event)
    _set_message_type(event, message_type)
    _set_data(event, freeze(data))
    set_id(event, None)
    set_at(event, None)
    set_encoded_data(event, None)
    return event


MESSAGE_CLASSES: dict[str, type[Message]] = {
    cls.kind: cls for cls in (Event, Action, ActionAbort, ActionDone, ActionError, ActionInfo, ActionProgress)
}


class CoreEvent:
    """Names of the bus's own events (PROTOCOL.md §2)."""

    CONNECTED = "message-listener-connected"
    DISCONNECTED = "message-listener-disconnected"
    CONFIG_UPDATED = "config-updated"
    CONFIG_DELETED = "config-deleted"
    TASK_STARTED = "task_started"
    PROGRESS = "progress"
    TASK_END = "task_end"
    ERROR = "error"
