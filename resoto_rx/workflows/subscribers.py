"""Who subscribed to which action, whether the workflow waits for them, and for how long.

The registry is the engine's view of resotocore's ``/subscriber`` API. Every change is published
on ``changes`` so a running step can drop a subscriber that went away from its wait.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from reactivex import Observable
from reactivex.subject import Subject

from resoto_rx.messages import FrozenDict, Json

DEFAULT_SUBSCRIPTION_TIMEOUT = timedelta(seconds=60)


class SubscriptionError(ValueError):
    """A subscription request is invalid; the message names the value and what is accepted."""


@dataclass(frozen=True)
class Subscription:
    """``subscriber`` wants ``message_type``; with ``wait_for_completion`` the step waits up to ``timeout`` for it."""

    message_type: str
    wait_for_completion: bool = True
    timeout: timedelta = DEFAULT_SUBSCRIPTION_TIMEOUT

    def __post_init__(self) -> None:
        if not isinstance(self.message_type, str) or not self.message_type:
            raise SubscriptionError(f"message_type must be a non-empty string, got {self.message_type!r}")
        if isinstance(self.timeout, int | float) and not isinstance(self.timeout, bool):
            object.__setattr__(self, "timeout", timedelta(seconds=self.timeout))
        if not isinstance(self.timeout, timedelta) or self.timeout < timedelta(0):
            raise SubscriptionError(f"timeout must be >= 0 seconds, got {self.timeout!r}")
        if not isinstance(self.wait_for_completion, bool):
            raise SubscriptionError(f"wait_for_completion must be true or false, got {self.wait_for_completion!r}")

    def to_json(self) -> Json:
        seconds = self.timeout.total_seconds()
        return {
            "message_type": self.message_type,
            # Whole seconds as resotocore sends them; a fraction is kept (a mirrored registry must not
            # turn 0.5 s into 0, which would make every action look abandoned at once).
            "timeout": int(seconds) if seconds.is_integer() else seconds,
            "wait_for_completion": self.wait_for_completion,
        }


@dataclass(frozen=True)
class Subscriber:
    """A subscriber id with its subscriptions by message type."""

    id: str
    subscriptions: Mapping[str, Subscription] = field(default_factory=FrozenDict)

    def to_json(self) -> Json:
        """The JSON resotocore answers on ``/subscriber/{id}``."""
        return {"id": self.id, "subscriptions": {k: v.to_json() for k, v in self.subscriptions.items()}}


@dataclass(frozen=True)
class RegistryChange:
    """A subscriber was changed (``subscriber`` is its new state) or removed (``subscriber`` is None).

    ``origin`` is None for a change made here, else the server it was mirrored from (see :meth:`apply`).
    """

    subscriber_id: str
    subscriber: Subscriber | None
    origin: str | None = None


class SubscriberRegistry:
    """All subscribers, by id and by message type.

    >>> registry = SubscriberRegistry()
    >>> registry.add_subscription("collector", "collect").to_json()["subscriptions"]["collect"]["timeout"]
    60
    """

    def __init__(self) -> None:
        self._by_id: dict[str, Subscriber] = {}
        self._changes: Subject[RegistryChange] = Subject()

    @property
    def changes(self) -> Observable[RegistryChange]:
        return self._changes

    def all(self) -> list[Subscriber]:
        return list(self._by_id.values())

    def get(self, subscriber_id: str) -> Subscriber | None:
        return self._by_id.get(subscriber_id)

    def for_message_type(self, message_type: str) -> list[Subscriber]:
        """Subscribers of ``message_type``, in the order they registered."""
        return [s for s in self._by_id.values() if message_type in s.subscriptions]

    def blocking(self, message_type: str) -> dict[str, timedelta]:
        """Subscribers a step of ``message_type`` waits for, with their timeouts."""
        return {
            s.id: s.subscriptions[message_type].timeout
            for s in self._by_id.values()
            if message_type in s.subscriptions and s.subscriptions[message_type].wait_for_completion
        }

    def add_subscription(
        self,
        subscriber_id: str,
        message_type: str,
        wait_for_completion: bool = True,
        timeout: timedelta | float = DEFAULT_SUBSCRIPTION_TIMEOUT,
    ) -> Subscriber:
        """Add or replace one subscription of ``subscriber_id``."""
        subscription = Subscription(message_type, wait_for_completion, timeout)  # type: ignore[arg-type]
        existing = self._by_id.get(_check_id(subscriber_id))
        subscriptions = dict(existing.subscriptions) if existing else {}
        subscriptions[message_type] = subscription
        return self._set(Subscriber(subscriber_id, FrozenDict(subscriptions)))

    def remove_subscription(self, subscriber_id: str, message_type: str) -> Subscriber | None:
        """Remove one subscription; the subscriber stays registered (as in resotocore)."""
        existing = self._by_id.get(subscriber_id)
        if existing is None or message_type not in existing.subscriptions:
            return existing
        subscriptions = {k: v for k, v in existing.subscriptions.items() if k != message_type}
        return self._set(Subscriber(subscriber_id, FrozenDict(subscriptions)))

    def update_subscriptions(self, subscriber_id: str, subscriptions: Iterable[Subscription]) -> Subscriber:
        """Replace all subscriptions of ``subscriber_id``."""
        by_type = {s.message_type: s for s in subscriptions}
        return self._set(Subscriber(_check_id(subscriber_id), FrozenDict(by_type)))

    def remove_subscriber(self, subscriber_id: str) -> Subscriber | None:
        """Forget ``subscriber_id``; running steps stop waiting for it."""
        removed = self._by_id.pop(subscriber_id, None)
        if removed is not None:
            self._changes.on_next(RegistryChange(subscriber_id, None))
        return removed

    def apply(self, change: RegistryChange) -> None:
        """Take over a change made elsewhere (a registry mirrored over a shared bus).

        It is published on ``changes`` like a local one, so running steps react to it; a mirror tells
        the two apart by ``change.origin`` and does not send it back (no echo loops).
        """
        if change.origin is None:
            raise ValueError(f"a mirrored change needs its origin, got {change!r}")
        if change.subscriber is None:
            if self._by_id.pop(change.subscriber_id, None) is not None:
                self._changes.on_next(change)
            return
        if change.subscriber.id != change.subscriber_id:
            raise ValueError(f"change of {change.subscriber_id!r} carries subscriber {change.subscriber.id!r}")
        if self._by_id.get(change.subscriber_id) != change.subscriber:
            self._by_id[change.subscriber_id] = change.subscriber
            self._changes.on_next(change)

    def _set(self, subscriber: Subscriber) -> Subscriber:
        self._by_id[subscriber.id] = subscriber
        self._changes.on_next(RegistryChange(subscriber.id, subscriber))
        return subscriber


def subscription_from_json(message_type: str, obj: Mapping[str, Any]) -> Subscription:
    """A subscription from resotocore's JSON ``{"message_type", "timeout", "wait_for_completion"}``."""
    timeout = obj.get("timeout", DEFAULT_SUBSCRIPTION_TIMEOUT.total_seconds())
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise SubscriptionError(f"timeout must be a number of seconds, got {timeout!r}")
    return Subscription(message_type, obj.get("wait_for_completion", True), timedelta(seconds=timeout))


def subscriber_from_json(obj: Mapping[str, Any]) -> Subscriber:
    """A subscriber from the JSON of :meth:`Subscriber.to_json`; SubscriptionError names what is wrong."""
    subscriptions = obj.get("subscriptions", {})
    if not isinstance(subscriptions, Mapping) or not all(isinstance(v, Mapping) for v in subscriptions.values()):
        raise SubscriptionError(f"subscriptions must map message types to objects, got {subscriptions!r}")
    by_type = {t: subscription_from_json(t, v) for t, v in subscriptions.items()}
    return Subscriber(_check_id(obj.get("id")), FrozenDict(by_type))


def _check_id(subscriber_id: object) -> str:
    if not isinstance(subscriber_id, str) or not subscriber_id:
        raise SubscriptionError(f"subscriber id must be a non-empty string, got {subscriber_id!r}")
    return subscriber_id
