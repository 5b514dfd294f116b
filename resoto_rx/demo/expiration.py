"""Resoto's expiration tags.

``resoto:expires`` holds an ISO 8601 timestamp. ``expiration`` (and ``resoto:expiration``) holds a
duration relative to the resource's creation time, such as ``24h``, ``2d``, ``1d12h`` or ``7 days``;
as in the wild people also write a plain ISO date/time there, that is accepted too.
Units go down to one letter: w(eeks), d(ays), h(ours), m(inutes), s(econds) - ``m`` is minutes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from resoto_rx.demo.model import as_utc

EXPIRES_TAGS = ("resoto:expires",)
EXPIRATION_TAGS = ("resoto:expiration", "expiration")

_UNIT_SECONDS = {
    "w": 7 * 86400,
    "week": 7 * 86400,
    "weeks": 7 * 86400,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
}
_DURATION_PART = r"(\d+(?:\.\d+)?)\s*([a-zA-Z]+)"
_DURATION = re.compile(rf"\s*(?:{_DURATION_PART}[\s,]*)+")


def parse_duration(text: str) -> timedelta:
    """``"1d12h"`` -> 36 hours. Raises ``ValueError`` for anything that is not a list of number+unit."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"not a duration: {text!r} (expected e.g. '12h', '2d', '1w 3d')")
    seconds = 0.0
    for amount, unit in re.findall(_DURATION_PART, text):
        factor = _UNIT_SECONDS.get(unit.lower())
        if factor is None:
            raise ValueError(f"unknown duration unit {unit!r} in {text!r}")
        seconds += float(amount) * factor
    return timedelta(seconds=seconds)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date or date/time as aware UTC; a value without offset is taken to be UTC."""
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date/time: {text!r}") from None


def expiration_time(tags: Mapping[str, str], created_at: datetime) -> datetime | None:
    """When a resource with these tags expires, or ``None`` if it carries no usable expiration tag.

    Malformed values are ignored rather than raised: one bad tag on one resource must not stop the
    cleanup plan of a whole account (Resoto logs and skips them the same way).
    """
    for key in EXPIRES_TAGS:
        if key in tags:
            try:
                return parse_timestamp(tags[key])
            except ValueError:
                pass
    for key in EXPIRATION_TAGS:
        if key in tags:
            value = tags[key]
            try:
                return as_utc(created_at) + parse_duration(value)
            except ValueError:
                pass
            try:
                return parse_timestamp(value)
            except ValueError:
                pass
    return None


def is_expired(tags: Mapping[str, str], created_at: datetime, now: datetime) -> bool:
    expires_at = expiration_time(tags, created_at)
    return expires_at is not None and expires_at <= as_utc(now)
