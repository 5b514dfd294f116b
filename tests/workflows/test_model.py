"""Workflow definitions fail at definition time with errors that name the value."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from resoto_rx.workflows import (
    EmitEvent,
    EventTrigger,
    OnError,
    PerformAction,
    Step,
    Surpass,
    TimeTrigger,
    Workflow,
    WorkflowDefinitionError,
    builtin_workflows,
)
from resoto_rx.workflows.subscribers import SubscriberRegistry, Subscription, SubscriptionError


def test_builtin_workflows_match_resotocore() -> None:
    flows = {w.id: w for w in builtin_workflows()}
    assert set(flows) == {"collect", "cleanup", "metrics", "collect_and_cleanup"}
    full = [s.name for s in flows["collect_and_cleanup"].steps]
    assert full[:5] == ["pre_collect", "collect", "wait_for_graph_merged", "merge_outer_edges", "post_collect"]
    assert full[-3:] == ["pre_generate_metrics", "generate_metrics", "post_generate_metrics"]
    assert flows["collect_and_cleanup"].steps[2].timeout == timedelta(minutes=10)
    assert all(s.timeout == timedelta(seconds=10) for s in flows["collect"].steps if s.name != "wait_for_graph_merged")
    assert TimeTrigger("0 * * * *") in flows["collect_and_cleanup"].triggers
    assert all(w.on_surpass is Surpass.Wait for w in flows.values())
    assert EventTrigger("start_cleanup_workflow") in flows["cleanup"].triggers


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Step("s", "collect"), "unknown step kind str"),  # type: ignore[arg-type]
        (lambda: Step("s", PerformAction("x"), timedelta(seconds=-1)), "timeout must be"),
        (lambda: Step("s", PerformAction("x"), -5), "timeout must be"),
        (lambda: Step("", PerformAction("x")), "Step.name must be a non-empty string"),
        (lambda: Step("s", PerformAction("x"), 1, "stop"), "on_error must be"),  # type: ignore[arg-type]
        (lambda: TimeTrigger("every hour"), "invalid cron expression 'every hour'"),
        (lambda: TimeTrigger("61 * * * *"), "invalid cron expression '61 \\* \\* \\* \\*'"),
        (lambda: TimeTrigger("0 * * * * *"), "expected 5 fields"),
        (lambda: TimeTrigger("0 * * * *", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (lambda: Workflow("w", []), "needs at least one step"),
        (
            lambda: Workflow("w", [Step("a", EmitEvent("x")), Step("a", EmitEvent("y"))]),
            "duplicate step name 'a'",
        ),
        (lambda: Workflow("w", [Step("a", EmitEvent("x"))], ["0 * * * *"]), "triggers must be"),  # type: ignore[list-item]
        (lambda: Workflow("w", [Step("a", EmitEvent("x"))], on_surpass="wait"), "on_surpass must be one of"),  # type: ignore[arg-type]
        (lambda: PerformAction(""), "PerformAction.message_type"),
    ],
)
def test_invalid_definitions_fail_at_definition_time(make: Any, message: str) -> None:
    with pytest.raises(WorkflowDefinitionError, match=message):
        make()


def test_seconds_are_accepted_as_timeouts() -> None:
    assert Step("s", PerformAction("x"), 3, OnError.Stop).timeout == timedelta(seconds=3)


def test_subscription_validation_and_registry_json() -> None:
    with pytest.raises(SubscriptionError, match="timeout must be >= 0"):
        Subscription("x", True, timedelta(seconds=-1))
    with pytest.raises(SubscriptionError, match="subscriber id must be a non-empty string"):
        SubscriberRegistry().add_subscription("", "x")
    registry = SubscriberRegistry()
    registry.add_subscription("w", "collect", True, timedelta(seconds=30))
    registry.add_subscription("w", "cleanup", False)
    assert registry.get("w").to_json() == {  # type: ignore[union-attr]
        "id": "w",
        "subscriptions": {
            "collect": {"message_type": "collect", "timeout": 30, "wait_for_completion": True},
            "cleanup": {"message_type": "cleanup", "timeout": 60, "wait_for_completion": False},
        },
    }
    assert registry.blocking("collect") == {"w": timedelta(seconds=30)}
    assert registry.blocking("cleanup") == {}
    registry.remove_subscription("w", "collect")
    assert [s.id for s in registry.for_message_type("collect")] == []
