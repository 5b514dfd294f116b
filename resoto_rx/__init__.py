"""resoto_rx: Resoto's event bus as a reactive toolkit for Jupyter.

>>> from resoto_rx import EventBus
"""

from resoto_rx.bus import BusClosedError, EventBus
from resoto_rx.client import RemoteBus, connect
from resoto_rx.codec import MessageFormatError, decode, encode, to_json
from resoto_rx.config import CORE_CONFIG_ID, ConfigEntry, ConfigError, ConfigService, UnknownConfigError
from resoto_rx.history import History
from resoto_rx.jobs import (
    Emit,
    FrameView,
    Job,
    JobDefinitionError,
    JobRegistry,
    PythonCall,
    RxChain,
    ShellCommand,
    UnknownJobError,
    parse_job_line,
)
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
    "CORE_CONFIG_ID",
    "Action",
    "ActionAbort",
    "ActionDone",
    "ActionError",
    "ActionInfo",
    "ActionProgress",
    "BusClosedError",
    "ConfigEntry",
    "ConfigError",
    "ConfigService",
    "CoreEvent",
    "Emit",
    "Event",
    "EventBus",
    "FrameView",
    "History",
    "Job",
    "JobDefinitionError",
    "JobRegistry",
    "Message",
    "MessageFormatError",
    "PythonCall",
    "RemoteBus",
    "RxChain",
    "SQLiteStore",
    "ShellCommand",
    "UnknownConfigError",
    "UnknownJobError",
    "__version__",
    "connect",
    "decode",
    "encode",
    "parse_job_line",
    "to_json",
]
