"""Tornado server: Resoto's websockets and REST endpoints over a resoto_rx core (PROTOCOL.md §4-5)."""

from resoto_rx.server.app import ROUTES, ResotoServer, make_app
from resoto_rx.server.auth import AuthError, TokenVerifier, bearer, encode_token
from resoto_rx.server.context import Core, ServerContext
from resoto_rx.server.settings import InsecureBindError, ServerSettings

__all__ = [
    "ROUTES",
    "AuthError",
    "Core",
    "InsecureBindError",
    "ResotoServer",
    "ServerContext",
    "ServerSettings",
    "TokenVerifier",
    "bearer",
    "encode_token",
    "make_app",
]
