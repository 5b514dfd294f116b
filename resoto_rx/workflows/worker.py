"""In-process subscribers: a Python function that performs an action and is acknowledged automatically.

``subscribe_action(bus, registry, "collect", handler, "my-collector")`` registers the subscription
(so the workflow waits for it), calls ``handler(call)`` for every ``collect`` action, and answers
``action_done`` when it returns or ``action_error`` when it raises. An ``async def`` handler runs
as an asyncio task on the bus loop; an ``action_abort`` for its task cancels it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from reactivex import abc
from reactivex.disposable import CompositeDisposable, Disposable

from resoto_rx.bus import EventBus
from resoto_rx.messages import Action, ActionAbort, ActionInfo, ActionProgress, Message
from resoto_rx.workflows.subscribers import DEFAULT_SUBSCRIPTION_TIMEOUT, SubscriberRegistry

log = logging.getLogger(__name__)


class ActionCall:
    """What a handler gets: the action, and ways to report progress and information about it.

    ``send`` carries the reports: ``bus.emit`` in process, a websocket frame for a remote worker.
    """

    def __init__(self, action: Action, subscriber_id: str, send: Callable[[Message], None]) -> None:
        self.action = action
        self.subscriber_id = subscriber_id
        self._send = send

    @property
    def task(self) -> str:
        return self.action.task

    @property
    def step(self) -> str:
        return self.action.step

    def progress(self, name: str, current: int, total: int, path: Sequence[str] = ()) -> None:
        """Report ``current`` of ``total`` done for the part ``name`` (under ``path``) of this action."""
        payload: dict[str, Any] = {"kind": "progress", "name": name, "current": current, "total": total}
        if path:
            payload["path"] = list(path)
        self._send(
            ActionProgress(
                self.action.message_type,
                task=self.task,
                step=self.step,
                subscriber_id=self.subscriber_id,
                progress=payload,
            )
        )

    def info(self, message: str, level: str = "info") -> None:
        """Report something about this action; ``level`` is info, warning or error."""
        self._send(
            ActionInfo(
                self.action.message_type,
                task=self.task,
                step=self.step,
                subscriber_id=self.subscriber_id,
                level=level,
                message=message,
            )
        )


ActionHandler = Callable[[ActionCall], Any] | Callable[[ActionCall], Awaitable[Any]]


class ActionPerformer:
    """Runs ``handler`` for each action and answers it: ``action_done`` when it returns, ``action_error``
    when it raises. An awaitable result runs as an asyncio task (on ``loop``, default: the running
    one) and is cancelled by an ``action_abort`` of its task and step. In-process workers and remote
    (websocket) workers both use it; only ``send`` differs."""

    def __init__(
        self,
        handler: ActionHandler,
        subscriber_id: str,
        send: Callable[[Message], None],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.handler = handler
        self.subscriber_id = subscriber_id
        self.send = send
        self.loop = loop
        self.running: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self.performed = 0

    def on_message(self, message: Message) -> None:
        """Feed it the actions (and aborts) meant for this subscriber."""
        if isinstance(message, ActionAbort):
            if (task := self.running.pop((message.task, message.step), None)) is not None:
                task.cancel()
        elif isinstance(message, Action):
            self.perform(message)

    def perform(self, action: Action) -> None:
        self.performed += 1
        try:
            result = self.handler(ActionCall(action, self.subscriber_id, self.send))
        except Exception as err:  # noqa: BLE001  (the error is the answer)
            log.warning("%s failed on %s: %s", self.subscriber_id, action.message_type, err)
            self._answer(action, err)
            return
        if not inspect.isawaitable(result):
            self._answer(action, None)
            return
        key = (action.task, action.step)
        self.running[key] = task = asyncio.ensure_future(result, loop=self.loop)

        def done(finished: asyncio.Future[Any]) -> None:
            self.running.pop(key, None)
            if not finished.cancelled():  # cancelled: aborted, the step is gone and nobody waits
                self._answer(action, finished.exception())

        task.add_done_callback(done)

    def cancel_all(self) -> None:
        for task in self.running.values():
            task.cancel()
        self.running.clear()

    def _answer(self, action: Action, error: BaseException | None) -> None:
        if error is None:
            self.send(action.done(self.subscriber_id))
        else:
            self.send(action.error(self.subscriber_id, f"{type(error).__name__}: {error}"))


def subscribe_action(
    bus: EventBus,
    registry: SubscriberRegistry,
    message_type: str,
    handler: ActionHandler,
    subscriber_id: str,
    wait_for_completion: bool = True,
    timeout: timedelta | float = DEFAULT_SUBSCRIPTION_TIMEOUT,
) -> abc.DisposableBase:
    """Let ``handler`` perform every ``message_type`` action; dispose to unsubscribe."""
    registry.add_subscription(subscriber_id, message_type, wait_for_completion, timeout)

    def emit(message: Message) -> None:
        if not bus.closed:
            bus.emit(message)

    performer = ActionPerformer(handler, subscriber_id, emit, bus.loop)

    # A shared transport (Redis) hands each action to one connection of this subscriber id and
    # redelivers it when unanswered; in-process every listener gets every action.
    actions_for = getattr(bus.transport, "actions_for", None)
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    source = actions_for(subscriber_id, message_type, seconds) if actions_for else bus.listen(message_type)
    subscription = source.subscribe(performer.on_message)

    def unsubscribe() -> None:
        subscription.dispose()
        performer.cancel_all()
        registry.remove_subscription(subscriber_id, message_type)

    return CompositeDisposable(Disposable(unsubscribe))
