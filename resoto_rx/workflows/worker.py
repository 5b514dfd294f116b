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
from resoto_rx.messages import Action, ActionAbort, ActionDone, ActionError, ActionInfo, ActionProgress, Message
from resoto_rx.workflows.subscribers import DEFAULT_SUBSCRIPTION_TIMEOUT, SubscriberRegistry

log = logging.getLogger(__name__)


class ActionCall:
    """What a handler gets: the action, and ways to report progress and information about it."""

    def __init__(self, bus: EventBus, action: Action, subscriber_id: str) -> None:
        self.bus = bus
        self.action = action
        self.subscriber_id = subscriber_id

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
        self.bus.emit(
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
        self.bus.emit(
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
    running: dict[tuple[str, str], asyncio.Task[Any]] = {}

    def answer(action: Action, error: BaseException | None) -> None:
        if bus.closed:
            return
        if error is None:
            bus.emit(ActionDone(message_type, task=action.task, step=action.step, subscriber_id=subscriber_id))
        else:
            text = f"{type(error).__name__}: {error}"
            bus.emit(
                ActionError(message_type, task=action.task, step=action.step, subscriber_id=subscriber_id, error=text)
            )

    def on_message(message: Message) -> None:
        if isinstance(message, ActionAbort):
            if (task := running.pop((message.task, message.step), None)) is not None:
                task.cancel()
            return
        if not isinstance(message, Action):
            return
        call = ActionCall(bus, message, subscriber_id)
        try:
            result = handler(call)
        except Exception as err:  # noqa: BLE001  (the error is the answer)
            log.warning("%s failed on %s: %s", subscriber_id, message_type, err)
            answer(message, err)
            return
        if not inspect.isawaitable(result):
            answer(message, None)
            return
        key = (message.task, message.step)
        running[key] = task = bus.loop.create_task(_awaited(result))

        def done(finished: asyncio.Task[Any]) -> None:
            running.pop(key, None)
            if finished.cancelled():
                return  # aborted: the step is gone, nobody waits for an answer
            answer(message, finished.exception())

        task.add_done_callback(done)

    # A shared transport (Redis) hands each action to one connection of this subscriber id and
    # redelivers it when unanswered; in-process every listener gets every action.
    actions_for = getattr(bus.transport, "actions_for", None)
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    source = actions_for(subscriber_id, message_type, seconds) if actions_for else bus.listen(message_type)
    subscription = source.subscribe(on_message)

    def unsubscribe() -> None:
        subscription.dispose()
        for task in running.values():
            task.cancel()
        registry.remove_subscription(subscriber_id, message_type)

    return CompositeDisposable(Disposable(unsubscribe))


async def _awaited(result: Awaitable[Any]) -> Any:
    return await result
