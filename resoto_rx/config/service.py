"""The config service: JSON documents by id with a revision, change events on the bus (resotocore's config handler).

``put`` replaces a document, ``patch`` merges into it (RFC 7386: ``null`` removes a key, objects merge,
anything else replaces), ``delete`` removes it. ``config-updated`` ``{id, revision}`` is published
only when the content really changed (compared as canonical JSON, so ``1`` and ``true`` differ),
``config-deleted`` ``{id}`` on delete. A document is checked completely first: content that is not a
JSON object, or that a validator for its id refuses, raises :class:`ConfigError` and changes nothing.
Revisions are opaque strings as in Resoto (here the decimal of a counter that never repeats).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from reactivex import abc
from reactivex.disposable import Disposable

from resoto_rx.bus import EventBus
from resoto_rx.documents import DocumentTable, StoredDocument
from resoto_rx.errors import UnknownIdError
from resoto_rx.messages import CoreEvent
from resoto_rx.store import SQLiteStore

log = logging.getLogger(__name__)

ConfigValidator = Callable[[dict[str, Any]], None]
"""Raises ``ConfigError`` (or ``ValueError``) for content it refuses; returns nothing otherwise."""


class ConfigError(ValueError):
    """A config document or patch is invalid; the message names the id, the value and what is accepted."""


class UnknownConfigError(UnknownIdError):
    """No config document with that id; the message lists the known ones."""


@dataclass(frozen=True)
class ConfigEntry:
    """One stored document: ``content`` is a fresh copy, safe to change."""

    id: str
    content: dict[str, Any]
    revision: str


class ConfigService:
    """Config documents in the embedded store (table ``config``).

    >>> config = ConfigService(bus)                                              # doctest: +SKIP
    >>> config.patch("resoto.core", {"cleanup": {"enabled": True}}).revision     # doctest: +SKIP
    '1'
    """

    def __init__(self, bus: EventBus, store: SQLiteStore | None = None) -> None:
        self.bus = bus
        self._table = DocumentTable(store, "config")
        self._validators: dict[str, list[ConfigValidator]] = {}

    # ---------------------------------------------------------------- reads
    def get(self, config_id: str) -> ConfigEntry | None:
        """The document ``config_id``, or None."""
        stored = self._table.get(config_id)
        return None if stored is None else _entry(stored)

    def show(self, config_id: str) -> ConfigEntry:
        """The document ``config_id``; raises :class:`UnknownConfigError` if there is none."""
        entry = self.get(config_id)
        if entry is None:
            raise UnknownConfigError(f"no config with id {config_id!r}; known ids: {', '.join(self.ids()) or 'none'}")
        return entry

    def ids(self) -> list[str]:
        """Ids of every stored document, sorted."""
        return [stored.id for stored in self._table.all()]

    # --------------------------------------------------------------- writes
    def put(self, config_id: str, content: Mapping[str, Any]) -> ConfigEntry:
        """Replace the document ``config_id`` with ``content`` (a JSON object)."""
        _check_id(config_id)
        return self._write(config_id, _json_object(content, config_id, "content"))

    def patch(self, config_id: str, patch: Mapping[str, Any]) -> ConfigEntry:
        """Merge ``patch`` into the document (a missing document starts as ``{}``): RFC 7386 merge patch."""
        _check_id(config_id)
        checked = _json_object(patch, config_id, "patch")
        current = self._table.get(config_id)
        merged = merge_patch(current.content if current is not None else {}, checked)
        return self._write(config_id, merged)

    def delete(self, config_id: str) -> ConfigEntry:
        """Remove the document; returns what it held."""
        entry = self.show(config_id)
        self._check_bus(config_id)
        self._table.delete(config_id)
        self.bus.emit(CoreEvent.CONFIG_DELETED, {"id": config_id})
        return entry

    def add_validator(self, config_id: str, validator: ConfigValidator) -> abc.DisposableBase:
        """Check every new content of ``config_id`` with ``validator`` before it is stored; dispose to stop."""
        self._validators.setdefault(config_id, []).append(validator)

        def remove() -> None:
            validators = self._validators.get(config_id, [])
            if validator in validators:
                validators.remove(validator)

        return Disposable(remove)

    def _write(self, config_id: str, content: dict[str, Any]) -> ConfigEntry:
        for validator in list(self._validators.get(config_id, ())):
            try:
                validator(content)
            except ConfigError:
                raise
            except ValueError as err:
                raise ConfigError(f"config {config_id!r}: {err}") from None
        current = self._table.get(config_id)
        if current is not None and _canonical(current.content) == _canonical(content):
            return _entry(current)  # unchanged: no new revision, no event (as in resotocore)
        self._check_bus(config_id)
        stored = self._table.put(config_id, content)
        self.bus.emit(CoreEvent.CONFIG_UPDATED, {"id": config_id, "revision": str(stored.revision)})
        return _entry(stored)

    def _check_bus(self, config_id: str) -> None:
        if self.bus.closed:  # a change nobody could hear of would leave listeners with stale config
            raise ConfigError(f"config {config_id!r} not changed: the bus is closed")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: ``patch`` applied to ``target`` (neither is changed).

    >>> merge_patch({"a": 1, "b": {"c": 2}}, {"a": None, "b": {"d": 3}})
    {'b': {'c': 2, 'd': 3}}
    """
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _entry(stored: StoredDocument) -> ConfigEntry:
    return ConfigEntry(stored.id, stored.content, str(stored.revision))


def _check_id(config_id: object) -> None:
    if not isinstance(config_id, str) or not config_id.strip():
        raise ConfigError(f"config id must be a non-empty string such as 'resoto.core', got {config_id!r}")


def _canonical(content: dict[str, Any]) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def _json_object(value: object, config_id: str, what: str) -> dict[str, Any]:
    """``value`` as a plain JSON object (a copy), or ConfigError naming what is wrong."""
    if not isinstance(value, Mapping):
        kind = type(value).__name__
        raise ConfigError(f"config {config_id!r}: the {what} must be a JSON object, got {kind} {value!r}")
    try:
        copy: dict[str, Any] = orjson.loads(orjson.dumps(dict(value)))
    except TypeError as err:
        raise ConfigError(f"config {config_id!r}: the {what} is not JSON ({err}): {value!r}") from None
    if copy != value:
        # orjson writes NaN and infinity as null and tuples as lists: refuse rather than store something else
        raise ConfigError(
            f"config {config_id!r}: the {what} holds values JSON cannot keep (NaN, infinity, tuples): {value!r}"
        )
    return copy
