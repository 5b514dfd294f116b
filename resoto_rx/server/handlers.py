"""The base of every REST handler: origin check, auth, JSON in and out, errors that say what to send."""

from __future__ import annotations

from typing import Any, NoReturn

import orjson
from tornado.web import Finish, RequestHandler

from resoto_rx.server.auth import token_from_request
from resoto_rx.server.context import ServerContext, same_origin

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class ApiHandler(RequestHandler):
    """JSON REST handler of a :class:`ServerContext`; errors answer ``{"error": "..."}``."""

    ctx: ServerContext

    def initialize(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    async def prepare(self) -> None:
        headers = self.request.headers
        if not same_origin(headers.get("Origin"), headers.get("Host")):
            self.fail(403, f"origin {headers.get('Origin')!r} does not match host {headers.get('Host')!r}")
        cookies = {name: morsel.value for name, morsel in self.request.cookies.items()}
        token = token_from_request(headers, cookies, self.get_query_argument("code", None))
        problem = await self.ctx.authorize(token)
        if problem is not None:
            self.fail(401, problem)

    def fail(self, status: int, message: str) -> NoReturn:
        """Answer ``status`` with ``{"error": message}`` and stop handling the request."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps({"error": message}))
        raise Finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps({"error": self._reason}))

    def reply(self, value: Any, status: int = 200) -> None:
        """Answer ``value`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))

    def text(self, value: str) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(value)

    def json_body(self) -> Any:
        """The request body as JSON (400 naming the problem otherwise)."""
        try:
            return orjson.loads(self.request.body or b"null")
        except orjson.JSONDecodeError as err:
            self.fail(400, f"body: expected JSON, got invalid JSON ({err})")

    def flag(self, name: str, default: bool) -> bool:
        """A boolean query argument: true/false in any case (resotolib sends ``True``), 1/0, yes/no."""
        value = self.get_query_argument(name, None)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        self.fail(400, f"{name}: expected true or false, got {value[:40]!r}")

    def number(self, name: str, default: float | None, minimum: float = 0, integer: bool = False) -> float | None:
        """A numeric query argument >= ``minimum`` (400 naming the value otherwise)."""
        value = self.get_query_argument(name, None)
        if value is None or value == "":
            return default
        kind = "an integer" if integer else "a number"
        try:
            number = int(value) if integer else float(value)
        except ValueError:
            self.fail(400, f"{name}: expected {kind} >= {minimum:g}, got {value[:40]!r}")
        if not number >= minimum or number == float("inf"):
            self.fail(400, f"{name}: expected {kind} >= {minimum:g}, got {value[:40]!r}")
        return number
