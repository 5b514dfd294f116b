"""REST handlers: subscribers and system (resotocore's paths), workflows, history, metrics, OpenAPI."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from typing import Any

from resoto_rx.codec import to_json
from resoto_rx.messages import Json, Message
from resoto_rx.server.handlers import ApiHandler
from resoto_rx.server.metrics import render_metrics
from resoto_rx.workflows.model import PerformAction, TimeTrigger, Workflow
from resoto_rx.workflows.runner import UnknownWorkflowError
from resoto_rx.workflows.subscribers import SubscriptionError, subscription_from_json

HISTORY_LIMIT = 1000
HISTORY_MAX = 10_000


# ------------------------------------------------------------------ subscribers
class SubscribersHandler(ApiHandler):
    def get(self) -> None:
        self.reply([s.to_json() for s in self.ctx.runner.registry.all()])


class SubscribersForHandler(ApiHandler):
    def get(self, message_type: str) -> None:
        self.reply([s.to_json() for s in self.ctx.runner.registry.for_message_type(message_type)])


class SubscriberHandler(ApiHandler):
    def get(self, subscriber_id: str) -> None:
        subscriber = self.ctx.runner.registry.get(subscriber_id)
        if subscriber is None:
            self.fail(404, f"no subscriber with id {subscriber_id!r}")
        self.reply(subscriber.to_json())

    def put(self, subscriber_id: str) -> None:
        body = self.json_body()
        if not isinstance(body, list) or not all(isinstance(s, dict) for s in body):
            self.fail(400, 'body: expected a list of {"message_type", "timeout", "wait_for_completion"} objects')
        try:
            subscriptions = [subscription_from_json(_message_type(s), s) for s in body]
            subscriber = self.ctx.runner.registry.update_subscriptions(subscriber_id, subscriptions)
        except SubscriptionError as err:
            self.fail(400, str(err))
        self.reply(subscriber.to_json())

    def delete(self, subscriber_id: str) -> None:
        self.ctx.runner.registry.remove_subscriber(subscriber_id)
        self.set_status(204)
        self.finish()


def _message_type(obj: dict[str, Any]) -> str:
    value = obj.get("message_type")
    if not isinstance(value, str) or not value:
        raise SubscriptionError(f"message_type must be a non-empty string, got {value!r}")
    return value


class SubscriptionHandler(ApiHandler):
    def post(self, subscriber_id: str, message_type: str) -> None:
        timeout = self.number("timeout", 60)
        wait = self.flag("wait_for_completion", True)
        try:
            subscriber = self.ctx.runner.registry.add_subscription(
                subscriber_id, message_type, wait, timedelta(seconds=timeout or 0)
            )
        except SubscriptionError as err:
            self.fail(400, str(err))
        self.reply(subscriber.to_json())

    def delete(self, subscriber_id: str, message_type: str) -> None:
        subscriber = self.ctx.runner.registry.remove_subscription(subscriber_id, message_type)
        self.reply(subscriber.to_json() if subscriber is not None else None)  # resotocore answers null too


# ----------------------------------------------------------------------- system
class PingHandler(ApiHandler):
    def get(self) -> None:
        self.text("pong")


class ReadyHandler(ApiHandler):
    def get(self) -> None:
        if self.ctx.bus.closed:
            self.set_status(503)
            self.text("closed")
            return
        self.text("ok")


class MetricsHandler(ApiHandler):
    def get(self) -> None:
        content_type, body = render_metrics(self.ctx)
        self.set_header("Content-Type", content_type)
        self.finish(body)


class OpenApiHandler(ApiHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(openapi_document())


def openapi_document() -> bytes:
    """The OpenAPI 3 document of the REST API (resoto_rx/server/openapi.json)."""
    return resources.files("resoto_rx.server").joinpath("openapi.json").read_bytes()


# -------------------------------------------------------------------- workflows
def workflow_json(workflow: Workflow, next_run: Any) -> dict[str, Any]:
    steps: list[Json] = []
    for step in workflow.steps:
        action = step.action
        entry: Json = {"name": step.name, "action": type(action).__name__, "timeout": step.timeout.total_seconds()}
        if isinstance(action, PerformAction):
            entry["message_type"] = action.message_type
        entry["on_error"] = step.on_error.value
        steps.append(entry)
    triggers: list[dict[str, Any]] = [
        {"cron": t.cron, "timezone": t.timezone} if isinstance(t, TimeTrigger) else {"message_type": t.message_type}
        for t in workflow.triggers
    ]
    return {
        "id": workflow.id,
        "steps": steps,
        "triggers": triggers,
        "on_surpass": workflow.on_surpass.value,
        "next_run_at": next_run.isoformat() if next_run is not None else None,
    }


class WorkflowsHandler(ApiHandler):
    def get(self) -> None:
        runner = self.ctx.runner
        self.reply([workflow_json(w, runner.next_run_at(w.id)) for w in runner.workflows.values()])


class WorkflowRunHandler(ApiHandler):
    def post(self, workflow_id: str) -> None:
        try:
            task = self.ctx.runner.run(workflow_id, reason=self.get_query_argument("reason", "api"))
        except UnknownWorkflowError as err:
            self.fail(404, str(err))
        if task is None:
            self.reply({"workflow": workflow_id, "skipped": True}, 200)
            return
        self.reply(task.summary(), 202)


class RunningHandler(ApiHandler):
    def get(self) -> None:
        self.reply([t.summary() for t in self.ctx.runner.running()])


class StopHandler(ApiHandler):
    def post(self, task_id: str) -> None:
        task = self.ctx.runner.stop(task_id)
        if task is None:
            self.fail(404, f"no running task {task_id!r}: see GET /workflows/running")
        self.reply(task.summary())


class RunsHandler(ApiHandler):
    def get(self) -> None:
        runner = self.ctx.runner
        workflow = self.get_query_argument("workflow", None)
        limit = int(self.number("limit", 100, minimum=1, integer=True) or 100)
        runs = [t.summary() for t in (*runner.finished, *runner.tasks.values())]
        if workflow is not None:
            runs = [r for r in runs if r["workflow"] == workflow]
        self.reply(runs[-limit:])


# ---------------------------------------------------------------------- history
class HistoryHandler(ApiHandler):
    def get(self) -> None:
        since = int(self.number("since", 0, integer=True) or 0)
        limit = int(self.number("limit", HISTORY_LIMIT, minimum=1, integer=True) or HISTORY_LIMIT)
        if limit > HISTORY_MAX:
            self.fail(400, f"limit: expected at most {HISTORY_MAX}, got {limit}")
        types = {t.strip() for arg in self.get_query_arguments("type") for t in arg.split(",") if t.strip()}
        self.reply([to_json(m) for m in read_history(self.ctx.bus.history, since, limit, types)])


def read_history(history: Any, since: int, limit: int, types: set[str]) -> list[Message]:
    """Up to ``limit`` messages after ``since``, of ``types`` (all when empty), oldest first."""
    if not types:
        result: list[Message] = history.since(since, limit)
        return result
    found: list[Message] = []
    after = since
    while len(found) < limit:
        batch: list[Message] = history.since(after, HISTORY_MAX)
        if not batch:
            break
        found.extend(m for m in batch if m.message_type in types)
        after = batch[-1].id or after
    return found[:limit]
