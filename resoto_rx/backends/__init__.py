"""Backends that carry a bus between processes and hosts. Needs the ``redis`` extra.

>>> from resoto_rx.backends import RedisBackend                                  # doctest: +SKIP
>>> backend = RedisBackend("redis://127.0.0.1:6379/0", name="server-a")          # doctest: +SKIP
>>> bus = EventBus(backend.history(10_000), transport=backend.transport)         # doctest: +SKIP
"""

from resoto_rx.backends.history import StreamHistory
from resoto_rx.backends.ids import bus_id, stream_id
from resoto_rx.backends.redis_streams import BackendUnavailableError, RedisBackend
from resoto_rx.backends.registry import SUBSCRIBER_CHANGED, RegistryMirror
from resoto_rx.backends.transport import BACKEND_DISCONNECTED, BACKEND_RECONNECTED, RedisStreamsTransport

__all__ = [
    "BACKEND_DISCONNECTED",
    "BACKEND_RECONNECTED",
    "SUBSCRIBER_CHANGED",
    "BackendUnavailableError",
    "RedisBackend",
    "RedisStreamsTransport",
    "RegistryMirror",
    "StreamHistory",
    "bus_id",
    "stream_id",
]
