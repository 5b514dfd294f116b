"""Pre-shared-key JWTs as resotolib makes them (PROTOCOL.md §5), and where a request carries one.

A token is an HS256 JWT whose header holds ``salt`` (base64 of 16 random bytes); the signing key is
PBKDF2-HMAC-SHA256(psk, salt, 100 000 iterations). Deriving a key costs tens of milliseconds, and
resotolib makes a fresh salt for every request, so keys are derived off the loop (``verify`` in an
executor) and the last few are cached by salt: a client that reuses its token pays once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import jwt
import orjson

ITERATIONS = 100_000
COOKIE = "resoto_authorization"
SCHEME = "Bearer"


class AuthError(Exception):
    """A request is not authenticated; the message says what was wrong (never the key)."""


def derive_key(psk: str, salt: bytes) -> bytes:
    """The HS256 key of ``psk`` with ``salt``."""
    return hashlib.pbkdf2_hmac("sha256", psk.encode(), salt, ITERATIONS)


def encode_token(psk: str, payload: Mapping[str, Any] | None = None, expire_in: int = 300) -> str:
    """A JWT for ``psk`` that resotocore (and this server) accepts, valid ``expire_in`` seconds.

    >>> token = encode_token("secret")
    >>> TokenVerifier("secret").verify_sync("Bearer " + token)["exp"] > 0
    True
    """
    salt = os.urandom(16)
    claims = {**(payload or {}), "exp": int(time.time()) + expire_in}
    headers = {"typ": "JWT", "alg": "HS256", "salt": base64.standard_b64encode(salt).decode()}
    return jwt.encode(claims, derive_key(psk, salt), algorithm="HS256", headers=headers)


def bearer(psk: str) -> str:
    """The ``Authorization`` header value for ``psk``."""
    return f"{SCHEME} {encode_token(psk)}"


class TokenVerifier:
    """Checks tokens against one pre-shared key, caching derived keys by salt."""

    def __init__(self, psk: str, cache_size: int = 256) -> None:
        self._psk = psk
        self._keys: OrderedDict[bytes, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    async def verify(self, value: str) -> dict[str, Any]:
        """The claims of ``value`` (``Bearer <jwt>`` or the bare jwt); derives an unknown key off the loop.

        Raises:
            AuthError: the token is malformed, expired, or not signed with the key.
        """
        token, salt = _split(value)
        key = self._cached(salt)
        if key is None:
            key = await asyncio.get_running_loop().run_in_executor(None, self._derive, salt)
        return _decode(token, key)

    def verify_sync(self, value: str) -> dict[str, Any]:
        """As :meth:`verify`, on the calling thread."""
        token, salt = _split(value)
        return _decode(token, self._cached(salt) or self._derive(salt))

    def _cached(self, salt: bytes) -> bytes | None:
        with self._lock:
            key = self._keys.get(salt)
            if key is not None:
                self._keys.move_to_end(salt)
            return key

    def _derive(self, salt: bytes) -> bytes:
        key = derive_key(self._psk, salt)
        with self._lock:
            self._keys[salt] = key
            while len(self._keys) > self._cache_size:
                self._keys.popitem(last=False)
        return key


def _split(value: str) -> tuple[str, bytes]:
    token = value.strip()
    if token[: len(SCHEME) + 1].lower() == SCHEME.lower() + " ":
        token = token[len(SCHEME) + 1 :].strip()
    if not token:
        raise AuthError("empty token: expected 'Bearer <jwt>'")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise AuthError(f"malformed JWT ({err}): expected 'Bearer <jwt>' signed with the pre-shared key") from None
    if header.get("alg") != "HS256":
        raise AuthError(f"JWT algorithm {header.get('alg')!r} not accepted: expected HS256 with a pre-shared key")
    salt = header.get("salt")
    if not isinstance(salt, str):
        raise AuthError("JWT header lacks 'salt': expected a token made from the pre-shared key (resotolib.jwt)")
    try:
        return token, base64.standard_b64decode(salt)
    except (binascii.Error, ValueError):
        raise AuthError(f"JWT header salt {salt[:40]!r} is not base64") from None


def _decode(token: str, key: bytes) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("JWT expired: make a new token") from None
    except jwt.InvalidSignatureError:
        raise AuthError("JWT signature does not match: wrong pre-shared key?") from None
    except jwt.PyJWTError as err:
        raise AuthError(f"JWT rejected: {err}") from None
    return claims


def token_from_request(headers: Mapping[str, str], cookies: Mapping[str, str], query_code: str | None) -> str | None:
    """The token a request carries: ``Authorization`` header, else cookie, else ``?code=``."""
    return headers.get("Authorization") or cookies.get(COOKIE) or query_code or None


def token_from_auth_frame(frame: str | bytes) -> str | None:
    """The jwt of a websocket authorization frame ``{"kind": "authorization", "jwt": "Bearer ..."}``, else None."""
    try:
        obj = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict) and obj.get("kind") == "authorization" and isinstance(obj.get("jwt"), str):
        return str(obj["jwt"])
    return None
