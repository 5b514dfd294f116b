"""What a server is told: where to listen, its pre-shared key, and its limits per client."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_PORT = 8900
MIB = 1024 * 1024
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class InsecureBindError(ValueError):
    """The server would listen beyond loopback without a pre-shared key."""


@dataclass(frozen=True)
class ServerSettings:
    """Settings of :class:`~resoto_rx.server.ResotoServer`.

    Args:
        host: address to bind. Without ``psk`` only loopback (127.0.0.1, ::1, localhost) is allowed.
        port: TCP port; 0 picks a free one (see ``ResotoServer.port``).
        psk: pre-shared key: every endpoint then requires the JWT of PROTOCOL.md §5.
        websocket_max_message_size: largest incoming websocket message in bytes (resotocore: 4 MiB).
        max_buffered_frames: frames a websocket client may leave unread before it is disconnected.
        max_buffered_bytes: bytes a websocket client may leave unread before it is disconnected.
        ping_interval: seconds between websocket pings (resotocore: 20).
        auth_timeout: seconds an unauthenticated ``/events`` client has to send its authorization frame.
        replay_chunk: messages read from the history per step of a ``since`` replay.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    psk: str | None = None
    websocket_max_message_size: int = 4 * MIB
    max_buffered_frames: int = 10_000
    max_buffered_bytes: int = 8 * MIB
    ping_interval: float = 20.0
    auth_timeout: float = 10.0
    replay_chunk: int = 500

    def __post_init__(self) -> None:
        for name in ("websocket_max_message_size", "max_buffered_frames", "max_buffered_bytes", "replay_chunk"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port!r}")
        for name in ("ping_interval", "auth_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0 seconds, got {getattr(self, name)!r}")
        if self.psk is not None and not self.psk:
            raise ValueError("psk must be a non-empty string (or None for no authentication)")

    def check_bind(self) -> None:
        """Refuse to serve beyond loopback without a pre-shared key.

        Raises:
            InsecureBindError: ``host`` is not a loopback address and no ``psk`` is set.
        """
        if self.psk is None and not is_loopback(self.host):
            raise InsecureBindError(
                f"refusing to listen on {self.host!r} without a pre-shared key: anyone who reaches it could "
                "start workflows and read every event. Pass a key (--psk / ServerSettings(psk=...)) "
                "or bind a loopback address (127.0.0.1, ::1, localhost)."
            )


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (an empty host or 0.0.0.0 means every interface: no)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
