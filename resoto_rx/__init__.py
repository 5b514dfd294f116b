"""resoto_rx: Resoto's event bus as a reactive toolkit for Jupyter.

>>> from resoto_rx import EventBus
"""

from resoto_rx.bus import BusClosedError, EventBus
from resoto_rx.codec import MessageFormatError, decode, encode, to_json
from resoto_rx.history import History
from resoto_rx.messages import (
    Action,
    ActionAbort,
    ActionDone,
    ActionError,
    ActionInfo,
    ActionProgress,
    CoreEvent,
    Event,
    Message,
)
from resoto_rx.store import SQLiteStore

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionAbort",
    "ActionDone",
    "ActionError",
    "ActionInfo",
    "ActionProgress",
    "BusClosedError",
    "CoreEvent",
    "Event",
    "EventBus",
    "History",
    "Message",
    "MessageFormatError",
    "SQLiteStore",
    "__version__",
    "decode",
    "encode",
    "to_json",
]
