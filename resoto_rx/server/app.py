"""The Tornado application and :class:`ResotoServer`, which publishes a core's bus like resotocore does.

>>> import asyncio
>>> from resoto_rx.app import ResotoRx
>>> async def main() -> str:
...     with ResotoRx(store=None, demo=False) as core:
...         async with ResotoServer(core, ServerSettings(port=0)) as server:
...             return server.url.startswith("http://127.0.0.1:")
>>> asyncio.run(main())
True
"""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from resoto_rx.server.context import Core, ServerContext
from resoto_rx.server.rest import (
    HistoryHandler,
    MetricsHandler,
    OpenApiHandler,
    PingHandler,
    ReadyHandler,
    RunningHandler,
    RunsHandler,
    StopHandler,
    SubscriberHandler,
    SubscribersForHandler,
    SubscribersHandler,
    SubscriptionHandler,
    WorkflowRunHandler,
    WorkflowsHandler,
)
from resoto_rx.server.rest_admin import (
    ConfigHandler,
    ConfigsHandler,
    JobActivateHandler,
    JobDeactivateHandler,
    JobHandler,
    JobRunHandler,
    JobsHandler,
)
from resoto_rx.server.settings import ServerSettings
from resoto_rx.server.websocket import GOING_AWAY, EventsSocket, SubscriberSocket

log = logging.getLogger(__name__)

# Path templates in OpenAPI form; order matters where two match (…/handle before …/{message_type}).
ROUTES: list[tuple[str, type[RequestHandler]]] = [
    ("/events", EventsSocket),
    ("/subscriber/{subscriber_id}/handle", SubscriberSocket),
    ("/subscribers", SubscribersHandler),
    ("/subscribers/for/{message_type}", SubscribersForHandler),
    ("/subscriber/{subscriber_id}", SubscriberHandler),
    ("/subscriber/{subscriber_id}/{message_type}", SubscriptionHandler),
    ("/system/ping", PingHandler),
    ("/system/ready", ReadyHandler),
    ("/workflows", WorkflowsHandler),
    ("/workflows/running", RunningHandler),
    ("/workflows/runs", RunsHandler),
    ("/workflows/running/{task_id}/stop", StopHandler),
    ("/workflows/{workflow_id}/run", WorkflowRunHandler),
    ("/configs", ConfigsHandler),
    ("/config/{config_id}", ConfigHandler),
    ("/jobs", JobsHandler),
    ("/job/{job_id}", JobHandler),
    ("/job/{job_id}/run", JobRunHandler),
    ("/job/{job_id}/activate", JobActivateHandler),
    ("/job/{job_id}/deactivate", JobDeactivateHandler),
    ("/history", HistoryHandler),
    ("/metrics", MetricsHandler),
    ("/openapi", OpenApiHandler),
]
WEBSOCKET_ROUTES = ("/events", "/subscriber/{subscriber_id}/handle")
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def url_pattern(template: str) -> str:
    """The tornado pattern of an OpenAPI path template: ``{name}`` matches one path segment."""
    return re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)


def route_methods(handler: type[RequestHandler]) -> list[str]:
    """The HTTP methods ``handler`` implements."""
    return [m for m in HTTP_METHODS if getattr(handler, m) is not getattr(RequestHandler, m)]


def make_app(ctx: ServerContext) -> Application:
    """The tornado application of ``ctx``."""
    settings = ctx.settings
    handlers: list[Any] = [(url_pattern(path), handler, {"ctx": ctx}) for path, handler in ROUTES]
    return Application(
        handlers,
        websocket_max_message_size=settings.websocket_max_message_size,
        websocket_ping_interval=settings.ping_interval,
    )


class ResotoServer:
    """Serves ``core`` (bus + workflow engine, e.g. :class:`~resoto_rx.app.ResotoRx`) over HTTP and websockets.

    Start it on the loop that owns the core's bus; ``await server.stop()`` closes every connection.
    """

    def __init__(self, core: Core, settings: ServerSettings | None = None) -> None:
        self.settings = settings or ServerSettings()
        self.ctx = ServerContext(core, self.settings)
        self._http: HTTPServer | None = None
        self.port = self.settings.port

    async def start(self) -> ResotoServer:
        """Bind and serve.

        Raises:
            InsecureBindError: a non-loopback host without a pre-shared key.
            OSError: the port is taken.
        """
        self.settings.check_bind()
        sockets = bind_sockets(self.settings.port, address=self.settings.host)
        self.port = sockets[0].getsockname()[1]
        self._http = HTTPServer(make_app(self.ctx), max_body_size=self.settings.websocket_max_message_size)
        self._http.add_sockets(sockets)
        self.ctx.message_counter.attach(self.ctx)
        log.info("serving %s (websockets %s)", self.url, self.ws_url)
        return self

    @property
    def host(self) -> str:
        host = self.settings.host
        if host in ("", "0.0.0.0", "::"):
            return socket.gethostname()
        return f"[{host}]" if ":" in host else host

    @property
    def url(self) -> str:
        """``http://host:port``: the REST base URL (resotolib's ``resotocore_uri``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://host:port``: the websocket base URL (resotolib's ``resotocore_ws_uri``)."""
        return f"ws://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Close every websocket (1001), stop listening and drop open connections."""
        for sock in list(self.ctx.sockets):
            sock.close(GOING_AWAY, "server shutting down")
        self.ctx.message_counter.detach()
        if self._http is not None:
            http, self._http = self._http, None
            http.stop()
            await http.close_all_connections()

    async def __aenter__(self) -> ResotoServer:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()
