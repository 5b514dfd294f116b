"""State one server shares between its handlers: the core it publishes, settings, auth, counters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

from resoto_rx.bus import EventBus
from resoto_rx.server.auth import AuthError, TokenVerifier
from resoto_rx.server.frames import FrameCache
from resoto_rx.server.metrics import MessageCounter, make_registry
from resoto_rx.server.outbound import ChannelStats
from resoto_rx.server.settings import ServerSettings
from resoto_rx.workflows.runner import TaskRunner


class Core(Protocol):
    """What a server publishes: a bus and its workflow engine (``ResotoRx`` has both).

    Optional attributes, used when present: ``demo`` (metrics of the simulated cloud), ``jobs``, ``config``.
    """

    bus: EventBus
    runner: TaskRunner


class Closable(Protocol):
    def close(self, code: int | None = None, reason: str | None = None) -> None: ...


@dataclass
class ServerStats:
    """Counters of one server (read by /metrics)."""

    connections: int = 0
    bad_frames: int = 0
    auth_failures: int = 0
    frames_received: int = 0


class ServerContext:
    """Everything the handlers of one server share."""

    def __init__(self, core: Core, settings: ServerSettings) -> None:
        self.core = core
        self.bus = core.bus
        self.runner = core.runner
        self.settings = settings
        self.verifier = TokenVerifier(settings.psk) if settings.psk else None
        self.frames = FrameCache()
        self.channel_stats = ChannelStats()
        self.stats = ServerStats()
        self.sockets: set[Closable] = set()
        self.claimed: set[str] = set()  # subscriber ids with a handle connection (open or opening)
        self.message_counter = MessageCounter()
        self.metrics_registry = make_registry(self, self.message_counter)

    def optional(self, name: str) -> Any:
        """``core.<name>`` if the core has it (demo, jobs, config), else None."""
        return getattr(self.core, name, None)

    async def authorize(self, token: str | None) -> str | None:
        """None when the request may proceed, else the problem (no key configured: always None)."""
        if self.verifier is None:
            return None
        if not token:
            self.stats.auth_failures += 1
            return (
                "authentication required: send 'Authorization: Bearer <jwt>' (JWT signed with the pre-shared key, "
                "PROTOCOL.md §5), cookie resoto_authorization or ?code=<jwt>"
            )
        try:
            await self.verifier.verify(token)
        except AuthError as err:
            self.stats.auth_failures += 1
            return f"authentication failed: {err}"
        return None


def same_origin(origin: str | None, host: str | None) -> bool:
    """True unless both are given and their hostnames differ (ports do not matter, as in resotocore)."""
    if not origin or not host:
        return True
    origin_host = urlparse(origin).hostname
    host_name = urlparse("//" + host).hostname
    if origin_host is None or host_name is None:
        return origin_host == host_name
    return origin_host.lower() == host_name.lower()
